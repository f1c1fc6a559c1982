"""One seed of a run: its progress, its random generators, its episodes and when it is
done, and what a checkpoint keeps of them, so that a resumed seed goes on exactly as
the uninterrupted one would."""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import torch

from .evaluation import Evaluator
from .events import EpisodesFinished, Evaluated, Event, RunError, Solved, UpdateFinished
from .networks import SeedNets
from .seeding import SeedStreams

SOLVE_WINDOW = 100  # episodes in the "last-100 mean"

Emit = Callable[[Event], None]
Episode = tuple[float, int, int, int]  # return, length, env step and learned step at its end


@dataclasses.dataclass
class SeedRun:
    """One seed's progress, random generators and where its events go."""

    streams: SeedStreams  # every random stream of the seed derives from it
    emit: Emit
    generator: torch.Generator  # action sampling, on the run's device
    cpu_generator: torch.Generator  # PPO's minibatch shuffles
    evaluator: Evaluator | None = None  # its greedy evaluations, if the run has them
    update: int = 0
    episodes: int = 0
    train_seconds: float = 0.0
    solved: Solved | None = None
    status: str = "running"  # running | diverged | error
    recent_returns: deque = dataclasses.field(default_factory=lambda: deque(maxlen=SOLVE_WINDOW))

    @property
    def seed(self) -> int:
        return self.streams.seed

    @property
    def last100_mean(self) -> float:
        return sum(self.recent_returns) / len(self.recent_returns) if self.recent_returns else math.nan

    def close(self) -> None:
        """Close what the seed holds of its own: its evaluation envs."""
        if self.evaluator is not None:
            self.evaluator.close()

    def fail(self, message: str) -> None:
        """The seed ends with an error (the run's other seeds go on)."""
        self.emit(RunError(message, fatal=True))
        self.status = "error"

    def record_episodes(self, finished: list[Episode], env_steps: int, threshold: float | None) -> None:
        """Count and emit the episodes that ended; solved at the exact episode whose end
        brought the last-100 mean to ``threshold``."""
        if not finished:
            return
        solved = None
        for ret, _, env_step, learned_step in finished:
            self.episodes += 1
            self.recent_returns.append(ret)
            if (solved is None and self.solved is None and threshold is not None
                    and len(self.recent_returns) >= SOLVE_WINDOW and self.last100_mean >= threshold):
                solved = Solved(env_step, self.episodes, self.train_seconds, self.last100_mean,
                                learned_step)
        self.emit(EpisodesFinished(env_steps, tuple(f[0] for f in finished),
                                   tuple(f[1] for f in finished)))
        if solved is not None:
            self.solved = solved
            self.emit(solved)

    def evaluate_if_due(self, nets: SeedNets, i: int, env_steps: int, learned_steps: int,
                        threshold: float | None) -> None:
        """Seed ``i``'s greedy evaluation when one is due; solved if its mean reaches
        ``threshold`` first."""
        if self.evaluator is None or self.status != "running" or not self.evaluator.due(env_steps):
            return
        returns = self.evaluator.run(nets, i)
        mean = sum(returns) / len(returns)
        self.emit(Evaluated(env_steps, mean, tuple(returns)))
        if self.solved is None and threshold is not None and mean >= threshold:
            self.solved = Solved(env_steps, self.episodes, self.train_seconds, mean, learned_steps,
                                 by="eval")
            self.emit(self.solved)

    def report_update(self, stats: dict[str, float], env_steps: int, learned_steps: int, lr: float) -> None:
        """Count an update and emit its figures with the seed's progress."""
        self.update += 1
        stats.update({"global_step": env_steps, "learned_steps": learned_steps, "update": self.update,
                      "episodes": self.episodes, "lr": lr, "last100_mean": self.last100_mean,
                      "wall_s": self.train_seconds,
                      "sps": env_steps / self.train_seconds if self.train_seconds > 0 else 0.0})
        self.emit(UpdateFinished(self.update, env_steps, stats))

    def end_reason(self, env_steps: int, total_steps: int, max_updates: int | None,
                   until_solved: bool) -> str | None:
        """Why this seed is done (diverged, error, updates, solved, finished), or None
        while it goes on."""
        if self.status != "running":
            return self.status
        if max_updates is not None and self.update >= max_updates:
            return "updates"
        if until_solved and self.solved is not None:
            return "solved"
        return "finished" if env_steps >= total_steps else None

    def state_dict(self) -> dict[str, Any]:
        """The seed's own part of a checkpoint's ``run``: generators and progress."""
        return {"generator": self.generator.get_state(), "cpu_generator": self.cpu_generator.get_state(),
                "recent_returns": list(self.recent_returns), "train_seconds": self.train_seconds,
                "solved": dataclasses.asdict(self.solved) if self.solved is not None else None,
                "evaluations": self.evaluator.done if self.evaluator is not None else 0}

    def load_state_dict(self, saved: dict[str, Any], meta: dict[str, Any]) -> None:
        self.generator.set_state(saved["generator"])
        self.cpu_generator.set_state(saved["cpu_generator"])
        self.update, self.episodes = int(meta["update"]), int(meta["episodes"])
        self.recent_returns.clear()
        self.recent_returns.extend(saved["recent_returns"])
        self.train_seconds = float(saved["train_seconds"])
        self.solved = Solved(**saved["solved"]) if saved["solved"] is not None else None
        if self.evaluator is not None:
            self.evaluator.done = int(saved.get("evaluations", 0))
