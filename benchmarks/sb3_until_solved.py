"""Stable-Baselines3's side of the solve-time benchmarks: callbacks that stop training
once the mean of the last 100 episode returns, or of a greedy evaluation, reaches a
threshold, timing training only."""

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


def until_greedy_eval(env_id: str, seed: int, threshold: float, every: int, episodes: int):
    """An SB3 callback: every ``every`` env steps, ``episodes`` deterministic episodes on
    an env of its own (new starts each time, off the clock); training stops at the first
    evaluation whose mean reaches ``threshold``. After ``learn``, ``result`` holds solved,
    seconds, steps and the evaluations' means."""
    import gymnasium as gym
    import numpy as np
    from stable_baselines3.common.callbacks import BaseCallback

    class GreedyEval(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.env = gym.make(env_id)
            self.spent = 0.0  # evaluation time, taken off the clock
            self.start = 0.0
            self.result: dict = {"solved": False, "seconds": None, "steps": None, "evals": []}

        def _on_training_start(self) -> None:
            self.start = time.perf_counter()

        def _on_step(self) -> bool:
            if self.num_timesteps % every:
                return True
            began = time.perf_counter()
            returns = []
            for episode in range(episodes):
                obs, _ = self.env.reset(seed=10_000 * (seed + 1) + self.num_timesteps + episode)
                total, done = 0.0, False
                while not done:
                    action, _ = self.model.predict(np.asarray(obs), deterministic=True)
                    obs, reward, terminated, truncated, _ = self.env.step(action)
                    total += float(reward)
                    done = terminated or truncated
                returns.append(total)
            self.spent += time.perf_counter() - began
            mean = sum(returns) / len(returns)
            self.result["evals"].append(round(mean, 1))
            if mean >= threshold:
                self.result.update(solved=True, steps=self.num_timesteps,
                                   seconds=time.perf_counter() - self.start - self.spent)
                return False
            return True

    return GreedyEval()

