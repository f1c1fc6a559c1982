"""The parent's handles on its training, variant and watch processes."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import lockdown
from ..rl.events import Command, Event, RunError, Stop, Stopped
from .budget import check_room, count_started
from .child import _player_main, _trainer_main, _variant_main

_CONTEXT = mp.get_context("spawn")  # no fork of a process that runs threads


def prepare() -> None:
    """Start multiprocessing's helper process now, while stderr is still a real file.

    Call before a TUI takes over the terminal: the helper is started with the caller's
    stderr descriptor, which a Textual app replaces with one that has none.
    """
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


class _Child:
    """A spawned process with a command queue in and a report queue out."""

    def __init__(self, target: Callable, args: tuple) -> None:
        self._commands = _CONTEXT.Queue()
        self._out = _CONTEXT.Queue()
        self._process = _CONTEXT.Process(target=target, daemon=True,
                                         args=(self._commands, self._out, *args))

    def start(self) -> None:
        """Start the process; ``TooManyProcesses`` if the session runs all it may."""
        check_room(1)
        self._process.start()
        count_started(self)

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    @property
    def pid(self) -> int | None:
        """The training process's id (for benchmarks that watch its memory)."""
        return self._process.pid

    def submit(self, command: Command) -> None:
        self._commands.put(command)

    def stop(self) -> None:
        """Ask the training to stop at its next update boundary, where it flushes its
        files. A served session's run is ended outright: it writes no files, and at low
        priority on busy cores it may take long to reach its next update (one visitor's
        replaced runs would pile up)."""
        if lockdown.served():
            self.kill()
        else:
            self._commands.put(Stop())

    def _stream(self, poll_s: float, on_death: Callable[[int | None], Any]) -> Iterator:
        """What the child reports until it ends; a dead child ends it with ``on_death``."""
        while True:
            try:
                item = self._out.get(timeout=poll_s)
            except queue.Empty:
                if not self._process.is_alive():
                    yield on_death(self._process.exitcode)
                    return
                continue
            if item is None:
                return
            yield item

    def kill(self) -> None:
        """End the child now: for one that holds nothing to flush (a spare)."""
        if self._process.pid is not None:
            self._process.kill()
            self._process.join(1.0)

    def join(self, timeout: float = 10.0) -> None:
        """Wait for the child to exit; kill it if it will not."""
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(1.0)


class RemoteTrainer(_Child):
    """A training process: ``start()`` it (it imports torch, then waits), hand it its run
    with ``begin()``, talk with ``submit()``, listen with ``batches()``. Started ahead of
    time, it begins a run at once (the playground keeps one spare)."""

    def __init__(self) -> None:
        super().__init__(_trainer_main, ())

    def begin(self, config, *, snapshot_hz: float = 0.0, hz: float = 20.0,
              metrics_path: Path | None = None) -> None:
        self._commands.put((dataclasses.asdict(config), snapshot_hz, hz,
                            str(metrics_path) if metrics_path else None))

    def batches(self, poll_s: float = 0.5) -> Iterator[tuple[Event, ...]]:
        """Event batches until the run ends; a dead child ends the stream with an error."""
        return self._stream(poll_s, lambda code: (
            RunError(f"the training process died (exit code {code})", fatal=True, died=True),
            Stopped("error", 0)))


class RemotePlayer(_Child):
    """Watch mode in a process of its own: the screen's process never imports torch.
    ``frames()`` yields (obs, pi summary, episode return, episodes), or a ``RunError``."""

    def __init__(self, path: str) -> None:
        super().__init__(_player_main, (path,))

    def frames(self, poll_s: float = 0.1) -> Iterator:
        return self._stream(poll_s, lambda code: RunError(
            f"the watch process died (exit code {code})", fatal=True))


def relay(remote: RemoteVariant, inbox: queue.SimpleQueue, key: Any) -> threading.Thread:
    """Pass ``remote``'s reports into ``inbox`` as (key, report) from a thread of its own,
    then (key, None) once its process has ended."""
    def pump() -> None:
        for item in remote.reports():
            inbox.put((key, item))
        inbox.put((key, None))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


class RemoteVariant(_Child):
    """A ``VariantRun`` in its own process; ``reports()`` yields its ``VariantReport``s (and a
    ``RunError`` if it could not start or died)."""

    def __init__(self, variant: str, configs: list, *, metrics_dir: Path | None = None,
                 resume: list[dict | None] | None = None, report_hz: float = 5.0,
                 reference: dict | None = None, threads: int = 1,
                 tensorboard: str | Path | None = None) -> None:
        self.variant = variant
        super().__init__(_variant_main, (variant, [dataclasses.asdict(c) for c in configs],
                                       str(metrics_dir) if metrics_dir else None, resume,
                                       report_hz, reference, threads,
                                       str(tensorboard) if tensorboard else None))

    def reports(self, poll_s: float = 0.5) -> Iterator:
        return self._stream(poll_s, lambda code: RunError(
            f"{self.variant}: the training process died (exit code {code})", fatal=True,
            died=True))
