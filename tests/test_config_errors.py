"""Bad input ends with exit code 2 and a short message naming the place, never a traceback."""

import pytest
from cli_helpers import call_pgtui, run_pgtui

from pgtui.assignments import apply_assignments
from pgtui.cli import main
from pgtui.config import Config, ConfigError, from_mapping
from pgtui.preset_files import load_preset

GOOD = 'env = "CartPole-v1"\nalgo = "ppo"\n'

BAD_PRESETS = [
    ("unknown key", GOOD + "learning_rate = 0.1\n", "learning_rate", "unknown key"),
    ("wrong type", GOOD + 'lr = "fast"\n', "lr", "expected a number"),
    ("negative lr", GOOD + "lr = -0.1\n", "lr", "> 0.0"),
    ("gamma above one", GOOD + "gamma = 1.5\n", "gamma", "<= 1.0"),
    ("nan", GOOD + "lr = nan\n", "lr", "finite"),
    ("infinity", GOOD + "ent_coef = inf\n", "ent_coef", "finite"),
    ("bool for int", GOOD + "num_envs = true\n", "num_envs", "integer"),
    ("unknown algo", 'algo = "trpo"\n', "algo", "reinforce, a2c, ppo, dqn, sac"),
    ("unknown env", 'env = "NoSuchEnv-v9"\n', "env", "NoSuchEnv-v9"),
    ("invalid toml", "lr = = 3\n", "invalid TOML", "invalid TOML"),
    ("bad hidden sizes", GOOD + 'hidden_sizes = [64, "x"]\n', "hidden_sizes", "integer"),
    ("empty hidden sizes", GOOD + "hidden_sizes = []\n", "hidden_sizes", "at least one"),
    ("variant without name", GOOD + "[[variants]]\nlr = 0.1\n", "variants", "name"),
    ("variants named alike", GOOD + '[[variants]]\nname = "a b"\n[[variants]]\nname = "a-b"\n',
     "variants", "must differ"),
    ("a variant's unknown env", GOOD + '[[variants]]\nname = "x"\nenv = "Nope-v0"\n', "variants",
     "Nope-v0"),
    ("env kwargs not a table", GOOD + "env_kwargs = 3\n", "env_kwargs", "a table"),
    ("env kwargs nested", GOOD + "env_kwargs = { a = { b = 1 } }\n", "env_kwargs",
     "a must be a number, string, true/false or a list"),
]


