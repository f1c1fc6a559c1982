"""Training in a process of its own: both cores work and a crash cannot take the caller down.

The parent sends commands through one queue and reads what the child reports from
another. The child writes the metrics files itself, so nothing is lost to batching.
Measured on the 2-core machine (benchmarks/ui_overhead.py): a Trainer in a thread of the
Textual app ran at 0.38x its headless speed with 600 ms key latency, because the two
share one GIL; in its own process it keeps its speed and the screen stays responsive.

``RemoteTrainer`` runs one ``Trainer`` (the playground); ``RemoteVariant`` runs one
variant's seeds as a ``VariantRun`` (races and ``pgtui compare``), with the torch threads
``race_threads`` gives it; ``RemotePlayer`` plays a saved policy (watch mode).
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import lockdown
from .rl.events import Command, Event, EventBatcher, RunError, Stop, Stopped

_CONTEXT = mp.get_context("spawn")  # no fork of a process that runs threads

#: set by the server for a served session: the most processes it may run at once
MAX_PROCESSES_VAR = "PGTUI_MAX_PROCESSES"


class TooManyProcesses(RuntimeError):
    """This session runs as many processes as it may."""


_live: set[_Child] = set()  # the children started here, until seen ended
_live_lock = threading.Lock()  # runs start from the screen's thread and from workers


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


CHECK_TIMEOUT_S = 120.0  # a check takes seconds (benchmarks/exercise_check.py)
CHECK_OUTPUT = 1024**2  # bytes of a check's verdicts read back


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """What `pgtui exercise check --json` said: its exit code and output, or why none."""

    code: int | None  # None: it ran past its time and was ended
    output: str
    errors: str


def check_answer(path: Path, timeout: float = CHECK_TIMEOUT_S) -> CheckResult:
    """Grade the answer in ``path`` in a process of its own (the answer's code never runs
    in the screen's), at the training's priority, ended past ``timeout``. Its output goes
    to files, of which the first megabyte is read: an answer that prints without end
    fills its own folder, not this process's memory."""
    import subprocess
    import sys
    import tempfile

    argv = [sys.executable, "-m", "pgtui", "exercise", "check", str(path), "--json"]
    if os.environ.get(TRAINER_NICE_VAR):
        argv = ["nice", "-n", os.environ[TRAINER_NICE_VAR], *argv]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = None
        texts = []
        for file in (out, err):
            file.seek(0)
            texts.append(file.read(CHECK_OUTPUT).decode("utf-8", "replace"))
    return CheckResult(code, *texts)


def prepare() -> None:
    """Start multiprocessing's helper process now, while stderr is still a real file.

    Call before a TUI takes over the terminal: the helper is started with the caller's
    stderr descriptor, which a Textual app replaces with one that has none.
    """
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


# -- in the child ---------------------------------------------------------------------------


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
ORPHAN_GRACE_S = 10.0  # a child whose parent died ends its run, then leaves within this
_parent_gone = threading.Event()


def _end_with_parent() -> None:
    """A child outlives a parent that was killed (SIGTERM or SIGKILL run no cleanup), and
    would train on for no one. Once the parent is gone the child's run stops as a Stop
    would (``_relay_commands``), closing its files, and the process leaves after
    ORPHAN_GRACE_S whatever still waits on the dead parent's pipes."""
    from multiprocessing.connection import wait

    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        _parent_gone.set()
        time.sleep(ORPHAN_GRACE_S)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _child_setup(threads: int = 1) -> None:
    import signal

    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl+c reaches the parent, which stops us
    _end_with_parent()
    if lockdown.served():  # a served screen's stdout is its page's stream: a print would break it
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
    torch.set_num_threads(threads)
    # a served session's training yields the cores to the screens (see serving/sessions.py)
    if os.environ.get(TRAINER_NICE_VAR):
        os.nice(int(os.environ[TRAINER_NICE_VAR]))


def _relay_commands(commands, submit: Callable[[Command], None]) -> threading.Event:
    """Pass the parent's commands on from a thread; the returned event is set on Stop."""
    stop = threading.Event()

    def relay() -> None:
        while not stop.is_set():
            command = commands.get()
            if command is None or isinstance(command, Stop):
                stop.set()
            else:
                submit(command)

    def orphaned() -> None:
        _parent_gone.wait()
        stop.set()

    threading.Thread(target=relay, daemon=True).start()
    threading.Thread(target=orphaned, daemon=True).start()
    return stop


def tee(sinks: list) -> Callable[[Event], None]:
    def send(event: Event) -> None:
        for sink in sinks:
            sink(event)
    return send


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


def _trainer_main(commands, batches) -> None:
    """Import the engine (torch: seconds), then wait for the run to train: a process
    started ahead of time begins a run as soon as it is handed one."""
    from .config import from_mapping
    from .metrics import MetricsWriter
    from .rl.trainer import Trainer

    _child_setup()
    start = commands.get()
    if start is None or isinstance(start, Stop):  # a spare that was never needed
        batches.put(None)
        return
    config_data, snapshot_hz, hz, metrics_path = start
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
        emit(RunError(f"cannot start: {_one_line(err)}", fatal=True))
        emit(Stopped("error", 0))
        batches.put(None)
        return
    try:
        trainer.run(_relay_commands(commands, trainer.submit))
    finally:
        if writer is not None:
            writer.close()
        batches.put(None)  # the end of the stream


def seed_sinks(variant: str, configs: list, metrics_dir: str | None,
                tensorboard: str | None) -> list[list]:
    """Each seed's file writers: metrics.jsonl (with its config.toml) and TensorBoard's."""
    from .metrics import MetricsWriter
    from .rl.race.spec import seed_dir

    sinks = []
    for config in configs:
        writers: list = []
        if metrics_dir:
            folder = seed_dir(Path(metrics_dir), variant, config.seed)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "config.toml").write_text(config.to_toml(), encoding="utf-8")
            writers.append(MetricsWriter(folder / "metrics.jsonl"))
        if tensorboard:
            from .tensorboard import TensorBoardSink

            writers.append(TensorBoardSink(seed_dir(Path(tensorboard), variant, config.seed)))
        sinks.append(writers)
    return sinks


