"""What a task adds to a run, through one hook: a task is one of pgtui's own envs that
brings more than an env (the RLHF dialogue: a reference policy to start from, a KL
penalty in the reward, exact figures). The trainer calls the hook at these points and
names no task; ``pgtui.tasks`` finds a run's hook by its env's registered id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import gymnasium as gym
import numpy as np
import torch

from ..config import Config
from .networks import SeedNets
from .rollout import Batch, Shaping


class PreferencePairs(Protocol):
    """Labelled pairs of responses to the same prompt, each response a sequence of
    ``steps`` (observation, action) steps: the data a preference learner (DPO) reads."""

    steps: int

    def __len__(self) -> int: ...

    def take(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(chosen observations (n, steps, obs_dim), chosen actions (n, steps), and the
        same of the rejected responses) of the pairs ``index``."""
        ...


class TaskHook:
    """The default: an env and nothing more."""

    #: snapshots carry the last finished episode's final observation (drawn below the
    #: one in progress)
    shows_last_final = False

    def check(self, config: Config, has_policy: bool) -> str | None:
        """Why this config cannot run the task, or None. ``has_policy``: the algorithm
        learns a policy (DQN learns Q values)."""
        return None

    def start(self, nets: SeedNets) -> None:
        """Set the seeds' initial weights (after their seeded init)."""

    def shaping(self, config: Callable[[], Config]) -> Shaping | None:
        """A reward added to each step's, reading the live ``config()``; None for none."""
        return None

    def apply(self, config: Config, envs: list[gym.Env]) -> None:
        """Take the task's live settings from ``config``, at the start and after every
        change, in the hook and in every env of the run (training and evaluation)."""

    def reference_logits(self, obs: torch.Tensor) -> torch.Tensor | None:
        """The logits of the reference policy the run starts from and is held near (a
        learner that keeps the KL in its loss reads it), or None: the task has none."""
        return None

    def preferences(self) -> PreferencePairs | None:
        """The labelled preference pairs of the task's current settings, or None."""
        return None

    def measure(self, nets: SeedNets, batch: Batch, sampled: bool = True
                ) -> list[dict[str, float]] | None:
        """Figures of the policy, per seed of ``batch``; None for none. ``sampled``: the
        policy wrote the batch, so figures may be read off it too (DPO's batch is
        labelled data)."""
        return None
