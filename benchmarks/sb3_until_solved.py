"""Stable-Baselines3's side of the solve-time benchmarks: a callback that stops
training once the mean of the last 100 episode returns reaches a threshold, timing
training only."""

from __future__ import annotations

import time
from collections import deque


def until_solved(threshold: float):
    """An SB3 callback; after ``learn``, ``solved_step`` and ``solved_s`` (None if the
    budget ran out first) and ``returns`` (the last 100)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class UntilSolved(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.returns: deque[float] = deque(maxlen=100)
            self.solved_step: int | None = None
            self.solved_s: float | None = None
            self.start = 0.0

        def _on_training_start(self) -> None:
            self.start = time.perf_counter()

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(info["episode"]["r"])
            if len(self.returns) == 100 and sum(self.returns) / 100 >= threshold:
                self.solved_step, self.solved_s = self.num_timesteps, time.perf_counter() - self.start
                return False
            return True

    return UntilSolved()