def _variant_main(commands, reports, variant: str, configs_data: list[dict],
                metrics_dir: str | None, resume: list[dict | None] | None,
                report_hz: float, reference: dict | None, threads: int,
                tensorboard: str | None) -> None:
    from .config import from_mapping
    from .rl.race.variant import VariantRun

    _child_setup(threads)
    writers: list = []
    try:
        configs = [from_mapping(c, f"variant {variant}") for c in configs_data]
        per_seed = seed_sinks(variant, configs, metrics_dir, tensorboard)
        writers = [w for seed in per_seed for w in seed]
        sinks = [tee(seed) for seed in per_seed] if writers else None
        run = VariantRun(variant, configs, reports.put, report_hz=report_hz,
                          sinks=sinks, resume=resume, reference=reference)
    except Exception as err:  # a bad env, device or folder: report it, end cleanly
        reports.put(RunError(f"{variant}: cannot start: {_one_line(err)}", fatal=True))
        reports.put(None)
        return
    try:
        run.run(_relay_commands(commands, run.submit))
    finally:
        for writer in writers:
            writer.close()
        reports.put(None)


# -- in the parent --------------------------------------------------------------------------


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
        with _live_lock:
            _live.add(self)

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


def _player_main(commands, frames, path: str) -> None:
    """Play the checkpoint at ``path`` in one env at the env's frame rate, one frame
    (obs, pi summary, episode return, episodes) at a time, until told to stop."""
    from .rl.player import Player

    _child_setup()
    try:
        player = Player.from_file(path)
    except Exception as err:  # a checkpoint or env that cannot be played
        frames.put(RunError(_one_line(err), fatal=True))
        frames.put(None)
        return
    finally:
        Path(path).unlink(missing_ok=True)
    env = player.make_env()
    period = 1.0 / env.metadata.get("render_fps", 30)
    obs, _ = env.reset(seed=player.streams.watch_env(0))
    episode_return, episodes = 0.0, 0
    try:
        while True:
            started = time.monotonic()
            probs = player.action_probs(obs)
            obs, reward, terminated, truncated, _ = env.step(player.act(obs))
            episode_return += float(reward)
            frames.put((tuple(map(float, obs)), probs, episode_return, episodes))
            if terminated or truncated:
                episodes += 1
                episode_return = 0.0
                obs, _ = env.reset()
            try:  # the frame's wait, which a stop cuts short
                commands.get(timeout=max(period - (time.monotonic() - started), 0.0))
                break
            except queue.Empty:
                pass
    finally:
        env.close()
        frames.put(None)


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
