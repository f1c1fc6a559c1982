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


def test_every_algorithm_s_spec_names_a_learner_that_loads_and_acts_as_its_traits_say():
    """The torch-free spec is what the screens read; its learner what the engine runs."""
    from pgtui.config import ALGOS, FIELDS
    from pgtui.rl.algos import ALGORITHMS
    from pgtui.rl.algos.interface import Learner
    from pgtui.rl.algos.plugins import learner_class
    from pgtui.rl.algos.replay import ReplayLearner

    assert tuple(ALGORITHMS) == ALGOS
    for name, spec in ALGORITHMS.items():
        learner = learner_class(spec)
        assert issubclass(learner, Learner), name
        assert spec.replay == issubclass(learner, ReplayLearner), name
        # the task shapes the reward unless the learner keeps the KL in its loss
        assert spec.kl_in_loss == (learner.shaping is not Learner.shaping), name
        assert spec.knob_line(Config(algo=name)).startswith(f"{spec.title} · lr "), name
        assert set(spec.settings) <= set(FIELDS), name  # its settings are config fields


def test_an_algorithm_refuses_the_action_spaces_its_spec_leaves_out():
    from pgtui.rl.algos import ALGORITHMS
    from pgtui.rl.algos.plugins import learner_class
    from pgtui.rl.envs.registry import make_vec_env
    from pgtui.rl.task import TaskHook

    envs = {"discrete": make_vec_env("CartPole-v1", 1), "box": make_vec_env("Pendulum-v1", 1)}
    for name, spec in ALGORITHMS.items():
        for kind, env in envs.items():
            why = learner_class(spec).check(Config(algo=name), env, TaskHook())
            assert (kind in spec.actions) or why is not None, (name, kind)
        assert set(spec.actions) <= set(envs), name
