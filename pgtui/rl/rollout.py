"""Collecting experience from S seeds x N envs into time-major batches (T, S, N, ...).

Two ways to collect: ``steps`` (A2C, PPO: a fixed number of steps per env, episodes
continue across rollouts) and ``episodes`` (REINFORCE: exactly K complete episodes per
seed, every one started under the current policy, so the batch is not biased toward
short episodes). Per vector step: one forward pass of every seed's network, each seed
drawing from its own generator, one call of the envs (``SeedEnvs``) and one pass of
bookkeeping over all S x N envs (``account_step``). A single run is S = 1.

Masking (Gymnasium's next-step autoreset): the step after a final step only resets its
env. It is stored with ``valid = False`` and ``dones = True``, so returns and GAE never
carry anything across it and the losses ignore it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from .envs.joint import SeedEnvs
from .envs.registry import EnvInfo
from .floats import as_float, as_tensor
from .networks import SeedNets


@dataclass
class Batch:
    """Time-major experience of the seeds ``seeds``, shapes (T, S, N, ...)."""

    seeds: list[int]  # which of the run's seeds each column of S is
    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    terminated: torch.Tensor  # the episode really ended at t: no bootstrap
    dones: torch.Tensor  # nothing flows from t+1 back to t (final or autoreset step)
    valid: torch.Tensor  # a real transition that the losses may use
    values: torch.Tensor | None = None  # V(s_t) at collection time
    next_values: torch.Tensor | None = None  # V(s_{t+1}); at a final step, of the final obs
    episode_ids: torch.Tensor | None = None  # REINFORCE: the step's episode in its seed, -1 if none
    num_episodes: torch.Tensor | None = None  # REINFORCE: (S,) complete episodes per seed
    next_obs: torch.Tensor | None = None  # s_{t+1}; at a final step, the final observation


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
                 counts: np.ndarray | None) -> StepMasks:
    """The masks of one step of (S, N) envs; adds the step to the running ``ep_return``
    and ``ep_length`` in place and zeroes those of episodes that ended.
    ``resetting``: the envs whose step only resets them; ``counts``: the envs whose
    episode belongs to the rollout (REINFORCE takes K episodes; envs that did not step
    belong to none), None for all."""
    valid = ~resetting if counts is None else ~resetting & counts
    final = (terminated | truncated) & ~resetting  # envs that did not step report neither
    ep_return += np.where(valid, reward, 0.0)
    ep_length += valid
    ended = np.nonzero(final & valid)
    returns, lengths = ep_return[ended].tolist(), ep_length[ended].tolist()
    ep_return[final] = 0.0
    ep_length[final] = 0
    return StepMasks(terminated & valid, final | resetting, valid, final, ended, returns, lengths)


# seed 0's env 0: its observation and the actor's output for it, for the playground
SnapshotSink = Callable[[np.ndarray, torch.Tensor], None]
# how a rollout acts: (obs (S, N, obs_dim), the seeds that draw) -> (their actions, every
# seed's actor output); default: sample the policy
Acting = Callable[[torch.Tensor, list[int]], tuple[torch.Tensor, torch.Tensor]]
# a reward added to each step's (RLHF's KL penalty): (obs (S, N, obs_dim), actions (S, N),
# every seed's actor output) -> (S, N)
Shaping = Callable[[torch.Tensor, np.ndarray, torch.Tensor], np.ndarray]


class Collector:
    """Steps every seed's envs with its own policy row and keeps each env's running
    episode stats; ``finished[s]`` lists seed s's ended episodes (return, length)."""

    def __init__(self, envs: list[gym.vector.VectorEnv], info: EnvInfo, device: torch.device,
                 generators: list[torch.Generator], reset_seeds: list[int | list[int]],
                 snapshot_sink: SnapshotSink | None = None, snapshot_hz: float = 0.0,
                 reward_scale: float = 1.0) -> None:
        self.info, self.device, self.generators = info, device, generators
        first = [np.asarray(e.reset(seed=seed)[0], dtype=np.float32)
                 for e, seed in zip(envs, reset_seeds, strict=True)]
        self.envs = SeedEnvs(envs)  # after the resets: a joint CartPole takes their state
        self.obs = np.stack(first)
        S, N = self.obs.shape[:2]
        self.resetting = np.zeros((S, N), dtype=bool)  # this step only resets the env
        self.ep_return = np.zeros((S, N))
        self.ep_length = np.zeros((S, N), dtype=np.int64)
        self.env_steps = np.zeros(S, dtype=np.int64)  # steps the seed's envs took
        self.learned_steps = np.zeros(S, dtype=np.int64)  # of them, the ones learned from
        # per seed, its episodes that ended: (return, length, env step, learned step)
        self.finished: list[list[tuple[float, int, int, int]]] = [[] for _ in range(S)]
        self.snapshot_sink = snapshot_sink
        self.acting: Acting | None = None
        self.reward_scale = reward_scale  # every env reward is multiplied by it
        self.shaping: Shaping | None = None
        self._shaped: np.ndarray | None = None  # the shaping of the actions being taken
        self.last_final: np.ndarray | None = None  # seed 0's env 0: its last episode's end
        self.snapshot_period = 1.0 / snapshot_hz if snapshot_hz > 0 else None
        self._next_snapshot = 0.0

    def _env_actions(self, actions: np.ndarray) -> np.ndarray:
        if self.info.discrete:  # the batch keeps the raw sample; the env gets it within bounds
            return actions
        return np.clip(actions, self.info.action_low, self.info.action_high)

    def _act(self, nets: SeedNets, seeds: list[int]) -> np.ndarray:
        """Every seed's actions (S, N[, d]) for ``self.obs``; only ``seeds`` draw."""
        obs = as_float(self.obs, self.device)
        action, head = (self.acting(obs, seeds) if self.acting is not None
                        else nets.sample(obs, self.generators, seeds))
        action = action.cpu().numpy()
        if len(seeds) == self.obs.shape[0]:
            if self.shaping is not None:
                self._shaped = self.shaping(obs, action, head)
            self._maybe_snapshot(nets, head)
            return action
        actions = np.zeros((self.obs.shape[0], *action.shape[1:]), dtype=action.dtype)
        actions[seeds] = action
        if self.shaping is not None:  # the seeds that do not step get nothing from it
            self._shaped = self.shaping(obs, actions, head)
        if 0 in seeds:
            self._maybe_snapshot(nets, head)
        return actions

    def _maybe_snapshot(self, nets: SeedNets, head: torch.Tensor) -> None:
        if self.snapshot_period is None or self.snapshot_sink is None:
            return
        now = time.perf_counter()
        if now < self._next_snapshot:
            return
        self._next_snapshot = now + self.snapshot_period
        self.snapshot_sink(self.obs[0, 0].copy(), head[0, 0])

    @torch.no_grad()
    def show(self, nets: SeedNets) -> None:
        """The drawn state and the policy's view of it, for a learner that steps no env
        (DPO): env 0 of seed 0 as it stands, at the snapshot rate."""
        obs = as_float(self.obs[:, :1], self.device)
        self._maybe_snapshot(nets, nets.head(obs))

    def _step(self, actions: np.ndarray, seeds: list[int], counts: np.ndarray | None,
              held: np.ndarray | None = None) -> tuple[np.ndarray, StepMasks]:
        """One vector step of ``seeds``: (reward, masks); ``counts`` as for
        ``account_step``; the envs ``held`` wait this step out where the envs can."""
        held = held if self.envs.can_hold else None
        obs, reward, terminated, truncated = self.envs.step(self._env_actions(actions), seeds,
                                                            self.obs, held)
        if self.reward_scale != 1.0:
            reward = reward * np.float32(self.reward_scale)
        if self._shaped is not None:  # a step that only resets its env takes no action
            reward = reward + np.where(self.resetting, 0.0, self._shaped).astype(np.float32)
            self._shaped = None
        step = account_step(reward, terminated, truncated, self.resetting, self.ep_return,
                            self.ep_length, counts)
        if len(seeds) == len(self.obs) and held is None:
            self.env_steps += obs.shape[1]
            self.resetting = step.final
        else:  # the envs that did not step keep theirs
            stepped = np.zeros(self.resetting.shape, dtype=bool)
            stepped[seeds] = True
            if held is not None:
                stepped &= ~held
            self.env_steps += stepped.sum(1)
            self.resetting = np.where(stepped, step.final, self.resetting)
        self.learned_steps += step.valid.sum(1)
        if step.final[0, 0]:
            self.last_final = obs[0, 0].copy()
        for s, ret, length in zip(step.ended[0], step.ended_returns, step.ended_lengths, strict=True):
            self.finished[s].append((ret, length, int(self.env_steps[s]), int(self.learned_steps[s])))
        self.obs = obs
        return reward, step

    def steps(self, nets: SeedNets, num_steps: int, seeds: list[int], values: bool = True
              ) -> Batch | None:
        """``num_steps`` steps of every env of ``seeds``, with s_{t+1} and (``values``)
        V(s_t) and V(s_{t+1}) for GAE: one critic pass over the whole rollout at the end
        (the weights do not change during a rollout). The rollout is kept in numpy and
        reaches the device in one copy. A seed whose env raised (``envs.failed``) is left
        out; None if all did."""
        T, (S, N) = num_steps, self.obs.shape[:2]
        obs_buf = np.empty((T + 1, S, N, self.info.obs_dim), dtype=np.float32)
        actions = None
        rewards = np.empty((T, S, N), dtype=np.float32)
        terminated, dones, valid = (np.empty((T, S, N), dtype=bool) for _ in range(3))
        taking = None  # every env's episode belongs to the rollout
        if len(seeds) < S:
            taking = np.zeros((S, N), dtype=bool)
            taking[seeds] = True
        self.envs.begin(seeds)
        try:
            for t in range(T):
                obs_buf[t] = self.obs
                action = self._act(nets, seeds)
                if actions is None:
                    actions = np.empty((T, *action.shape), dtype=action.dtype)
                actions[t] = action
                rewards[t], step = self._step(action, seeds, taking)
                terminated[t], dones[t], valid[t] = step.terminated, step.dones, step.valid
                if self.envs.failed.keys() & set(seeds):  # those seeds take no more steps
                    seeds = [s for s in seeds if s not in self.envs.failed]
                    if not seeds:
                        break
                    taking = np.zeros((S, N), dtype=bool)
                    taking[seeds] = True
        finally:
            self.envs.end()
        if not seeds:
            return None
        obs_buf[T] = self.obs
        pick = slice(None) if len(seeds) == S else seeds
        obs = as_float(obs_buf[:, pick], self.device)
        as_t = lambda x: as_tensor(x[:, pick], self.device)  # noqa: E731
        batch = Batch(seeds, obs[:T], as_t(actions), as_t(rewards), as_t(terminated), as_t(dones),
                      as_t(valid), next_obs=obs[1:])
        if values:
            with torch.no_grad():
                v = nets.values(obs.movedim(1, 0).reshape(len(seeds), -1, obs.shape[-1]),
                                nets.select(seeds))
            v = v.view(len(seeds), T + 1, N).movedim(0, 1)
            batch.values, batch.next_values = v[:T], v[1:]
        return batch

    def episodes(self, nets: SeedNets, num_episodes: int, seeds: list[int],
                 max_steps: int = 100_000) -> Batch | None:
        """Reset every env of ``seeds`` and run until ``num_episodes`` episodes of each
        seed started now have ended (or ``max_steps`` vector steps). A seed whose
        episodes are in stops there: no more draws from its generator, its envs keep
        their state. A seed whose env raised is left out; None if all did."""
        S, N = self.obs.shape[:2]
        for s in seeds:  # every episode starts under the current policy
            self.obs[s] = np.asarray(self.envs.envs[s].reset()[0], dtype=np.float32)
            self.resetting[s], self.ep_return[s], self.ep_length[s] = False, 0.0, 0
        active = np.zeros(S, dtype=bool)
        active[seeds] = True
        learned_before = self.learned_steps.copy()
        book = EpisodeBook(num_episodes, S, N, active)
        taken = np.zeros(S, dtype=np.int64)
        ends: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # counts, episode_of at a seed's end
        self.envs.begin(seeds)
        try:
            rows = list(seeds)
            while rows:
                every = len(rows) == S  # the usual case: no seed has its episodes in yet
                book.assign(self.resetting)
                actions = self._act(nets, rows)
                book.before_step(self.obs, actions, self.resetting)
                # an env the batch needs no more (its episode is over) waits, not stepped
                reward, step = self._step(actions, rows,
                                          book.counts if every else book.counts & active[:, None],
                                          held=~book.counts)
                book.after_step(reward, step.terminated, step.dones, step.valid, step.final)
                if every:
                    taken += 1
                    if (book.ended < num_episodes).all() and taken[0] < max_steps:
                        continue
                else:
                    taken[rows] += 1
                for s in [s for s in rows if book.ended[s] >= num_episodes
                          or taken[s] >= max_steps or s in self.envs.failed]:
                    active[s] = False
                    rows.remove(s)
                    self.envs.leave(s)
                    if s not in self.envs.failed:
                        ends[s] = book.counts[s].copy(), book.episode_of[s].copy()
        finally:
            self.envs.end()
        done = [s for s in seeds if s in ends]
        if not done:
            return None
        batch = book.batch(done, taken, ends, self.device)
        # episodes that max_steps cut off are not learned from
        self.learned_steps[done] = learned_before[done] + batch.valid.sum((0, 2)).cpu().numpy()
        return batch

    def read_offline(self, seeds: list[int], steps: int) -> None:
        """Count ``steps`` steps of fixed data (not of the envs) learned by each of
        ``seeds``, toward their budgets (DPO's tokens of labelled responses)."""
        self.env_steps[seeds] += steps
        self.learned_steps[seeds] += steps

    # -- one seed's running state, for checkpoints ------------------------------------

    def seed_state(self, s: int) -> dict:
        return {"obs": torch.from_numpy(self.obs[s].copy()),
                "resetting": torch.from_numpy(self.resetting[s].copy()),
                "ep_return": torch.from_numpy(self.ep_return[s].copy()),
                "ep_length": torch.from_numpy(self.ep_length[s].copy()),
                "env_steps": int(self.env_steps[s]), "learned_steps": int(self.learned_steps[s])}

    def load_seed_state(self, s: int, state: dict) -> None:
        for key in ("obs", "resetting", "ep_return", "ep_length"):
            array = getattr(self, key)
            value = state[key].numpy()
            if value.shape != array[s].shape:
                raise ValueError(f"{key} has shape {value.shape}, this run {array[s].shape}")
            array[s] = value
        self.env_steps[s] = int(state["env_steps"])
        self.learned_steps[s] = int(state.get("learned_steps", state["env_steps"]))


