"""What the Trainer tells the world, and what the world may ask of it.

Events are frozen dataclasses, safe to hand across threads. Commands go into the
Trainer's inbox and are applied between updates, never in the middle of one.
"""

from __future__ import annotations

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
class Snapshot:
    """Env 0 as the policy sees it: observation, action distribution and V(s)."""

    global_step: int
    obs: tuple[float, ...]
    probs: tuple[float, ...] | None  # discrete actions
    mean: tuple[float, ...] | None  # continuous actions
    std: tuple[float, ...] | None
    value: float | None


@dataclass(frozen=True)
class ChangeApplied:
    global_step: int
    update: int
    key: str
    old: Any
    new: Any


@dataclass(frozen=True)
class StepCompared:
    """After a single step (StepOnce): the policy on one state, before and after."""

    update: int
    obs: tuple[float, ...]
    before: tuple[float, ...]
    after: tuple[float, ...]


@dataclass(frozen=True)
class Solved:
    global_step: int
    episode: int
    wall_s: float
    last100_mean: float


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


@dataclass(frozen=True)
class Stopped:
    reason: str  # finished | stopped | solved | diverged | error | updates
    global_step: int


Event = (EpisodesFinished | UpdateFinished | Snapshot | ChangeApplied | StepCompared | Solved
         | StatusChanged | CheckpointSaved | RunError | Stopped)


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
