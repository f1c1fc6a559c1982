"""Seeds' CartPole envs stepped as one: every seed's envs go exactly as they would alone."""

import numpy as np
import pytest
import torch
from devices import DEVICES

from pgtui.preset_files import load_preset
from pgtui.rl.envs.joint import JointCartPole
from pgtui.rl.envs.registry import make_vec_env
from pgtui.rl.trainer import Trainer

pytestmark = pytest.mark.numerics


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


def _state_of(trainer: Trainer, s: int) -> tuple:
    c = trainer.collector
    env = c.envs.envs[s]
    return (c.finished[s], int(c.env_steps[s]), c.obs[s].tolist(), c.resetting[s].tolist(),
            c.ep_return[s].tolist(), c.ep_length[s].tolist(), env.state.tolist(),
            env.np_random.bit_generator.state, trainer.runs[s].generator.get_state().tolist())


@pytest.mark.usefixtures("in_float64")  # actions drawn by batched products and single ones
@pytest.mark.parametrize("device", DEVICES)
def test_joint_rollouts_make_the_batches_each_seed_would_alone(device):
    config = load_preset("cartpole-ppo").replace(num_envs=6, num_steps=40, device=device)
    alone = [Trainer(config.replace(seed=s)) for s in (0, 1)]
    together = Trainer(config, seeds=[0, 1])
    assert together.collector.envs.joint is not None
    for _ in range(3):
        own = [t.collector.steps(t.nets, 40, [0]) for t in alone]
        joint = together.collector.steps(together.nets, 40, [0, 1])
        for s, a in enumerate(own):
            for key in ("obs", "actions", "rewards", "terminated", "dones", "valid"):
                torch.testing.assert_close(getattr(joint, key)[:, s], getattr(a, key)[:, 0],
                                           rtol=0, atol=0)
            torch.testing.assert_close(joint.values[:, s], a.values[:, 0])
            torch.testing.assert_close(joint.next_values[:, s], a.next_values[:, 0])
    for s, a in enumerate(alone):
        assert _state_of(together, s) == _state_of(a, 0) and len(a.collector.finished[0]) > 5


@pytest.mark.usefixtures("in_float64")
@pytest.mark.parametrize("max_steps", [100_000, 30])  # 30: some episodes are cut off
@pytest.mark.parametrize("device", DEVICES)
def test_joint_episode_rollouts_make_the_batches_each_seed_would_alone(max_steps, device):
    config = load_preset("cartpole-reinforce").replace(num_envs=5, device=device)
    alone = [Trainer(config.replace(seed=s)) for s in (0, 1, 2)]
    together = Trainer(config, seeds=[0, 1, 2])
    lengths, kept = set(), set()
    for _ in range(3):
        own = [t.collector.episodes(t.nets, 8, [0], max_steps) for t in alone]
        mine = together.collector.episodes(together.nets, 8, [0, 1, 2], max_steps)
        for s, a in enumerate(own):
            T = len(a.rewards)
            for key in ("obs", "actions", "rewards", "terminated", "dones", "valid",
                        "episode_ids"):
                torch.testing.assert_close(getattr(mine, key)[:T, s], getattr(a, key)[:, 0],
                                           rtol=0, atol=0)
            assert not mine.valid[T:, s].any()  # padding to the longest seed's rollout
            assert mine.num_episodes[s] == a.num_episodes[0]
            lengths.add(T)
            kept.add(int(a.num_episodes[0]))
    if max_steps == 30:
        assert min(kept) < 8  # episodes were cut off
    else:
        assert len(lengths) > 1  # the seeds' rollouts ended at different steps
    for s, a in enumerate(alone):
        assert _state_of(together, s) == _state_of(a, 0)
