"""Collection from vector envs: Gymnasium's next-step autoreset is masked, never straddled."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from pgtui.rl.envs.registry import describe
from pgtui.rl.networks import SeedNets
from pgtui.rl.policies import build_policy
from pgtui.rl.rollout import Batch, Collector

LENGTHS = (3, 1, 4, 2, 5)


class ScriptedEnv(gym.Env):
    """Episode e lasts LENGTHS[e % 5] steps; obs = (e, t); reward = 100 e + t + 1.

    Odd episodes terminate, even ones are truncated.
    """

    observation_space = spaces.Box(-1e6, 1e6, shape=(2,), dtype=np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self):
        self.episode = -1

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode += 1
        self.t = 0
        return self._obs(), {}

    def _obs(self):
        return np.array([self.episode, self.t], dtype=np.float32)

    def step(self, action):
        reward = 100.0 * self.episode + self.t + 1
        self.t += 1
        end = self.t == LENGTHS[self.episode % 5]
        odd = self.episode % 2 == 1
        return self._obs(), reward, end and odd, end and not odd, {}


gym.register("test/Scripted-v0", entry_point=ScriptedEnv)


def make_collector(num_envs=3):
    envs = gym.make_vec("test/Scripted-v0", num_envs=num_envs, vectorization_mode="sync")
    info = describe(envs)
    torch.manual_seed(0)
    nets = SeedNets([build_policy(info, [8], "tanh", tabular=False)], torch.device("cpu"))
    return Collector([envs], info, torch.device("cpu"), [torch.Generator().manual_seed(0)],
                     reset_seeds=[0]), nets


def seed_zero(batch: Batch) -> Batch:
    """The batch of a one-seed run without its seed axis: (T, N, ...)."""
    fields = {k: (v[:, 0] if torch.is_tensor(v) and v.dim() > 1 else v)
              for k, v in vars(batch).items()}
    return Batch(**fields)


def collect_steps(num_steps, num_envs=3):
    collector, nets = make_collector(num_envs)
    return collector, nets, seed_zero(collector.steps(nets, num_steps, [0]))


def test_valid_steps_never_straddle_an_autoreset():
    _, _, batch = collect_steps(40)
    obs, rewards = batch.obs.numpy(), batch.rewards.numpy()
    valid, dones = batch.valid.numpy(), batch.dones.numpy()
    for i in range(obs.shape[1]):
        for t in range(obs.shape[0]):
            e, step = obs[t, i]
            if valid[t, i]:  # the reward belongs to the episode the observation came from
                assert rewards[t, i] == 100 * e + step + 1
            else:  # only the step right after a final step is masked: it just resets
                assert t > 0 and dones[t - 1, i] and batch.valid[t - 1, i]
                assert rewards[t, i] == 0
                assert dones[t, i]
    assert (~valid).sum() > 0


def test_finished_episodes_are_reported_whole():
    collector, _, _ = collect_steps(60, num_envs=2)
    by_length = {}
    assert collector.finished[0]
    for ret, length, _, _ in collector.finished[0]:
        by_length.setdefault(length, set()).add(ret)
    for length, returns in by_length.items():
        for ret in returns:
            e = (ret - length * (length + 1) / 2) / (100 * length)
            assert e == int(e) and LENGTHS[int(e) % 5] == length


def test_truncation_bootstraps_from_the_true_final_observation():
    _, nets, batch = collect_steps(30)
    final = batch.dones & batch.valid
    t_idx, env_idx = torch.nonzero(final, as_tuple=True)
    for t, i in zip(t_idx.tolist(), env_idx.tolist(), strict=False):
        e = int(batch.obs[t, i, 0])
        final_obs = torch.tensor([[e, LENGTHS[e % 5]]], dtype=torch.float32)
        with torch.no_grad():
            expected = nets.values(final_obs[None])[0, 0]
        assert batch.next_values[t, i].item() == pytest.approx(expected.item(), abs=1e-6)
        assert bool(batch.terminated[t, i]) == (e % 2 == 1)


def test_episode_batches_hold_exactly_k_complete_episodes():
    collector, nets = make_collector(num_envs=2)
    for _ in range(3):
        batch = seed_zero(collector.episodes(nets, 5, [0]))
        assert batch.num_episodes.tolist() == [5]
        ids = batch.episode_ids
        assert set(ids[batch.valid].tolist()) == set(range(5))
        for k in range(5):
            steps = (ids == k) & batch.valid
            obs = batch.obs[steps]
            e = int(obs[0, 0])
            assert (obs[:, 0] == e).all(), "an episode mixes two env episodes"
            length = LENGTHS[e % 5]
            assert obs[:, 1].tolist() == list(range(length)), "episode is not complete"
            assert batch.rewards[steps].tolist() == [100 * e + s + 1 for s in range(length)]
