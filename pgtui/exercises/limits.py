"""How long one call of a student's code may run: an endless loop in a loss pauses the
run (as any error in the answer does) instead of holding its process for ever.

The limit counts the process's CPU time, not the clock: on a busy classroom server an
honest call (or the first `import torch` of a cold process) may take ten times its
usual wall time, yet its CPU time stays what it is. A call that waits without computing
(a long sleep) is stopped by the clock, at ``WAIT_FACTOR`` times the limit."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

#: set by `pgtui serve --code-seconds` for a session's processes
SECONDS_VAR = "PGTUI_CODE_SECONDS"
#: the slowest honest call (a chain batch's exact-gradient check) takes well under a second
DEFAULT_CODE_SECONDS = 10.0
#: the clock's limit, in multiples of the CPU time's
WAIT_FACTOR = 6.0


class CodeTimeout(Exception):
    """A call of the answer's code ran past its time."""


def code_seconds() -> float:
    return float(os.environ.get(SECONDS_VAR) or DEFAULT_CODE_SECONDS)


@contextlib.contextmanager
def time_limit(seconds: float | None = None) -> Iterator[None]:
    """Raise CodeTimeout in the block once it has used ``seconds`` of CPU time (the
    configured limit by default), or waited ``WAIT_FACTOR`` times as long by the clock.
    A Python loop is stopped between two of its steps; a signal only reaches the main
    thread, so elsewhere the block runs unbounded."""
    seconds = code_seconds() if seconds is None else seconds
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    waited = seconds * WAIT_FACTOR

    def computed(signum, frame) -> None:
        raise CodeTimeout(f"ran past the {seconds:g} s of CPU time one call may take "
                          "(an endless loop?)")

    def stalled(signum, frame) -> None:
        raise CodeTimeout(f"waited past the {waited:g} s one call may take (a sleep?)")

    timers = ((signal.SIGPROF, signal.ITIMER_PROF, computed, seconds),
              (signal.SIGALRM, signal.ITIMER_REAL, stalled, waited))
    previous = [signal.signal(number, handler) for number, _, handler, _ in timers]
    for _, timer, _, after in timers:
        signal.setitimer(timer, after)
    try:
        yield
    finally:
        for (number, timer, _, _), handler in zip(timers, previous):
            signal.setitimer(timer, 0)
            signal.signal(number, handler)
