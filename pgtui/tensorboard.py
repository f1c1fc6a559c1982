"""TensorBoard scalars, under the names SB3 and CleanRL use, for `--tensorboard DIR`.

One writer per run (per trial in compare and sweep), through ``torch.utils.tensorboard``,
which needs the ``tensorboard`` package: ``pip install 'pgtui[tensorboard]'``. Every
scalar is logged against the env steps taken (``global_step``).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from . import tasks  # noqa: F401  (registers the tasks' figures)
from .config import ConfigError
from .rl.events import EpisodesFinished, Evaluated, Event, UpdateFinished
from .rl.schema import every_stat

#: update figures under the names CleanRL's scripts write (SB3 writes the same quantities
#: under train/...), as the schema gives them (``Stat.board``); anything else numeric goes
#: under pgtui/<key>
NAMES = {key: s.board for key, s in every_stat().items() if s.board}
#: bookkeeping, not measurements
SKIPPED = frozenset({"global_step", "learned_steps", "update", "episodes", "wall_s"})


def require_tensorboard() -> None:
    """A one-line error, before anything runs, when the extra is not installed."""
    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("--tensorboard needs the tensorboard package: "
                          "pip install 'pgtui[tensorboard]'")


class TensorBoardSink:
    """Trainer events in, TensorBoard scalars out (one run's folder)."""

    def __init__(self, logdir: str | Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(logdir), flush_secs=5)

    def __call__(self, event: Event) -> None:
        if isinstance(event, EpisodesFinished):
            for ret, length in zip(event.returns, event.lengths, strict=False):
                self.writer.add_scalar("charts/episodic_return", ret, event.global_step)
                self.writer.add_scalar("charts/episodic_length", length, event.global_step)
        elif isinstance(event, UpdateFinished):
            step = int(event.stats.get("global_step", 0))
            for key, value in event.stats.items():
                if key in SKIPPED or not isinstance(value, int | float) or not math.isfinite(value):
                    continue
                self.writer.add_scalar(NAMES.get(key, f"pgtui/{key}"), value, step)
        elif isinstance(event, Evaluated):
            self.writer.add_scalar("eval/mean_reward", event.mean_return, event.global_step)

    def close(self) -> None:
        self.writer.close()
