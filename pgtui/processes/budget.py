"""How many processes a session may run at once, how many cores they get, and the
priority a served session's training runs at."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .remote import _Child

#: set by the server for a served session: the most processes it may run at once
MAX_PROCESSES_VAR = "PGTUI_MAX_PROCESSES"


class TooManyProcesses(RuntimeError):
    """This session runs as many processes as it may."""


_live: set[_Child] = set()  # the children started here, until seen ended
_live_lock = threading.Lock()  # runs start from the screen's thread and from workers


def count_started(child: _Child) -> None:
    """Count ``child`` among the processes that run, until it is seen ended."""
    with _live_lock:
        _live.add(child)


def live_processes() -> int:
    """How many of the processes started here still run."""
    with _live_lock:
        _live.difference_update([child for child in _live if not child.alive])
        return len(_live)


def room() -> int | None:
    """How many more processes this session may start now: its cap
    (``MAX_PROCESSES_VAR``) less those that run; None outside a served session."""
    cap = os.environ.get(MAX_PROCESSES_VAR)
    return max(int(cap) - live_processes(), 0) if cap else None


def check_room(needed: int = 1) -> None:
    """Raise ``TooManyProcesses`` where ``needed`` more processes would pass the cap."""
    left = room()
    if left is not None and needed > left:
        cap = os.environ[MAX_PROCESSES_VAR]
        raise TooManyProcesses(
            f"this session runs {int(cap) - left} training processes and may run at most {cap} "
            f"at once; this needs {needed} more: close a race or a sweep first")


def race_threads(variants: int) -> int:
    """Torch threads for each of a race's ``variants`` processes: the cores shared out,
    at most 2. A variant's seeds update as one batched network whose (seeds, 256, 64)
    matmuls gain from a second thread (8 seeds on 2 cores: about 20% off the update,
    benchmarks/batched_seeds.py); more were never measured. One seed's tiny matmuls only
    lose to threads, so a single run keeps one."""
    return max(1, min(2, available_cores() // max(variants, 1)))


def available_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


TRAINER_NICE_VAR = "PGTUI_TRAINER_NICE"
