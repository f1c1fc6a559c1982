"""The replay buffer of the off-policy learners (DQN, SAC): each seed's own ring of
valid transitions. Only valid ones (``Batch.valid``) are kept: Gymnasium's autoreset step
is never stored, so no transition pairs an episode's last observation with the next
one's first, and a final step's next observation is the true final observation."""

from __future__ import annotations

import numpy as np
import torch

from ..rollout import Batch


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
        return tuple(torch.as_tensor(a[rows, index], device=device) for a in
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
