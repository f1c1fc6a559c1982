"""One seed of a run: its progress, its random generators, and what a checkpoint of it
holds, so that a resumed seed goes on exactly as the uninterrupted one would."""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from . import checkpoint, env_state
from .events import Event, Solved
from .streams import SeedStreams

if TYPE_CHECKING:
    from .trainer import Trainer

SOLVE_WINDOW = 100  # episodes in the "last-100 mean"

Emit = Callable[[Event], None]


@dataclasses.dataclass
class SeedRun:
    """One seed's progress, random generators and where its events go."""

    streams: SeedStreams  # every random stream of the seed derives from it
    emit: Emit
    generator: torch.Generator  # action sampling, on the run's device
    cpu_generator: torch.Generator  # PPO's minibatch shuffles
    update: int = 0
    episodes: int = 0
    train_seconds: float = 0.0
    solved: Solved | None = None
    state: str = "running"  # running | diverged | error
    recent_returns: deque = dataclasses.field(default_factory=lambda: deque(maxlen=SOLVE_WINDOW))

    @property
    def seed(self) -> int:
        return self.streams.seed

    @property
    def last100_mean(self) -> float:
        return sum(self.recent_returns) / len(self.recent_returns) if self.recent_returns else math.nan


def capture(trainer: Trainer, i: int) -> dict[str, Any]:
    """Seed ``i``'s checkpoint: tensors, plain config, progress counters, and under
    ``run`` what a resumed run needs to go on exactly as this one would. Tensors,
    numbers and strings only: it loads with ``torch.load(weights_only=True)``."""
    run = trainer.runs[i]
    return {
        "policy": trainer.nets.state_dict(i),
        "optimizer": trainer.optimizer.state_dict(i),
        "config": dataclasses.asdict(trainer.config.replace(seed=run.seed)),
        "meta": {"global_step": trainer.seed_step(i), "update": run.update,
                 "episodes": run.episodes, "env": trainer.config.env},
        "run": {
            "generator": run.generator.get_state(),
            "cpu_generator": run.cpu_generator.get_state(),
            "env": env_state.capture(trainer.collector.envs.envs[i]),
            "collector": trainer.collector.seed_state(i),
            "recent_returns": list(run.recent_returns),
            "train_seconds": run.train_seconds,
            "lr": float(trainer.optimizer.lr[i]),
            "solved": dataclasses.asdict(run.solved) if run.solved is not None else None,
            "evaluations": trainer.evaluators[i].done if trainer.evaluators else 0,
            **({"dqn": trainer.dqn.seed_state(i)} if trainer.dqn is not None else {}),
        },
    }


def restore(trainer: Trainer, payload: dict[str, Any], i: int) -> None:
    """Put ``capture``'s checkpoint back into seed ``i`` of a trainer of the same config;
    a checkpoint that does not fit raises ``CheckpointError`` (one line)."""
    if "run" not in payload:
        raise checkpoint.CheckpointError("this checkpoint holds weights only (written by an "
                                         "older pgtui); it cannot be resumed")
    try:
        run, saved = trainer.runs[i], payload["run"]
        trainer.nets.load_state_dict(i, payload["policy"])
        trainer.optimizer.load_state_dict(i, payload["optimizer"])
        trainer.optimizer.set_lr(i, float(saved["lr"]))
        run.generator.set_state(saved["generator"])
        run.cpu_generator.set_state(saved["cpu_generator"])
        env_state.restore(trainer.collector.envs.envs[i], saved["env"])
        trainer.collector.load_seed_state(i, saved["collector"])
        run.update = int(payload["meta"]["update"])
        run.episodes = int(payload["meta"]["episodes"])
        run.recent_returns.clear()
        run.recent_returns.extend(saved["recent_returns"])
        run.train_seconds = float(saved["train_seconds"])
        run.solved = Solved(**saved["solved"]) if saved["solved"] is not None else None
        if trainer.evaluators:
            trainer.evaluators[i].done = int(saved.get("evaluations", 0))
        if trainer.dqn is not None:
            trainer.dqn.load_seed_state(i, saved["dqn"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise checkpoint.CheckpointError(f"checkpoint does not fit its config: {first_line}"
                                         ) from None
