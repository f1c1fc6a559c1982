"""Seeds' CartPole envs stepped as one: every seed's envs go exactly as they would alone."""

import numpy as np
import pytest
import torch
from devices import DEVICES

from pgtui.config import load_preset
from pgtui.rl.envs import make_vec_env
from pgtui.rl.joint_envs import JointCartPole
from pgtui.rl.lockstep import StackedPolicy, collect_episodes_jointly, collect_steps_jointly
from pgtui.rl.trainer import Trainer


def _reset_envs(num_envs: int, seeds: list[int]):
    envs = [make_vec_env("CartPole-v1", num_envs) for _ in seeds]
    for env, seed in zip(envs, seeds, strict=True):
        env.reset(seed=seed)
    return envs


@pytest.mark.parametrize("num_envs", [1, 5])
def test_joint_steps_equal_each_seeds_own_env_through_many_resets(num_envs):
    seeds = [0, 1, 2]
    alone, joined = _reset_envs(num_envs, seeds), _reset_envs(num_envs, seeds)
    joint = JointCartPole.build(joined)
    rng = np.random.default_rng(0)
    resets = 0
    for _ in range(20):  # rollouts: the seeds' envs hold the state in between
        joint.gather()
        for _ in range(25):
            actions = rng.integers(0, 2, (len(seeds), num_envs))
            obs, reward, terminated, truncated = joint.step(actions)
            for s, env in enumerate(alone):
                own = env.step(actions[s])
                np.testing.assert_array_equal(obs[s], own[0])
                np.testing.assert_array_equal(reward[s], own[1])
                np.testing.assert_array_equal(terminated[s], own[2])
                np.testing.assert_array_equal(truncated[s], own[3])
            resets += int(terminated.sum())
        joint.scatter()
    assert resets > 20  # random actions end episodes within about 20 steps: resets were drawn
    for own, mine in zip(alone, joined, strict=True):
        np.testing.assert_array_equal(own.state, mine.state)
        np.testing.assert_array_equal(own.steps, mine.steps)
        assert own.np_random.bit_generator.state == mine.np_random.bit_generator.state


def test_only_resetted_cartpoles_of_one_setting_join():
    assert JointCartPole.build(_reset_envs(4, [0, 1])) is not None
    assert JointCartPole.build(_reset_envs(4, [0])) is None  # nothing to join
    assert JointCartPole.build(_reset_envs(4, [0]) + _reset_envs(5, [1])) is None
    assert JointCartPole.build([make_vec_env("CartPole-v1", 4) for _ in range(2)]) is None
    acrobots = [make_vec_env("Acrobot-v1", 2) for _ in range(2)]
    assert JointCartPole.build(acrobots) is None


@pytest.mark.parametrize("device", DEVICES)
def test_joint_rollouts_make_the_batches_each_collector_would(device):
    configs = [load_preset("cartpole-ppo").replace(seed=s, num_envs=6, num_steps=40,
                                                   device=device) for s in (0, 1)]
    alone, together = [Trainer(c) for c in configs], [Trainer(c) for c in configs]
    stacked = StackedPolicy.build([t.policy for t in together])
    joint = JointCartPole.build([t.envs for t in together])
    for _ in range(3):
        own = [t.collector.collect_steps(40) for t in alone]
        joint_batches = collect_steps_jointly([t.collector for t in together], stacked, joint, 40)
        for a, b in zip(own, joint_batches, strict=True):
            for key in ("obs", "actions", "rewards", "terminated", "dones", "valid"):
                torch.testing.assert_close(getattr(b, key), getattr(a, key), rtol=0, atol=0)
            torch.testing.assert_close(b.values, a.values)
            torch.testing.assert_close(b.next_values, a.next_values)
    for a, b in zip(alone, together, strict=True):
        assert b.collector.finished == a.collector.finished and len(a.collector.finished) > 5
        assert b.collector.env_steps == a.collector.env_steps
        np.testing.assert_array_equal(b.collector.obs, a.collector.obs)
        np.testing.assert_array_equal(b.collector.resetting, a.collector.resetting)
        np.testing.assert_array_equal(b.collector.ep_return, a.collector.ep_return)
        np.testing.assert_array_equal(b.collector.ep_length, a.collector.ep_length)


@pytest.mark.parametrize("max_steps", [100_000, 30])  # 30: some episodes are cut off
@pytest.mark.parametrize("device", DEVICES)
def test_joint_episode_rollouts_make_the_batches_each_collector_would(max_steps, device):
    configs = [load_preset("cartpole-reinforce").replace(seed=s, num_envs=5, device=device)
               for s in (0, 1, 2)]
    alone, together = [Trainer(c) for c in configs], [Trainer(c) for c in configs]
    stacked = StackedPolicy.build([t.policy for t in together])
    joint = JointCartPole.build([t.envs for t in together])
    lengths, kept = set(), set()
    for _ in range(3):
        own = [t.collector.collect_episodes(8, max_steps) for t in alone]
        mine = collect_episodes_jointly([t.collector for t in together], stacked, joint, 8,
                                        max_steps)
        for a, b in zip(own, mine, strict=True):
            for key in ("obs", "actions", "rewards", "terminated", "dones", "valid",
                        "episode_ids"):
                torch.testing.assert_close(getattr(b, key), getattr(a, key), rtol=0, atol=0)
            assert b.num_episodes == a.num_episodes
            lengths.add(len(a.rewards))
            kept.add(a.num_episodes)
    if max_steps == 30:
        assert min(kept) < 8  # episodes were cut off
    else:
        assert len(lengths) > 1  # the seeds' rollouts ended at different steps
    for a, b in zip(alone, together, strict=True):
        assert b.collector.finished == a.collector.finished
        assert b.collector.env_steps == a.collector.env_steps
        np.testing.assert_array_equal(b.collector.obs, a.collector.obs)
        np.testing.assert_array_equal(b.collector.ep_return, a.collector.ep_return)
        np.testing.assert_array_equal(b.envs.state, a.envs.state)
        assert b.envs.np_random.bit_generator.state == a.envs.np_random.bit_generator.state
        assert torch.equal(b.collector.generator.get_state(), a.collector.generator.get_state())
