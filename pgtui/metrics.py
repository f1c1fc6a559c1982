"""Metrics as JSON Lines: one object per line, flushed as written.

A run killed at any moment leaves a file whose every complete line parses. Names follow
CleanRL/SB3 (``episodic_return``, ``policy_loss``, ``approx_kl``...). Every record has a
``type``: episode, update, change, solved, error or stopped.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, TextIO

from .rl.events import (
    ChangeApplied,
    CodeReloaded,
    EpisodesFinished,
    Evaluated,
    Event,
    RunError,
    Solved,
    Stopped,
    UpdateFinished,
)

#: Fields that measure the clock, not the learning; they differ between identical runs.
WALL_CLOCK_FIELDS = frozenset({"wall_s", "sps"})


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsWriter:
    """Turns Trainer events into JSON Lines records."""

    def __init__(self, path: str | Path, episodes_before: int = 0) -> None:
        self.path = Path(path)
        self._file: TextIO = self.path.open("a", encoding="utf-8")
        self._start = time.perf_counter()
        self._episode = episodes_before  # a resumed run numbers its episodes on

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps({k: _finite(v) for k, v in record.items()}) + "\n")
        self._file.flush()

    def __call__(self, event: Event) -> None:
        wall = time.perf_counter() - self._start
        if isinstance(event, EpisodesFinished):
            for ret, length in zip(event.returns, event.lengths, strict=False):
                self._episode += 1
                self.write({"type": "episode", "global_step": event.global_step,
                            "episode": self._episode, "episodic_return": ret,
                            "episodic_length": length, "wall_s": wall})
        elif isinstance(event, UpdateFinished):
            self.write({"type": "update", **event.stats})
        elif isinstance(event, ChangeApplied):
            self.write({"type": "change", "global_step": event.global_step,
                        "update": event.update, "key": event.key, "old": event.old,
                        "new": event.new, "wall_s": wall})
        elif isinstance(event, CodeReloaded):
            self.write({"type": "code", "global_step": event.global_step, "update": event.update,
                        "source": event.source, "version": event.version, "wall_s": wall})
        elif isinstance(event, Solved):
            self.write({"type": "solved", "global_step": event.global_step,
                        "learned_step": event.learned_step, "episode": event.episode,
                        "last100_mean": event.last100_mean, "by": event.by,
                        "wall_s": event.wall_s})
        elif isinstance(event, Evaluated):
            self.write({"type": "eval", "global_step": event.global_step,
                        "mean_return": event.mean_return, "returns": list(event.returns),
                        "wall_s": wall})
        elif isinstance(event, RunError):
            self.write({"type": "error", "message": event.message, "fatal": event.fatal,
                        "wall_s": wall})
        elif isinstance(event, Stopped):
            self.write({"type": "stopped", "reason": event.reason,
                        "global_step": event.global_step, "wall_s": wall})

    def close(self) -> None:
        self._file.close()


def cut_after(path: str | Path, global_step: int) -> int:
    """Keep the records up to the first one past ``global_step``; returns how many were cut.

    A resumed run starts from a checkpoint taken at ``global_step`` and writes again what
    came after it. The file is rewritten beside itself and renamed into place.
    """
    path = Path(path)
    if not path.exists():
        return 0
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            break  # a torn last line
        if (record.get("global_step") or 0) > global_step:
            break
        kept.append(line)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    os.replace(tmp, path)
    return len(lines) - len(kept)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Every complete record of a metrics file (a torn last line is skipped)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
