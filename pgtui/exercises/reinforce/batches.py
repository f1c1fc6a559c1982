"""The batches the REINFORCE grader feeds the student's functions: one written out by hand
to hold every case that trips a REINFORCE (episodes that end or are truncated mid batch,
one-step episodes, the reset step after an episode's end, an env that waits out the
batch) and one collected by pgtui on its chain."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch


@dataclass(frozen=True)
class Episodes:
    """A batch in the exercise's layout, (T, N) each."""

    rewards: torch.Tensor
    dones: torch.Tensor
    valid: torch.Tensor
    episode_ids: torch.Tensor

    @property
    def num_episodes(self) -> int:
        return int(self.episode_ids.max()) + 1

    def describe(self, t: int, n: int) -> str:
        return f"t={t} of env {n}"


# step by step, per env: the episode a step belongs to ("." not valid), where it ends
# (d: reaches its end, x: truncated at the step limit; both are dones) and its reward
_HAND = (
    # env 0: an episode of 3 steps, the reset step, one truncated at t=9
    ("0 0 0 . 3 3 3 3 3 3", "- - d d - - - - - x", "1 -1 2 7 0.5 1 1 -2 1 3"),
    # env 1: two one-step episodes, each followed by its reset step, one of 3, then it waits
    ("1 . 4 . 5 5 5 . . .", "d d d d - - d - - -", "2 9 -1 9 1 1 1 5 5 5"),
    # env 2: one episode over the whole batch
    ("2 2 2 2 2 2 2 2 2 2", "- - - - - - - - - d", "0 0 1 0 0 0 2 0 0 4"),
)


def hand_batch() -> Episodes:
    ids = torch.tensor([[-1 if x == "." else int(x) for x in env[0].split()] for env in _HAND]).T
    dones = torch.tensor([[x in "dx" for x in env[1].split()] for env in _HAND]).T
    rewards = torch.tensor([[float(x) for x in env[2].split()] for env in _HAND]).T
    return Episodes(rewards, dones, ids >= 0, ids)


def one_episode() -> Episodes:
    """A batch of one episode in one env (no other episode to take a mean over)."""
    rewards = torch.tensor([[1.0], [0.0], [2.0], [1.0]])
    dones = torch.tensor([[False], [False], [False], [True]])
    return Episodes(rewards, dones, torch.ones(4, 1, dtype=torch.bool), torch.zeros(4, 1, dtype=torch.long))


@cache
def chain_batch() -> Episodes:
    """Seed 0's episodes of a batch pgtui collected on its chain (4 envs, 8 episodes)."""
    from ...config import Config
    from ...rl.trainer import Trainer

    trainer = Trainer(Config(env="pgtui/Chain-v0", algo="reinforce", num_envs=4, episodes_per_update=8,
                             seed=3, hidden_sizes=[16]), seeds=[0])
    batch = trainer.collector.episodes(trainer.nets, 8, [0])
    return Episodes(batch.rewards[:, 0].clone(), batch.dones[:, 0].clone(), batch.valid[:, 0].clone(),
                    batch.episode_ids[:, 0].clone())
