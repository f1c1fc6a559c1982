"""Collecting experience from a vector env into time-major batches.

Two ways to collect: ``steps`` (A2C, PPO: a fixed number of steps per env, episodes
continue across rollouts) and ``episodes`` (REINFORCE: exactly K complete episodes,
every one started under the current policy, so the batch is not biased toward short
episodes). Both are generators that ask for a decision at every vector step: ``run``
answers with the collector's own policy, a race answers for several seeds at once
(``lockstep.py``). ``collect_steps`` and ``collect_episodes`` are the one-call forms.
The books of a step (``account_step``) and of an episodes rollout (``EpisodeBook``)
take envs of any shape, so a race keeps all its seeds' books in one pass.

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

    def settle(self, obs: np.ndarray, resetting: np.ndarray, ep_return: np.ndarray,
               ep_length: np.ndarray, vector_steps: int) -> None:
        """Take over the running state a race's joint rollout leaves for this seed after
        ``vector_steps`` steps (copies: the arrays are slices of all the seeds')."""
        self.obs, self.resetting = obs.copy(), resetting.copy()
        self.ep_return, self.ep_length = ep_return.copy(), ep_length.copy()
        self.env_steps += vector_steps * self.num_envs

    def begin_episodes(self) -> None:
        """Reset every env and forget the running episodes: an ``episodes`` rollout
        starts every episode under the current policy."""
        obs, _ = self.envs.reset()
        self.obs = np.asarray(obs, dtype=np.float32)
        self.resetting[:] = False
        self.ep_return[:] = 0.0
        self.ep_length[:] = 0

    def episodes(self, num_episodes: int, max_steps: int = 100_000) -> Collection:
        """Reset every env and run until ``num_episodes`` episodes started now have ended.

        A generator like ``steps``.
        """
        self.begin_episodes()
        book = EpisodeBook(num_episodes, 1, self.num_envs)
        while book.ended[0] < num_episodes and len(book.obs) < max_steps:
            book.assign(self.resetting[None])
            obs = self.obs.copy()
            action, head = yield obs
            self.maybe_snapshot(obs, head)
            action = action.cpu().numpy()
            book.before_step(obs[None], action[None], self.resetting[None])
            reward, term, dones, valid, final = self._step(self._env_action(action),
                                                           book.counts[0])
            book.after_step(reward[None], term[None], dones[None], valid[None], final[None])
        return book.batch(0, len(book.obs), self.device)


class EpisodeBook:
    """REINFORCE's rollout record for S seeds x N envs (S = 1 for a single run): which
    env's current episode belongs to the batch, and the steps so far, (S, N) each.

    The batch takes the first ``num_episodes`` episodes started from the reset: envs
    0..K-1 start one each, and an env whose episode ends starts the next while fewer
    than K have started, in env order.
    """

    def __init__(self, num_episodes: int, seeds: int, num_envs: int) -> None:
        self.num_episodes = num_episodes
        first = np.arange(num_envs) < num_episodes
        self.counts = np.tile(first, (seeds, 1))  # does env i's current episode belong
        self.episode_of = np.tile(np.where(first, np.arange(num_envs), -1), (seeds, 1))
        self.started = self.counts.sum(1)
        self.ended = np.zeros(seeds, dtype=np.int64)
        self.obs: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []
        self.episode_ids: list[np.ndarray] = []
        self.steps: list[tuple[np.ndarray, ...]] = []  # reward, terminated, dones, valid

    def assign(self, resetting: np.ndarray) -> None:
        """Envs whose next episode starts after this step join the batch, in env order,
        while it still needs episodes (an env that resets is out of it already)."""
        if not resetting.any() or (self.started >= self.num_episodes).all():
            return
        rank = np.cumsum(resetting, axis=1) - 1
        number = self.started[:, None] + rank
        joining = resetting & (number < self.num_episodes)
        self.counts[resetting] = joining[resetting]
        self.episode_of[resetting] = np.where(joining, number, -1)[resetting]
        self.started += joining.sum(1)

    def before_step(self, obs: np.ndarray, actions: np.ndarray, resetting: np.ndarray) -> None:
        self.obs.append(obs)
        self.actions.append(actions)
        self.episode_ids.append(np.where(self.counts & ~resetting, self.episode_of, -1))

    def after_step(self, reward: np.ndarray, terminated: np.ndarray, dones: np.ndarray,
                   valid: np.ndarray, final: np.ndarray) -> None:
        self.ended += (final & self.counts).sum(1)
        self.counts &= ~final  # an env that finished waits for its reset step
        self.steps.append((reward, terminated, dones, valid))

    def batch(self, seed: int, num_steps: int, device: torch.device,
              counts: np.ndarray | None = None, episode_of: np.ndarray | None = None) -> Batch:
        """Seed ``seed``'s first ``num_steps`` steps as a batch; ``counts`` and
        ``episode_of``: that seed's at its last step (default: now). Episodes that
        ``max_steps`` cut off are left out."""
        counts = self.counts[seed] if counts is None else counts
        episode_of = self.episode_of[seed] if episode_of is None else episode_of
        take = lambda xs: np.stack([x[seed] for x in xs[:num_steps]])  # noqa: E731
        rewards, terminated, dones, valid = (take(col) for col in zip(*self.steps, strict=True))
        episode_ids = take(self.episode_ids)
        unfinished = np.isin(episode_ids, episode_of[counts])  # cut off by max_steps
        valid[unfinished], episode_ids[unfinished] = False, -1
        kept = np.unique(episode_ids[episode_ids >= 0])
        episode_ids[episode_ids >= 0] = np.searchsorted(kept, episode_ids[episode_ids >= 0])
        as_t = lambda x, dtype=None: torch.as_tensor(x, dtype=dtype, device=device)  # noqa: E731
        return Batch(obs=as_t(take(self.obs)), actions=as_t(take(self.actions)),
                     rewards=as_t(rewards, torch.float32), terminated=as_t(terminated),
                     dones=as_t(dones), valid=as_t(valid), episode_ids=as_t(episode_ids),
                     num_episodes=len(kept))
