"""What the screen shows of a run, folded from Trainer events; bounded memory."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..rl.events import (
    ChangeApplied,
    CodeReloaded,
    EpisodesFinished,
    Evaluated,
    Event,
    RunError,
    Snapshot,
    Solved,
    StatusChanged,
    StepCompared,
    Stopped,
    UpdateFinished,
)

CURVE_CAPACITY = 20_000  # episode returns kept for the plot
MARK_CAPACITY = 200  # change marks kept for the plot
SERIES_CAPACITY = 2_000  # updates of a task's series (the dialogue's proxy and true reward) kept


@dataclass
class RunState:
    """Ring buffers and latest values; ``apply`` is the only way in."""

    status: str = "starting"
    returns: deque = field(default_factory=lambda: deque(maxlen=CURVE_CAPACITY))
    recent: deque = field(default_factory=lambda: deque(maxlen=100))
    episodes: int = 0
    best: float = -math.inf
    global_step: int = 0
    stats: dict = field(default_factory=dict)
    snapshot: Snapshot | None = None
    step_compare: StepCompared | None = None
    marks: deque = field(default_factory=lambda: deque(maxlen=MARK_CAPACITY))  # (episode, text)
    solved: Solved | None = None
    # greedy evaluations (``eval_every``): (episodes finished by then, env step, mean return)
    evaluations: deque = field(default_factory=lambda: deque(maxlen=SERIES_CAPACITY))
    error: str | None = None
    code_note: str | None = None  # the last word on an answer's code: a version taken, or its error
    paused_by_error: bool = False  # paused by an update that raised, not by the user
    # a task's figures per update (``TaskSpec.progress``), by stat key
    series: dict[str, deque] = field(default_factory=dict)

    @classmethod
    def keeping(cls, keys: Sequence[str]) -> RunState:
        """A state that also keeps the stats ``keys`` per update."""
        return cls(series={key: deque(maxlen=SERIES_CAPACITY) for key in keys})

    @property
    def mean100(self) -> float | None:
        return sum(self.recent) / len(self.recent) if self.recent else None

    @property
    def sps(self) -> float:
        return float(self.stats.get("sps", 0.0))

    def apply(self, event: Event) -> None:
        if isinstance(event, EpisodesFinished):
            self.returns.extend(event.returns)
            self.recent.extend(event.returns)
            self.episodes += len(event.returns)
            self.best = max(self.best, *event.returns)
            self.global_step = max(self.global_step, event.global_step)
        elif isinstance(event, UpdateFinished):
            self.stats = event.stats
            self.global_step = event.global_step
            for key, values in self.series.items():
                if key in event.stats:
                    values.append(event.stats[key])
            if self.status == "starting":
                self.status = "running"
        elif isinstance(event, Snapshot):
            self.snapshot = event
        elif isinstance(event, StepCompared):
            self.step_compare = event
        elif isinstance(event, ChangeApplied):
            self.marks.append((self.episodes, f"{event.key}: {event.old} -> {event.new}"))
        elif isinstance(event, CodeReloaded):
            self.marks.append((self.episodes, f"{event.source} v{event.version}"))
            self.code_note = f"{event.source}: version {event.version} trains from update {event.update}"
        elif isinstance(event, Evaluated):
            self.evaluations.append((self.episodes, event.global_step, event.mean_return))
        elif isinstance(event, Solved):
            self.solved = event
            self.marks.append((event.episode, "solved"))
        elif isinstance(event, StatusChanged):
            self.status = "running" if event.status == "stepping" else event.status
            self.paused_by_error = self.paused_by_error and self.status == "paused"
        elif isinstance(event, RunError):
            if event.fatal:
                self.error = event.message
                self.status = "error"
            elif not event.diverged:
                self.code_note = event.message
                self.paused_by_error = event.paused
        elif isinstance(event, Stopped):
            if event.reason in ("diverged", "error"):
                self.status = "error"
            elif self.status != "error":
                self.status = "stopped" if event.reason == "stopped" else "finished"
