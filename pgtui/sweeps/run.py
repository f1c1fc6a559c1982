"""`pgtui sweep`: every grid point x seed, on this machine or on Ray Tune; a table per
grid point, a sensitivity plot, summary.json and summary.csv, a JSON line."""

from __future__ import annotations

import importlib.util
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import Config, ConfigError, from_mapping, parse_toml
from ..rl.race.spec import SeedProgress
from . import report
from .events import PointFinished, PointRetried, PointStarted, SweepEvent
from .spec import Point, Sweep, build_sweep
from .trials import TrialStore, write_atomic


def require_ray() -> None:
    """A one-line error before anything runs when Ray Tune is not installed."""
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.tune") is None:
        raise ConfigError("--engine ray needs Ray Tune: pip install 'pgtui[ray]'")


@dataclass
class SweepOptions:
    engine: str = "local"
    address: str | None = None  # ray: "auto", "ray://host:port"; default a local Ray
    scheduler: str | None = None  # ray: "asha" stops hopeless grid points early
    out: Path | None = None
    json: bool = False
    tensorboard: Path | None = None
    workers: int | None = None  # local: processes at once (default: the cores)
    plot: Path | None = None  # also the sensitivity plot as a figure (PNG, SVG, PDF by the suffix)
    quiet: bool = False  # no table or plot printed (the Python API reads summary.json instead)


def run_engine(sweep: Sweep, store: TrialStore, options: SweepOptions,
               emit: Callable[[SweepEvent], None], stop: threading.Event) -> None:
    tensorboard = str(options.tensorboard.resolve()) if options.tensorboard else None
    if options.engine == "ray":
        from .ray_engine import run_ray

        run_ray(sweep, store, emit, stop, address=options.address, scheduler=options.scheduler,
                tensorboard=tensorboard)
    else:
        from .local import run_local

        run_local(sweep, store, emit, stop, workers=options.workers, tensorboard=tensorboard)


def finished_trials(sweep: Sweep, store: TrialStore) -> dict[Point, dict[int, SeedProgress]]:
    """The trials a previous run of this sweep finished (``--resume``)."""
    results: dict[Point, dict[int, SeedProgress]] = {p: {} for p in sweep.points}
    for point in sweep.points:
        for seed in sweep.seeds:
            done = store.result(point, seed)
            if done is not None:
                results[point][seed] = done
    return results


def prepare_out(out: Path | None, config: Config) -> None:
    """The sweep's folder, with its config.toml (all ``--resume`` needs). A folder's
    finished trials count only for the sweep that ran them: another sweep's is refused."""
    if out is None:
        return
    saved = out / "config.toml"
    if saved.is_file():
        _check_same_sweep(saved, out, config)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(saved, config.to_toml())


def _check_same_sweep(saved: Path, out: Path, config: Config) -> None:
    try:
        before = from_mapping(parse_toml(saved.read_text("utf-8"), str(saved)), str(saved))
    except ConfigError:
        before = None
    if before != config:
        raise ConfigError(f"{out} holds another sweep (its config.toml differs); give another "
                          f"--out, or `pgtui sweep --resume {out}` to finish that one")


def _point_line(row: dict) -> str:
    spec = report.return_format([row])
    final = "—" if row["final_mean"] is None else \
        f"{row['final_mean']:{spec}} ± {row['final_std']:{spec}}"
    return f"solved {row['solved']}/{row['seeds']}, final {final}"


def run_sweep(config: Config, options: SweepOptions) -> int:
    """Run the sweep's missing trials and report every grid point; the exit code."""
    sweep = build_sweep(config)  # a bad grid stops here, before any trial
    out = options.out
    store = TrialStore(out)
    prepare_out(out, config)
    results = finished_trials(sweep, store)
    done_before = sum(len(seeds) for seeds in results.values())
    err = Console(stderr=True)
    show = not options.json
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, transient=True,
                        disable=not (show and sys.stderr.isatty()))
    task = progress.add_task("trials", total=sweep.trials, completed=done_before)
    if show and done_before:
        err.print(f"resuming: {done_before} of {sweep.trials} trials already finished")

    def emit(event: SweepEvent) -> None:
        if isinstance(event, PointFinished):
            results[event.point].update({s.seed: s for s in event.seeds})
            progress.update(task, completed=sum(len(s) for s in results.values()))
            if show:
                row = report.point_row(event.point, list(results[event.point].values()))
                note = f" ({event.error})" if event.error else ""
                progress.console.print(f"{event.point.name}: {_point_line(row)}{note}")
        elif isinstance(event, PointRetried):  # said even with --json: stderr is free
            progress.console.print(f"{event.point.name}: attempt {event.attempt} failed "
                                   f"({event.reason}); starting its trials again")
        elif isinstance(event, PointStarted):
            progress.update(task, description=f"trials (running {event.point.name})")

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        with progress:
            run_engine(sweep, store, options, emit, stop)
    finally:
        signal.signal(signal.SIGINT, previous)
    points = report.rows(sweep, results)
    if out is not None:
        write_atomic(out / "summary.json", report.json_line(points) + "\n")
        write_atomic(out / "summary.csv", report.to_csv(sweep, points))
    if options.plot is not None:
        from ..figures import save_figure

        save_figure(report.sweep_figure(sweep, points), options.plot)
    if not options.quiet:
        console = Console(force_terminal=None if sys.stdout.isatty() else False, width=100)
        console.print(report.table(sweep, points))
        print(report.sensitivity_plot(sweep, points, color=sys.stdout.isatty()))
    if options.json:
        print(report.json_line(points))
    if stop.is_set():
        if show:
            err.print(f"stopped: {sum(r['seeds'] for r in points)} of {sweep.trials} trials "
                      "finished and kept" + (f"; `pgtui sweep --resume {out}` runs the rest"
                                             if out is not None else ""))
        return 130
    errors = [s for seeds in results.values() for s in seeds.values() if s.status == "error"]
    for seed in errors[:3]:
        print(f"pgtui sweep: seed {seed.seed}: {seed.message}", file=sys.stderr)
    return 1 if errors else 0
