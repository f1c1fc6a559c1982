"""What the Trainer tells the world, and what the world may ask of it.

Events are frozen dataclasses, safe to hand across threads. Commands go into the
Trainer's inbox and are applied between updates, never in the middle of one.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EpisodesFinished:
    """Every episode that ended since the last such event (batched, never dropped)."""

    global_step: int
    returns: tuple[float, ...]
    lengths: tuple[int, ...]


@dataclass(frozen=True)
class UpdateFinished:
    update: int
    global_step: int
    stats: dict[str, float] = field(hash=False)


@dataclass(frozen=True)
class DiscretePolicy:
    """A policy over discrete actions: pi(.|s), and V(s) where it has a critic."""

    probs: tuple[float, ...]
    value: float | None = None
    #: a tabular env: pi at every state, drawn as arrows
    table: tuple[tuple[float, ...], ...] | None = None


@dataclass(frozen=True)
class GaussianPolicy:
    """A diagonal Gaussian policy: its mean and std per action dimension, and V(s)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    value: float | None = None


@dataclass(frozen=True)
class EpsilonGreedy:
    """DQN: Q(s, .) and the probabilities of the epsilon-greedy policy it acts by."""

    q: tuple[float, ...]
    probs: tuple[float, ...]
    #: a tabular env: Q at every state, drawn as arrows
    table: tuple[tuple[float, ...], ...] | None = None


@dataclass(frozen=True)
class TwinCritics:
    """SAC: its Gaussian's mean and std (before squashing) and its twin critics' Q1, Q2
    at the mean action."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    q: tuple[float, ...]


#: the policy's view of one state, as its algorithm has it
PolicyView = DiscretePolicy | GaussianPolicy | EpsilonGreedy | TwinCritics


@dataclass(frozen=True)
class HiddenState:
    """An env whose states look alike to the policy (the corridor): env 0's true state."""

    index: int


@dataclass(frozen=True)
class LastEpisode:
    """A task that shows it (the dialogue): the last finished episode's final observation."""

    final: tuple[float, ...]


#: what an env adds to its observation for the drawing
EnvDetail = HiddenState | LastEpisode


@dataclass(frozen=True)
class Scene:
    """What the env pane draws of env 0: its observation and what its env adds to it."""

    obs: tuple[float, ...]
    detail: EnvDetail | None = None


@dataclass(frozen=True)
class Snapshot:
    """Env 0 as the policy sees it: the scene drawn, and the policy's view of it."""

    global_step: int
    scene: Scene
    policy: PolicyView


@dataclass(frozen=True)
class ChangeApplied:
    global_step: int
    update: int
    key: str
    old: Any
    new: Any


@dataclass(frozen=True)
class CodeReloaded:
    """The learner's code was saved anew and trains from this update on (an exercise's
    answer, reloaded live); ``version`` counts the versions that trained."""

    global_step: int
    update: int
    source: str  # the file's name
    version: int


@dataclass(frozen=True)
class StepCompared:
    """After a single step (StepOnce): the policy on one state, before and after."""

    update: int
    obs: tuple[float, ...]
    before: tuple[float, ...]
    after: tuple[float, ...]


@dataclass(frozen=True)
class Solved:
    """Solved: the last-100 mean first reached the threshold at the end of episode
    ``episode``, or (by = "eval") a greedy evaluation's mean did."""

    global_step: int  # env steps taken when that episode ended
    episode: int
    wall_s: float  # training time up to the update before
    last100_mean: float
    learned_step: int = -1  # steps learned from by then (-1: an older checkpoint's)
    by: str = "last100"  # last100 (training episodes) | eval (a greedy evaluation's mean)


@dataclass(frozen=True)
class Evaluated:
    """A greedy evaluation's episodes (``evaluation.py``)."""

    global_step: int
    mean_return: float
    returns: tuple[float, ...]


@dataclass(frozen=True)
class StatusChanged:
    status: str  # running | paused | stepping


@dataclass(frozen=True)
class CheckpointSaved:
    path: str
    global_step: int


@dataclass(frozen=True)
class RunError:
    """Something went wrong; ``fatal`` means the run cannot go on."""

    message: str
    fatal: bool = False
    diverged: bool = False  # non-finite loss or weights; the update was undone
    died: bool = False  # the training process ended without a word (killed, crashed)
    paused: bool = False  # the run paused on it (an update that raised), to resume once fixed


@dataclass(frozen=True)
class Stopped:
    reason: str  # finished | stopped | solved | diverged | error | updates
    global_step: int


Event = (EpisodesFinished | UpdateFinished | Snapshot | ChangeApplied | CodeReloaded | StepCompared
         | Solved | Evaluated | StatusChanged | CheckpointSaved | RunError | Stopped)


@dataclass(frozen=True)
class SetParam:
    key: str
    value: Any


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class StepOnce:
    """While paused: run exactly one collect + update, then pause again."""


@dataclass(frozen=True)
class SaveCheckpoint:
    path: str


@dataclass(frozen=True)
class Stop:
    pass


Command = SetParam | Pause | Resume | StepOnce | SaveCheckpoint | Stop


URGENT = (StatusChanged, ChangeApplied, StepCompared, Solved, RunError, CheckpointSaved, Stopped)


def drain(inbox: queue.SimpleQueue, apply: Callable[[Command], None], block: bool,
          timeout: float) -> None:
    """Apply every command waiting in ``inbox``, in order; with ``block``, first wait up
    to ``timeout`` seconds for one."""
    while True:
        try:
            command = inbox.get(timeout=timeout) if block else inbox.get_nowait()
        except queue.Empty:
            return
        block = False
        apply(command)


class EventBatcher:
    """Coalesces events into batches for a screen: ``hz`` batches a second at most on
    average, and, urgent events aside, never two within half a period.

    A newer snapshot or update replaces a pending one; episode returns are merged, never
    dropped; status changes, parameter changes, errors and the end go out at once.
    Thread-safe: ``__call__`` may run in the trainer's thread.
    """

    def __init__(self, send: Callable[[tuple[Event, ...]], object], hz: float = 20.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.send, self.period, self.clock = send, 1.0 / hz, clock
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._next = -math.inf

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._add(event)
            now = self.clock()
            if not isinstance(event, URGENT) and now < self._next:
                return
            # the next batch is due one period after this one was due, not after it went
            # out: events on a grid of their own (snapshots at 20 Hz against 15 batches a
            # second) would otherwise wait for every second one, 10 batches a second
            self._next = max(self._next, now - self.period / 2) + self.period
            batch, self._pending = tuple(self._pending), []
        self.send(batch)

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