def check_error(capsys, argv, *needles):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 3, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.mark.parametrize("name,text,key,expected", BAD_PRESETS, ids=[b[0] for b in BAD_PRESETS])
def test_bad_preset_file(tmp_path, capsys, name, text, key, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "out"
    check_error(capsys, ["train", "--preset", str(path), "--out", str(out)], str(path), key,
                expected)
    assert not out.exists(), "nothing may start on bad input"


@pytest.mark.parametrize("assignment,needle", [
    ("lr", "expected key=value"),
    ("=3", "expected key=value"),
    ("nope=3", "unknown key 'nope'"),
    ("lr=abc", "lr: expected a number"),
    ("gamma=2", "gamma: expected a value <= 1.0"),
    ("lr=nan", "finite"),
    ("baseline=best", "none, mean, value"),
    ("num_envs=0", "num_envs: expected a value >= 1"),
])
def test_bad_set_option(capsys, assignment, needle):
    check_error(capsys, ["train", "--preset", "cartpole-ppo", "--set", assignment], "--set",
                needle)


def test_missing_file_and_unknown_preset(capsys, tmp_path):
    check_error(capsys, ["train", "--preset", str(tmp_path / "gone.toml")], "gone.toml",
                "no such preset file")
    check_error(capsys, ["train", "--preset", "no-such-preset"], "unknown preset",
                "cartpole-ppo")


@pytest.mark.parametrize("argv,needle", [
    (["train"], "--preset"),
    (["train", "--preset", "cartpole-ppo", "--updates", "0"], "positive integer"),
    (["train", "--preset", "cartpole-ppo", "--seed", "-1"], "integer >= 0"),
    (["train", "--preset", "cartpole-ppo", "--device", "tpu"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_options(capsys, argv, needle):
    check_error(capsys, argv, needle)


@pytest.mark.parametrize("argv, says", [
    (["--preset", "cartpole-dqn", "--set", 'env="Pendulum-v1"'], "Discrete"),
    (["--preset", "pendulum-sac", "--set", 'env="CartPole-v1"'], "Box"),
    (["--preset", "cartpole-ppo", "--set", "algo=grpo"], "GRPO compares responses to the same prompt"),
    (["--preset", "cartpole-ppo", "--set", "algo=dpo"], "DPO learns from labelled preference pairs"),
    (["--preset", "rlhf-dialogue", "--set", "algo=dpo", "--set", "kl_coef=0"], "DPO's beta is kl_coef"),
])
def test_an_algorithm_refuses_what_it_cannot_learn_from_in_one_line(capsys, argv, says):
    assert len(check_error(capsys, ["train", *argv], says).strip().splitlines()) == 1


def test_cuda_without_a_gpu_is_a_clear_error(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    check_error(capsys, ["train", "--preset", "cartpole-ppo", "--device", "cuda"], "cuda")


def test_bad_input_through_the_installed_command(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD + "lr = -1\n")
    result = run_pgtui("train", "--preset", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") < 3 and "Traceback" not in result.stderr
    assert "lr" in result.stderr and str(path) in result.stderr


def test_a_valid_config_round_trips_through_toml(tmp_path):
    config = load_preset("cartpole-ppo").replace(hidden_sizes=[32, 16], target_kl=0.02)
    path = tmp_path / "round.toml"
    path.write_text(config.to_toml())
    assert load_preset(str(path)) == config


def test_ints_are_accepted_for_floats():
    assert from_mapping({"lr": 1, "gamma": 1}, "x").lr == 1.0
    assert apply_assignments(Config(), ["ent_coef=0"]).ent_coef == 0.0


def test_structural_consistency():
    with pytest.raises(ConfigError, match="num_minibatches"):
        from_mapping({"algo": "ppo", "num_envs": 2, "num_steps": 2, "num_minibatches": 8}, "x")


def test_an_env_kwarg_the_env_does_not_take_is_refused_in_one_line(capsys):
    check_error(capsys, ["train", "--preset", "cartpole-ppo", "--set", "env_kwargs={ bogus = 1 }",
                         "--updates", "1"], "cannot make env 'CartPole-v1'", "bogus")


def test_env_kwargs_round_trip_through_toml():
    from pgtui.config import parse_toml

    config = Config(env="FrozenLake-v1", env_kwargs={"is_slippery": False, "map_name": "8x8"})
    again = from_mapping(parse_toml(config.to_toml(), "t"), "t")
    assert again.env_kwargs == {"is_slippery": False, "map_name": "8x8"} and again == config


def test_a_missing_box2d_names_pgtuis_extra(monkeypatch, capsys):
    import gymnasium as gym

    def missing(*args, **kwargs):
        raise gym.error.DependencyNotInstalled('Box2D is not installed, run `pip install "gymnasium[box2d]"`')

    monkeypatch.setattr(gym, "make_vec", missing)
    check_error(capsys, ["train", "--preset", "cartpole-ppo", "--set", 'env="LunarLander-v3"',
                         "--updates", "1"], "pip install 'pgtui[box2d]'", "LunarLander-v3")


def _without_box2d(monkeypatch):
    """Gymnasium as it is without Box2D: importing a box2d env's module raises its hint."""
    import gymnasium as gym
    from gymnasium.envs import registration

    real = registration.load_env_creator

    def load(entry_point):
        if "box2d" in entry_point:
            raise gym.error.DependencyNotInstalled(
                "Box2D is not installed, you can install it by run `pip install swig` followed "
                'by `pip install "gymnasium[box2d]"`')
        return real(entry_point)

    monkeypatch.setattr(registration, "load_env_creator", load)


@pytest.mark.parametrize("preset", ["lunarlander-ppo", "lunarlander-entropy"])
def test_the_playground_checks_a_missing_extra_before_it_opens(monkeypatch, capsys, preset):
    from pgtui.ui.app import PlaygroundApp

    _without_box2d(monkeypatch)
    monkeypatch.setattr(PlaygroundApp, "run", lambda self: pytest.fail("the app opened"))
    err = check_error(capsys, ["--preset", preset], "pip install 'pgtui[box2d]'", "LunarLander-v3")
    assert len(err.strip().splitlines()) == 1 and "swig" not in err


@pytest.mark.parametrize(("env", "says"), [
    ("Taxi-v3", "Taxi-v3 is retired; use Taxi-v4"),
    ("LunarLander-v2", "LunarLander-v2 is retired; use LunarLander-v3"),
    ("CartPole-v2", "CartPole-v2 does not exist; the newest version is CartPole-v1"),
    ("Cartpole-v1", "unknown Gymnasium env id 'Cartpole-v1'; did you mean CartPole-v1"),
    ("FrozenLak-v1", "did you mean FrozenLake-v1"),
])
def test_a_retired_or_misspelt_env_id_says_what_to_use(env, says):
    result = call_pgtui("train", "--preset", "cartpole-ppo", "--set", f"env={env}")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], lines
