"""Pendulum with k torque levels: each action is the torque it names, within the env's
bounds, and the race against a continuous policy runs headless."""

import json

import numpy as np
import pytest
from cli_helpers import call_pgtui
from gymnasium.envs.classic_control.pendulum import PendulumEnv

from pgtui.rl.envs.registry import env_info, make_env


@pytest.mark.parametrize(("levels", "torques"), [(3, [-2.0, 0.0, 2.0]),
                                                 (9, [-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0])])
def test_each_action_applies_its_torque_within_the_bounds(levels, torques):
    env = make_env("pgtui/PendulumDiscrete-v0", env_kwargs={"levels": levels})
    info = env_info("pgtui/PendulumDiscrete-v0", {"levels": levels})
    assert info.discrete and info.act_dim == levels
    assert info.action_names == tuple(f"{t:+.1f}" for t in torques)
    plain = PendulumEnv()
    for action, torque in enumerate(torques):
        obs, _ = env.reset(seed=action)
        expected, _ = plain.reset(seed=action)
        np.testing.assert_array_equal(obs, expected)
        for _ in range(5):  # the same physics, the torque it names
            obs, reward, *_ = env.step(action)
            expected, expected_reward, *_ = plain.step(np.array([torque], dtype=np.float32))
            np.testing.assert_array_equal(obs, expected)
            assert reward == expected_reward
    assert min(torques) == -plain.max_torque and max(torques) == plain.max_torque


def test_a_bad_number_of_levels_is_a_one_line_error():
    result = call_pgtui("train", "--preset", "discretized-vs-continuous",
                        "--set", "env_kwargs={levels=1}")
    assert result.returncode != 0
    assert "levels must be an integer of at least 2" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2 and "Traceback" not in result.stderr


def test_dqn_refuses_continuous_pendulum_naming_the_argmax():
    result = call_pgtui("train", "--preset", "cartpole-dqn", "--set", 'env="Pendulum-v1"')
    assert result.returncode != 0
    assert "argmax" in result.stderr and "pgtui/PendulumDiscrete-v0" in result.stderr


def test_the_race_runs_headless_with_the_policy_change_of_each_variant():
    result = call_pgtui("compare", "--preset", "discretized-vs-continuous", "--seeds", "1",
                        "--max-steps", "1500", "--json")
    assert result.returncode == 0, result.stderr
    variants = {v["name"]: v for v in json.loads(result.stdout.strip().splitlines()[-1])["variants"]}
    assert set(variants) == {"dqn, 3 torques", "dqn, 9 torques", "sac, continuous"}
    assert all("policy_kl" in v for v in variants.values())
    assert "greedy_flips" in variants["dqn, 9 torques"] and "greedy_flips" not in variants["sac, continuous"]
