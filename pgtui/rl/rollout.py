"""Collecting experience from a vector env into time-major batches.

Two ways to collect: ``steps`` (A2C, PPO: a fixed number of steps per env, episodes
continue across rollouts) and ``episodes`` (REINFORCE: exactly K complete episodes,
every one started under the current policy, so the batch is not biased toward short
episodes). Both are generators that ask for a decision at every vector step: ``run``
answers with the collector's own policy, a race answers for several seeds at once
(``lockstep.py``). ``collect_steps`` and ``collect_episodes`` are the one-call forms.

Masking (Gymnasium's next-step autoreset): the step after a final step only resets its
env. It is stored with ``valid = False`` and ``dones = True``, so returns and GAE never
carry anything across it and the losses ignore it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from .envs import EnvInfo
from .policies import ActorCritic


@dataclass
class Batch:
    """Time-major experience, shapes (T, N, ...)."""

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    terminated: torch.Tensor  # the episode really ended at t: no bootstrap
    dones: torch.Tensor  # nothing flows from t+1 back to t (final or autoreset step)
    valid: torch.Tensor  # a real transition that the losses may use
    values: torch.Tensor | None = None  # V(s_t) at collection time
    next_values: torch.Tensor | None = None  # V(s_{t+1}); at a final step, of the final obs
    episode_ids: torch.Tensor | None = None  # REINFORCE: index of the step's episode, -1 if none
    num_episodes: int = 0

    @property
    def num_valid(self) -> int:
        return int(self.valid.sum())


@dataclass
class StepMasks:
    """What one vector step means for the rollout and the running episodes."""

    terminated: np.ndarray  # really ended, on a valid step
    dones: np.ndarray  # nothing flows back across this step
    valid: np.ndarray  # a transition the losses may use
    final: np.ndarray  # an episode ended here: the env's next step only resets it
    ended: tuple[np.ndarray, ...]  # where an episode that counts ended (np.nonzero)
    ended_returns: list[float]
    ended_lengths: list[int]


def account_step(reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                 resetting: np.ndarray, ep_return: np.ndarray, ep_length: np.ndarray,
                 counts: np.ndarray | None = None) -> StepMasks:
    """The masks of one step of envs of any shape; adds the step to the running
    ``ep_return`` and ``ep_length`` in place and zeroes those of episodes that ended.
    ``resetting``: the envs whose step only resets them; ``counts``: the envs whose
    episode belongs to the batch (REINFORCE), None for all."""
    valid = ~resetting if counts is None else ~resetting & counts
    final = (terminated | truncated) & ~resetting
    ep_return += np.where(valid, reward, 0.0)
    ep_length += valid
    ended = np.nonzero(final & valid)
    returns, lengths = ep_return[ended].tolist(), ep_length[ended].tolist()
    ep_return[final] = 0.0
    ep_length[final] = 0
    return StepMasks(terminated & valid, final | resetting, valid, final, ended, returns, lengths)


Decision = tuple[torch.Tensor, torch.Tensor]  # actions, actor head
# yields each step's observations (a float32 numpy array) and is sent the decision;
# the actions may live on any device
Collection = Generator[np.ndarray, Decision, Batch]

SnapshotSink = Callable[[np.ndarray, torch.distributions.Distribution, float | None], None]


def steps_batch(obs: torch.Tensor, values: torch.Tensor, actions: np.ndarray,
                rewards: np.ndarray, terminated: np.ndarray, dones: np.ndarray,
                valid: np.ndarray) -> Batch:
    """The batch of a ``steps`` rollout: ``obs`` and ``values`` hold T + 1 steps (the
    last for bootstrapping), the numpy arrays T; they join ``obs`` on its device."""
    as_t = lambda x: torch.as_tensor(x, device=obs.device)  # noqa: E731
    T = len(rewards)
    return Batch(obs=obs[:T], actions=as_t(actions), rewards=as_t(rewards),
                 terminated=as_t(terminated), dones=as_t(dones), valid=as_t(valid),
                 values=values[:T], next_values=values[1:])


class Collector:
    """Steps ``envs`` with ``policy`` and keeps each env's running episode stats."""

    def __init__(self, envs: gym.vector.VectorEnv, info: EnvInfo, policy: ActorCritic,
                 device: torch.device, generator: torch.Generator, seed: int,
                 snapshot_sink: SnapshotSink | None = None, snapshot_hz: float = 0.0) -> None:
        self.envs, self.info, self.policy = envs, info, policy
        self.device, self.generator = device, generator
        self.num_envs = envs.num_envs
        self.snapshot_sink = snapshot_sink
        self.snapshot_period = 1.0 / snapshot_hz if snapshot_hz > 0 else None
        self._next_snapshot = 0.0
        obs, _ = envs.reset(seed=seed)
        self.obs = np.asarray(obs, dtype=np.float32)
        self.resetting = np.zeros(self.num_envs, dtype=bool)  # this step only resets the env
        self.ep_return = np.zeros(self.num_envs)
        self.ep_length = np.zeros(self.num_envs, dtype=np.int64)
        self.finished: list[tuple[float, int]] = []  # (return, length), drained by the trainer
        self.env_steps = 0

    def decide(self, obs: np.ndarray) -> Decision:
        """This collector's own policy on ``obs``: (actions, actor head)."""
        with torch.no_grad():
            return self.policy.actor.sample(torch.as_tensor(obs, device=self.device),
                                            self.generator)

    def run(self, collection: Collection) -> Batch:
        """Drive ``steps(...)`` or ``episodes(...)`` with this collector's own policy."""
        try:
            obs = next(collection)
            while True:
                obs = collection.send(self.decide(obs))
        except StopIteration as done:
            return done.value

    def _env_action(self, action: np.ndarray) -> np.ndarray:
        if self.info.discrete:  # the batch keeps the raw sample; the env gets it within bounds
            return action
        return np.clip(action, self.info.action_low, self.info.action_high)

    def maybe_snapshot(self, obs: np.ndarray, head: torch.Tensor) -> None:
        if self.snapshot_period is None or self.snapshot_sink is None:
            return
        now = time.perf_counter()
        if now < self._next_snapshot:
            return
        self._next_snapshot = now + self.snapshot_period
        with torch.no_grad():
            v = self.policy.critic(torch.as_tensor(obs[:1], device=self.device))
        dist = self.policy.actor.distribution_from(head[:1])
        self.snapshot_sink(self.obs[0].copy(), dist, float(v[0]))

    def _step(self, env_action: np.ndarray, counts: np.ndarray | None = None):
        """One vector step; returns (reward, terminated, dones, valid) as numpy arrays."""
        obs, reward, terminated, truncated, _ = self.envs.step(env_action)
        step = account_step(reward, terminated, truncated, self.resetting, self.ep_return,
                            self.ep_length, counts)
        self.finished.extend(zip(step.ended_returns, step.ended_lengths, strict=True))
        self.resetting = step.final
        self.obs = np.asarray(obs, dtype=np.float32)
        self.env_steps += self.num_envs
        return reward, step.terminated, step.dones, step.valid, step.final

    def collect_steps(self, num_steps: int) -> Batch:
        return self.run(self.steps(num_steps))

    def steps(self, num_steps: int) -> Collection:
        """``num_steps`` steps of every env, with V(s_t) and V(s_{t+1}) for GAE.

        A generator: it yields the observations whenever it needs a decision and is
        sent (actions, actor head); ``run`` drives it with this collector's policy, a
        race drives several in lockstep with one batched forward pass. The values come
        from one critic call on the whole rollout at the end (the weights do not change
        during a rollout, and one call on 17 x N rows costs what one on N rows does).
        The rollout is kept in numpy and reaches the device in one copy at the end.
        """
        T, N, dev = num_steps, self.num_envs, self.device
        obs_buf = np.empty((T + 1, N, self.info.obs_dim), dtype=np.float32)
        actions = None
        rewards = np.empty((T, N), dtype=np.float32)
        terminated = np.empty((T, N), dtype=bool)
        dones = np.empty((T, N), dtype=bool)
        valid = np.empty((T, N), dtype=bool)
        for t in range(T):
            obs_buf[t] = self.obs
            action, head = yield obs_buf[t]
            self.maybe_snapshot(obs_buf[t], head)
            action = action.cpu().numpy()
            if actions is None:
                actions = np.empty((T, *action.shape), dtype=action.dtype)
            actions[t] = action
            rewards[t], terminated[t], dones[t], valid[t], _ = self._step(self._env_action(action))
        obs_buf[T] = self.obs
        obs = torch.as_tensor(obs_buf, device=dev)
        with torch.no_grad():
            values = self.policy.critic(obs)
        return steps_batch(obs, values, actions, rewards, terminated, dones, valid)

    def collect_episodes(self, num_episodes: int, max_steps: int = 100_000) -> Batch:
        return self.run(self.episodes(num_episodes, max_steps))

    def episodes(self, num_episodes: int, max_steps: int = 100_000) -> Collection:
        """Reset every env and run until ``num_episodes`` episodes started now have ended.

        A generator like ``steps``.
        """
        N, dev = self.num_envs, self.device
        obs, _ = self.envs.reset()
        self.obs = np.asarray(obs, dtype=np.float32)
        self.resetting[:] = False
        self.ep_return[:] = 0.0
        self.ep_length[:] = 0
        counts = np.arange(N) < num_episodes  # does env i's current episode belong to the batch
        episode_of = np.where(counts, np.arange(N), -1)
        started, ended = int(counts.sum()), 0
        obs_l, act_l, rew_l, term_l, done_l, valid_l, ep_l = [], [], [], [], [], [], []
        while ended < num_episodes and len(obs_l) < max_steps:
            if self.resetting.any():  # envs whose next episode starts after this step
                for i in np.flatnonzero(self.resetting):
                    counts[i] = started < num_episodes
                    episode_of[i] = started if counts[i] else -1
                    started += int(counts[i])
            obs_l.append(self.obs.copy())
            action, head = yield obs_l[-1]
            self.maybe_snapshot(obs_l[-1], head)
            action = action.cpu().numpy()
            env_action = self._env_action(action)
            act_l.append(action)
            ep_l.append(np.where(counts & ~self.resetting, episode_of, -1))
            reward, term, dones, valid, final = self._step(env_action, counts)
            ended += int((final & counts).sum())
            counts &= ~final  # an env that finished waits for its reset step
            rew_l.append(reward)
            term_l.append(term)
            done_l.append(dones)
            valid_l.append(valid)
        episode_ids, valid = np.stack(ep_l), np.stack(valid_l)
        unfinished = np.isin(episode_ids, episode_of[counts])  # cut off by max_steps
        valid[unfinished], episode_ids[unfinished] = False, -1
        kept = np.unique(episode_ids[episode_ids >= 0])
        episode_ids[episode_ids >= 0] = np.searchsorted(kept, episode_ids[episode_ids >= 0])
        as_t = lambda xs, dtype: torch.as_tensor(np.stack(xs), dtype=dtype, device=dev)  # noqa: E731
        return Batch(obs=torch.as_tensor(np.stack(obs_l), device=dev),
                     actions=torch.as_tensor(np.stack(act_l), device=dev),
                     rewards=as_t(rew_l, torch.float32), terminated=as_t(term_l, torch.bool),
                     dones=as_t(done_l, torch.bool), valid=torch.as_tensor(valid, device=dev),
                     episode_ids=torch.as_tensor(episode_ids, device=dev),
                     num_episodes=len(kept))
