"""Any TOML value and any --set string gives a valid Config or one clear ConfigError."""

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgtui.assignments import apply_assignments
from pgtui.config import FIELDS, Config, ConfigError, from_mapping, parse_toml

KEYS = sorted(FIELDS)
toml_scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["CartPole-v1", "Acrobot-v1", "ppo", "a2c", "value", "mean", "none",
                     "reward_to_go", "full", "cpu", "auto", "adam", "tanh"]),
)
toml_values = st.one_of(toml_scalars, st.lists(toml_scalars, max_size=4))


def toml_literal(value) -> str:
    """How the value is written in a TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's string escapes are valid in TOML
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    return str(value)


def assert_round_trips(config: Config) -> None:
    """An accepted config is written out and read back unchanged."""
    assert from_mapping(parse_toml(config.to_toml(), "again"), source="again") == config


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([*KEYS, "learning_rate", "envs"]), toml_values,
                       max_size=4))
def test_random_preset_tables_give_a_config_or_a_clear_error(table):
    text = "\n".join(f"{key} = {toml_literal(value)}" for key, value in table.items())
    try:
        config = from_mapping(parse_toml(text, "p.toml"), source="p.toml")
    except ConfigError as err:
        message = str(err)
        assert message.startswith("p.toml") and "\n" not in message and "Traceback" not in message
    else:
        assert set(table) <= set(FIELDS)
        assert_round_trips(config)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.text(max_size=30),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), st.text(max_size=15)),
    st.builds(lambda k, v: f"{k}={toml_literal(v)}", st.sampled_from(KEYS), toml_values),
), max_size=3))
def test_random_set_strings_give_a_config_or_a_clear_error(assignments):
    try:
        config = apply_assignments(Config(), assignments)
    except ConfigError as err:
        message = str(err)
        assert message.startswith("--set") and "\n" not in message
    else:
        assert_round_trips(config)


def test_every_algorithm_the_config_names_has_a_learner_and_each_learner_a_name():
    """config.ALGOS is what the torch-free screen offers; LEARNERS what the engine runs:
    one list must not grow without the other."""
    from pgtui.config import ALGOS, FIELDS, OFF_POLICY, OFFLINE, PREFERENCE
    from pgtui.rl.algos import LEARNERS
    from pgtui.rl.algos.replay import ReplayLearner

    assert tuple(LEARNERS) == ALGOS
    # the screen's lists of kinds say what the learners declare
    assert set(OFFLINE) == {name for name, learner in LEARNERS.items() if not learner.samples}
    assert set(PREFERENCE) == {name for name, learner in LEARNERS.items() if learner.kl_in_loss}
    assert set(OFF_POLICY) == {name for name, learner in LEARNERS.items()
                               if issubclass(learner, ReplayLearner)}
    for key, f in FIELDS.items():  # a setting's algos= names only algorithms that exist
        assert set(f.metadata.get("algos", ALGOS)) <= set(ALGOS), key
