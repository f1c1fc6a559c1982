"""What a task adds to a run, through one hook: a task is one of pgtui's own envs that
brings more than an env (the RLHF dialogue: a reference policy to start from, a KL
penalty in the reward, exact figures). The trainer calls the hook at these points and
names no task; ``pgtui.tasks`` finds a run's hook by its env's registered id.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym

from ..config import Config
from .networks import SeedNets
from .rollout import Batch, Shaping


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

    def measure(self, nets: SeedNets, batch: Batch) -> list[dict[str, float]] | None:
        """Figures of the policy that collected ``batch``, per seed; None for none."""
        return None
