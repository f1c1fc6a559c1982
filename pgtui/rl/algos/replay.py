"""What the off-policy learners (DQN, SAC) share: the replay buffer, each seed's own ring
of valid transitions, and ``ReplayLearner``, the learner around it. Only valid
transitions (``Batch.valid``) are kept: Gymnasium's autoreset step is never stored, so
no transition pairs an episode's last observation with the next one's first, and a
final step's next observation is the true final observation."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ...config import Config
from ..floats import as_tensor
from ..rollout import Batch
from .interface import Learner, Parts
from .samples import Stats


class ReplayBuffer:
    """Each seed's last ``capacity`` valid transitions, in preallocated numpy rings."""

    def __init__(self, seeds: int, capacity: int, obs_dim: int, action_shape: tuple[int, ...]) -> None:
        """``action_shape``: () for a Discrete action (an index), (d,) for a Box one."""
        self.capacity = capacity
        self.obs = np.zeros((seeds, capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros((seeds, capacity, *action_shape),
                                dtype=np.float32 if action_shape else np.int64)
        self.rewards = np.zeros((seeds, capacity), dtype=np.float32)
        self.terminated = np.zeros((seeds, capacity), dtype=np.float32)
        self.pos = np.zeros(seeds, dtype=np.int64)  # where the next transition goes
        self.size = np.zeros(seeds, dtype=np.int64)

    def add(self, batch: Batch, actions: np.ndarray | None = None) -> None:
        """The valid transitions of a rollout (T, S', N), in (t, env) order; ``actions``
        as they are kept, if not the batch's."""
        obs, next_obs = batch.obs.cpu().numpy(), batch.next_obs.cpu().numpy()
        valid = batch.valid.cpu().numpy()
        actions = batch.actions.cpu().numpy() if actions is None else actions
        rewards, terminated = batch.rewards.cpu().numpy(), batch.terminated.cpu().numpy()
        for i, s in enumerate(batch.seeds):
            keep = valid[:, i]
            n = int(keep.sum())
            if n == 0:
                continue
            at = (self.pos[s] + np.arange(n)) % self.capacity
            self.obs[s, at], self.next_obs[s, at] = obs[:, i][keep], next_obs[:, i][keep]
            self.actions[s, at], self.rewards[s, at] = actions[:, i][keep], rewards[:, i][keep]
            self.terminated[s, at] = terminated[:, i][keep]
            self.pos[s] = (self.pos[s] + n) % self.capacity
            self.size[s] = min(self.size[s] + n, self.capacity)

    def sample(self, seeds: list[int], batch_size: int, generators: list[torch.Generator],
               device: torch.device) -> tuple[torch.Tensor, ...]:
        """``batch_size`` transitions of each seed, drawn uniformly with replacement by
        its own generator: (obs, actions, rewards, next_obs, terminated), (S', B, ...)."""
        index = np.stack([torch.randint(int(self.size[s]), (batch_size,), generator=generators[s]).numpy()
                          for s in seeds])
        rows = np.asarray(seeds)[:, None]
        return tuple(as_tensor(a[rows, index], device) for a in
                     (self.obs, self.actions, self.rewards, self.next_obs, self.terminated))

    def seed_state(self, s: int) -> dict[str, torch.Tensor]:
        n = int(self.size[s])
        # oldest first, so that a resumed ring continues in the same order
        order = (np.arange(n) + (self.pos[s] if n == self.capacity else 0)) % self.capacity
        return {key: torch.from_numpy(getattr(self, key)[s, order].copy())
                for key in ("obs", "next_obs", "actions", "rewards", "terminated")}

    def load_seed_state(self, s: int, state: dict[str, torch.Tensor]) -> None:
        n = len(state["actions"])
        if (n > self.capacity or state["obs"].shape[1:] != self.obs.shape[2:]
                or state["actions"].shape[1:] != self.actions.shape[2:]):
            raise ValueError(f"a replay buffer of {n} transitions of shape "
                             f"{tuple(state['obs'].shape[1:])} does not fit this run's")
        for key in ("obs", "next_obs", "actions", "rewards", "terminated"):
            getattr(self, key)[s, :n] = state[key].numpy()
        self.size[s], self.pos[s] = n, n % self.capacity


class ReplayLearner(Learner):
    """A learner that stores what it collects and learns from replayed batches: each
    seed's buffer and sampling generator, target rows (``target_rows``, set by the
    subclass), rounds of ``train_freq`` vector steps, gradient steps once a seed has
    taken ``learning_starts`` env steps, and the playground's single step as one
    gradient step. A subclass writes ``gradient_steps`` and what it reports beside."""

    plays_greedy = True
    #: the checkpoint's key for what this learner keeps beyond the weights
    state_key: ClassVar[str]
    target_rows: torch.Tensor

    def __init__(self, parts: Parts, action_shape: tuple[int, ...]) -> None:
        super().__init__(parts)
        self.buffer = ReplayBuffer(parts.nets.num_seeds, parts.config().buffer_size,
                                   parts.collector.obs.shape[-1], action_shape)
        self.generators = [torch.Generator().manual_seed(s.replay()) for s in parts.streams]

    def collect(self, config: Config, seeds: list[int]) -> Batch | None:
        return self.parts.collector.steps(self.parts.nets, config.train_freq, seeds, values=False)

    def gradient_steps(self, config: Config, seeds: list[int]) -> Stats:
        """``gradient_steps`` steps of each of ``seeds``; per seed its mean figures."""
        raise NotImplementedError

    def learning(self, config: Config, seeds: list[int]) -> list[int]:
        """The seeds past learning_starts, with transitions to replay."""
        steps = self.parts.collector.env_steps
        return [s for s in seeds if steps[s] >= config.learning_starts and self.buffer.size[s] > 0]

    def learn(self, config: Config, seeds: list[int]) -> dict[int, dict[str, float]]:
        """The gradient steps of the seeds that learn: seed -> its figures."""
        learning = self.learning(config, seeds)
        return dict(zip(learning, self.gradient_steps(config, learning) if learning else [], strict=True))

    def step_alone(self, config: Config, seeds: list[int]) -> bool:
        """Once it learns, the playground's single step is one gradient step on a batch
        from the buffer, with no collection."""
        if self.learning(config, seeds) != list(seeds):
            return False
        self.gradient_steps(config.replace(gradient_steps=1), seeds)
        return True

    def buffer_fill(self, s: int) -> float:
        return float(self.buffer.size[s] / self.buffer.capacity)

    def seed_state(self, s: int) -> dict[str, Any]:
        return {self.state_key: {"target": self.target_rows[s].detach().cpu().clone(),
                                 "replay": self.buffer.seed_state(s),
                                 "generator": self.generators[s].get_state(), **self.more_state(s)}}

    def load_seed_state(self, s: int, state: dict[str, Any]) -> None:
        state = state[self.state_key]
        if state["target"].shape != self.target_rows[s].shape:
            raise ValueError(f"the target network has {state['target'].numel()} weights, "
                             f"this run {self.target_rows[s].numel()}")
        with torch.no_grad():
            self.target_rows[s] = state["target"].to(self.target_rows.device)
        self.buffer.load_seed_state(s, state["replay"])
        self.generators[s].set_state(state["generator"])
        self.load_more_state(s, state)

    def more_state(self, s: int) -> dict[str, Any]:
        """A subclass's own part of seed ``s``'s checkpoint."""
        return {}

    def load_more_state(self, s: int, state: dict[str, Any]) -> None:
        """Put back what ``more_state`` kept."""

