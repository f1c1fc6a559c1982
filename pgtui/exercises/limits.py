"""How long one call of a student's code may run: an endless loop in a loss pauses the
run (as any error in the answer does) instead of holding its process for ever."""

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


class CodeTimeout(Exception):
    """A call of the answer's code ran past its time."""


def code_seconds() -> float:
    return float(os.environ.get(SECONDS_VAR) or DEFAULT_CODE_SECONDS)


@contextlib.contextmanager
def time_limit(seconds: float | None = None) -> Iterator[None]:
    """Raise CodeTimeout in the block once it has run ``seconds`` (the configured limit by
    default). A Python loop is stopped between two of its steps; a signal only reaches the
    main thread, so elsewhere the block runs unbounded."""
    seconds = code_seconds() if seconds is None else seconds
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame) -> None:
        raise CodeTimeout(f"ran past the {seconds:g} s one call may take (an endless loop?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
