"""What a sweep engine tells its caller (the CLI's progress display, the sweep screen)."""

from __future__ import annotations

from dataclasses import dataclass

from ..rl.race.spec import SeedProgress, VariantReport
from .spec import Point


@dataclass(frozen=True)
class PointStarted:
    point: Point
    seeds: tuple[int, ...]
    attempt: int  # 1, then 2, 3... when a dead worker's trials are retried


@dataclass(frozen=True)
class PointProgress:
    """The local engine's running reports: each seed's figures and its new returns."""

    point: Point
    report: VariantReport


@dataclass(frozen=True)
class PointRetried:
    point: Point
    attempt: int  # the attempt that failed
    reason: str


@dataclass(frozen=True)
class PointFinished:
    """A grid point's trials of this session: their final figures, or why there are none."""

    point: Point
    seeds: tuple[SeedProgress, ...]
    error: str | None = None


SweepEvent = PointStarted | PointProgress | PointRetried | PointFinished