class EpisodeBook:
    """REINFORCE's rollout record for S seeds x N envs: which env's current episode
    belongs to the batch, and the steps so far, (S, N) each.

    The batch takes the first ``num_episodes`` episodes started from the reset: envs
    0..K-1 start one each, and an env whose episode ends starts the next while fewer
    than K have started, in env order. Seeds not ``active`` take none.
    """

    def __init__(self, num_episodes: int, seeds: int, num_envs: int, active: np.ndarray) -> None:
        self.num_episodes = num_episodes
        first = (np.arange(num_envs) < num_episodes) & active[:, None]
        self.counts = first.copy()  # does env i's current episode belong
        self.episode_of = np.where(first, np.arange(num_envs), -1)
        self.started = np.where(active, self.counts.sum(1), num_episodes)
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
        self.obs.append(obs.copy())
        self.actions.append(actions)
        self.episode_ids.append(np.where(self.counts & ~resetting, self.episode_of, -1))

    def after_step(self, reward: np.ndarray, terminated: np.ndarray, dones: np.ndarray,
                   valid: np.ndarray, final: np.ndarray) -> None:
        self.ended += (final & self.counts).sum(1)
        self.counts &= ~final  # an env that finished waits for its reset step
        self.steps.append((reward, terminated, dones, valid))

    def batch(self, seeds: list[int], taken: np.ndarray, ends: dict, device: torch.device) -> Batch:
        """The batch of ``seeds``, each its first ``taken[s]`` steps (padded to the
        longest as invalid steps); ``ends``: each seed's (counts, episode_of) at its last
        step. Episodes that ``max_steps`` cut off are left out."""
        T = int(taken[seeds].max())
        take = lambda xs: np.stack(xs[:T])[:, seeds]  # noqa: E731
        rewards, terminated, dones, valid = (take(col) for col in zip(*self.steps, strict=True))
        episode_ids = take(self.episode_ids)
        num_episodes = []
        for i, s in enumerate(seeds):
            counts, episode_of = ends[s]
            ids, ok = episode_ids[:, i], valid[:, i]
            cut = np.isin(ids, episode_of[counts])  # cut off by max_steps
            cut[taken[s]:] = True  # after the seed's end: padding
            ok[cut], ids[cut] = False, -1
            dones[taken[s]:, i] = True
            kept = np.unique(ids[ids >= 0])
            ids[ids >= 0] = np.searchsorted(kept, ids[ids >= 0])
            num_episodes.append(len(kept))
        as_t = lambda x: as_tensor(x, device)  # noqa: E731
        return Batch(list(seeds), as_t(take(self.obs)), as_t(take(self.actions)),
                     as_float(rewards, device), as_t(terminated), as_t(dones), as_t(valid),
                     episode_ids=as_t(episode_ids), num_episodes=as_t(num_episodes))
