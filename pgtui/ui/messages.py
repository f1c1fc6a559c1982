"""Messages from the training and watching threads to the app."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message

from ..rl.events import (
    ChangeApplied,
    CheckpointSaved,
    EpisodesFinished,
    Event,
    RunError,
    Snapshot,
    Solved,
    StatusChanged,
    StepCompared,
    Stopped,
    UpdateFinished,
)

URGENT = (StatusChanged, ChangeApplied, StepCompared, Solved, RunError, CheckpointSaved, Stopped)


@dataclass
class TrainerEvents(Message):
    """A batch of events from run ``run_id``, coalesced to what a screen can show."""

    run_id: int
    events: tuple[Event, ...]


@dataclass
class WatchFrame(Message):
    """One frame of the watch mode: the state, the action distribution and the return."""

    obs: tuple[float, ...]
    probs: tuple[float, ...] | None
    episode_return: float
    episodes: int


class EventThrottle:
    """Called in the trainer's thread; posts at most ``hz`` batches a second.

    A newer snapshot or update replaces a pending one; episode returns are merged, never
    dropped; status, changes and errors go out at once.
    """

    def __init__(self, post: Callable[[Message], object], run_id: int, hz: float = 20.0) -> None:
        self.post, self.run_id, self.period = post, run_id, 1.0 / hz
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._next = 0.0

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._add(event)
            now = time.monotonic()
            if not isinstance(event, URGENT) and now < self._next:
                return
            self._next = now + self.period
            batch, self._pending = tuple(self._pending), []
        self.post(TrainerEvents(self.run_id, batch))

    def _add(self, event: Event) -> None:
        pending = self._pending
        if isinstance(event, (Snapshot, UpdateFinished)):
            pending[:] = [e for e in pending if type(e) is not type(event)]
        elif isinstance(event, EpisodesFinished):
            for i, e in enumerate(pending):
                if isinstance(e, EpisodesFinished):
                    pending[i] = EpisodesFinished(event.global_step, e.returns + event.returns,
                                                  e.lengths + event.lengths)
                    return
        pending.append(event)
