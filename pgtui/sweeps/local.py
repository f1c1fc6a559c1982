"""The local engine: grid points trained in processes over this machine's cores.

Each grid point's missing seeds train as one ``VariantRun`` in a process of its own
(``RemoteVariant``), as many at once as there are cores, each with one torch thread: a
point's seeds are batched on the seed axis, and the cores go to different points. A
process that dies (killed, out of memory) has its trials started over, up to
``retries`` more times; a stop ends the running points at their next update and keeps
every trial that had finished.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable

from ..processes import RemoteVariant, available_cores, relay
from ..rl.events import RunError
from ..rl.race.spec import SeedProgress, VariantReport
from .events import PointFinished, PointProgress, PointRetried, PointStarted, SweepEvent
from .spec import Point, Sweep
from .trials import TrialStore, is_done


class _Attempt:
    """One process training one grid point's seeds, and what it has said so far."""

    def __init__(self, point: Point, seeds: list[int], attempt: int, remote: RemoteVariant) -> None:
        self.point, self.seeds, self.attempt, self.remote = point, seeds, attempt, remote
        self.latest: VariantReport | None = None
        self.error: RunError | None = None


def run_local(sweep: Sweep, store: TrialStore, emit: Callable[[SweepEvent], None],
              stop: threading.Event, *, workers: int | None = None, retries: int = 2,
              tensorboard: str | None = None) -> None:
    """Train every trial ``store`` does not have yet; returns when all are done or stopped."""
    pending = deque((point, seeds, 1) for point, seeds in store.missing(sweep))
    workers = max(1, min(workers or available_cores(), len(pending) or 1))
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    running: dict[Point, _Attempt] = {}
    stopping = False

    def start(point: Point, seeds: list[int], number: int) -> None:
        store.clear(point, seeds)  # an unfinished attempt's files: the trials start over
        remote = RemoteVariant(point.name, sweep.point_configs(point, seeds), metrics_dir=store.out,
                             report_hz=2.0, threads=1, tensorboard=tensorboard)
        attempt = _Attempt(point, seeds, number, remote)
        remote.start()
        running[point] = attempt
        store.mark_running(point, remote.pid, number)
        emit(PointStarted(point, tuple(seeds), number))
        relay(remote, inbox, attempt)

    try:
        while pending or running:
            if stop.is_set() and not stopping:
                stopping = True
                pending.clear()
                for attempt in running.values():
                    attempt.remote.stop()
            while pending and len(running) < workers:
                start(*pending.popleft())
            try:
                attempt, item = inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(item, VariantReport):
                attempt.latest = item
                emit(PointProgress(attempt.point, item))
            elif isinstance(item, RunError):
                attempt.error = item
            elif item is None:
                del running[attempt.point]
                attempt.remote.join()
                store.clear_running(attempt.point)
                retry = _finish(sweep, store, emit, attempt, retries, stopping)
                if retry:
                    pending.appendleft((attempt.point, attempt.seeds, attempt.attempt + 1))
    finally:
        for attempt in running.values():
            attempt.remote.stop()
            attempt.remote.join()
            store.clear_running(attempt.point)


def _finish(sweep: Sweep, store: TrialStore, emit: Callable[[SweepEvent], None],
            attempt: _Attempt, retries: int, stopping: bool) -> bool:
    """Keep what an ended process found; True when its trials should run again."""
    error = attempt.error
    final = attempt.latest if attempt.latest is not None and attempt.latest.final else None
    died = final is None and error is not None and error.died
    if died and attempt.attempt <= retries and not stopping:
        emit(PointRetried(attempt.point, attempt.attempt, error.message))
        return True
    if final is None:
        message = error.message if error is not None else "the training process ended early"
        emit(PointFinished(attempt.point, tuple(failed_progress(s, message) for s in attempt.seeds),
                           error=message))
        return False
    total = sweep.config.total_steps
    done = tuple(seed for seed in final.seeds if is_done(seed, total))
    for seed in done:
        store.save(attempt.point, seed)
    emit(PointFinished(attempt.point, done))
    return False


def failed_progress(seed: int, message: str) -> SeedProgress:
    return SeedProgress(seed=seed, global_step=0, episodes=0, new_returns=(), last100_mean=float("nan"),
                        solved_episode=None, grad_var_sum=0.0, grad_snr_sum=0.0, diag_updates=0,
                        status="error", message=message)
