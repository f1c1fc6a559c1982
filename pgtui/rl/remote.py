"""A Trainer in its own process: both cores work and a crash cannot take the caller down.

The parent sends commands through one queue and reads coalesced event batches from
another. The child writes the metrics file itself, so nothing is lost to batching.
Measured on the 2-core machine (benchmarks/ui_overhead.py): a Trainer in a thread of the
Textual app ran at 0.38x its headless speed with 600 ms key latency, because the two
share one GIL; in its own process it keeps its speed and the screen stays responsive.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

from .events import Command, Event, EventBatcher, RunError, Stop, Stopped

_CONTEXT = mp.get_context("spawn")  # no fork of a process that runs threads


def _child_main(config_data: dict, commands, batches, snapshot_hz: float, hz: float,
                metrics_path: str | None) -> None:
    import torch

    from ..config import from_mapping
    from ..metrics import MetricsWriter
    from .trainer import Trainer

    torch.set_num_threads(1)
    batcher = EventBatcher(batches.put, hz)
    writer = MetricsWriter(metrics_path) if metrics_path else None

    def emit(event: Event) -> None:
        if writer is not None:
            writer(event)
        batcher(event)

    try:
        trainer = Trainer(from_mapping(config_data, "run"), emit, snapshot_hz=snapshot_hz,
                      pause_on_diverge=True)
    except Exception as err:  # a bad env or device: report it, end cleanly
        emit(RunError(f"cannot start: {' '.join(str(err).split())}", fatal=True))
        emit(Stopped("error", 0))
        batches.put(None)
        return
    stop = threading.Event()

    def relay() -> None:
        while not stop.is_set():
            command = commands.get()
            if command is None or isinstance(command, Stop):
                stop.set()
            else:
                trainer.submit(command)

    threading.Thread(target=relay, daemon=True).start()
    try:
        trainer.run(stop)
    finally:
        if writer is not None:
            writer.close()
        batches.put(None)  # the end of the stream


def prepare() -> None:
    """Start multiprocessing's helper process now, while stderr is still a real file.

    Call before a TUI takes over the terminal: the helper is started with the caller's
    stderr descriptor, which a Textual app replaces with one that has none.
    """
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


class RemoteTrainer:
    """Start with ``start()``, talk with ``submit()``, listen with ``batches()``."""

    def __init__(self, config, *, snapshot_hz: float = 0.0, hz: float = 20.0,
                 metrics_path: Path | None = None) -> None:
        self._commands = _CONTEXT.Queue()
        self._batches = _CONTEXT.Queue()
        self._process = _CONTEXT.Process(
            target=_child_main, daemon=True,
            args=(dataclasses.asdict(config), self._commands, self._batches, snapshot_hz, hz,
                  str(metrics_path) if metrics_path else None))

    def start(self) -> None:
        self._process.start()

    @property
    def pid(self) -> int | None:
        """The training process's id (for benchmarks that watch its memory)."""
        return self._process.pid

    def submit(self, command: Command) -> None:
        self._commands.put(command)

    def stop(self) -> None:
        """Ask the run to stop at its next update boundary."""
        self._commands.put(Stop())

    def batches(self, poll_s: float = 0.5) -> Iterator[tuple[Event, ...]]:
        """Event batches until the run ends; a dead child ends the stream with an error."""
        while True:
            try:
                batch = self._batches.get(timeout=poll_s)
            except queue.Empty:
                if not self._process.is_alive():
                    code = self._process.exitcode
                    yield (RunError(f"the training process died (exit code {code})", fatal=True),
                           Stopped("error", 0))
                    return
                continue
            if batch is None:
                return
            yield batch

    def join(self, timeout: float = 10.0) -> None:
        """Wait for the child to exit; kill it if it will not."""
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(1.0)


def _group_child_main(variant: str, configs_data: list[dict], commands, reports,
                      metrics_dir: str | None, resume: list[dict | None] | None,
                      report_hz: float, reference: dict | None) -> None:
    import signal

    import torch

    from ..config import from_mapping
    from ..metrics import MetricsWriter
    from .group import SeedGroup, seed_dir

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl+c reaches the parent, which stops us
    torch.set_num_threads(1)
    configs = [from_mapping(c, f"variant {variant}") for c in configs_data]
    writers = []
    if metrics_dir:
        for config in configs:
            folder = seed_dir(Path(metrics_dir), variant, config.seed)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "config.toml").write_text(config.to_toml(), encoding="utf-8")
            writers.append(MetricsWriter(folder / "metrics.jsonl"))
    try:
        group = SeedGroup(variant, configs, reports.put, report_hz=report_hz,
                          sinks=writers or None, resume=resume, reference=reference)
    except Exception as err:  # a bad env or device: report it, end cleanly
        reports.put(RunError(f"{variant}: cannot start: {' '.join(str(err).split())}", fatal=True))
        reports.put(None)
        return
    stop = threading.Event()

    def relay() -> None:
        while not stop.is_set():
            command = commands.get()
            if command is None or isinstance(command, Stop):
                stop.set()
            else:
                group.submit(command)

    threading.Thread(target=relay, daemon=True).start()
    try:
        group.run(stop)
    finally:
        for writer in writers:
            writer.close()
        reports.put(None)


class RemoteGroup:
    """A ``SeedGroup`` in its own process; ``reports()`` yields its ``GroupReport``s (and a
    ``RunError`` if it could not start or died)."""

    def __init__(self, variant: str, configs: list, *, metrics_dir: Path | None = None,
                 resume: list[dict | None] | None = None, report_hz: float = 5.0,
                 reference: dict | None = None) -> None:
        self.variant = variant
        self._commands = _CONTEXT.Queue()
        self._reports = _CONTEXT.Queue()
        self._process = _CONTEXT.Process(
            target=_group_child_main, daemon=True,
            args=(variant, [dataclasses.asdict(c) for c in configs], self._commands,
                  self._reports, str(metrics_dir) if metrics_dir else None, resume, report_hz,
                  reference))

    def start(self) -> None:
        self._process.start()

    def submit(self, command: Command) -> None:
        self._commands.put(command)

    def stop(self) -> None:
        self._commands.put(Stop())

    def reports(self, poll_s: float = 0.5) -> Iterator:
        while True:
            try:
                report = self._reports.get(timeout=poll_s)
            except queue.Empty:
                if not self._process.is_alive():
                    code = self._process.exitcode
                    yield RunError(f"{self.variant}: the training process died (exit code {code})",
                                   fatal=True)
                    return
                continue
            if report is None:
                return
            yield report

    def join(self, timeout: float = 10.0) -> None:
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(1.0)
