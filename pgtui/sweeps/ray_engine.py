"""The Ray engine: the same grid points as Ray Tune trials, for when one machine is not enough.

Each grid point is one Tune trial (a grid search over the points still to run), and a
trial trains the point's seeds as one ``VariantRun``, exactly as the local engine does,
so both engines find the same figures for the same seeds. The trial reports to Tune
after every update (each seed's progress rides along as JSON), so a scheduler such as
ASHA can stop a hopeless point early. A trial whose worker dies is started again by
Tune's failure config. ``--address`` joins a running cluster; otherwise a local Ray
starts. The trials write their files under OUT as the local engine's do: on a cluster,
OUT should be storage every node sees; the summary itself is built from what Tune
reports, on this machine.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray
from ray import tune

from ..config import from_mapping
from ..rl.race.spec import VariantReport
from .events import PointFinished, PointRetried, PointStarted, SweepEvent
from .local import failed_progress
from .spec import Point, Sweep, build_sweep
from .trials import TrialStore, is_done, progress_from_json, progress_to_json

#: a trial's worker may die this many times before its point is reported failed
MAX_FAILURES = 2


def _trial(params: dict[str, Any], *, sweep_data: dict, out: str | None, tensorboard: str | None,
           seeds: dict[str, list[int]]) -> None:
    """One grid point in a Ray worker: its seeds trained as one VariantRun."""
    import torch

    from ..processes import seed_sinks, tee
    from ..rl.race.variant import VariantRun

    torch.set_num_threads(1)  # as the local engine: one thread per point, same numbers
    sweep = build_sweep(from_mapping(sweep_data, "sweep"))
    point = _point_of(sweep, params)
    point_seeds = seeds[point.folder]
    store = TrialStore(Path(out) if out else None)
    store.clear(point, point_seeds)  # a retried trial starts over
    store.mark_running(point, os.getpid(), 0)
    configs = sweep.point_configs(point, point_seeds)
    per_seed = seed_sinks(point.name, configs, out, tensorboard)
    writers = [w for sinks in per_seed for w in sinks]

    def report(latest: VariantReport) -> None:
        means = [s.last100_mean for s in latest.seeds if math.isfinite(s.last100_mean)]
        if not means and not latest.final:
            return  # no episode has ended yet: nothing for a scheduler to rank
        tune.report({"last100_mean": sum(means) / len(means) if means else -math.inf,
                     "global_step": min(s.global_step for s in latest.seeds),
                     "final": latest.final,
                     "seeds_json": json.dumps([progress_to_json(s) for s in latest.seeds])})

    try:
        # report_hz so high that every update reports
        run = VariantRun(point.name, configs, report, report_hz=1e9,
                         sinks=[tee(s) for s in per_seed] if writers else None)
        run.run()
    finally:
        for writer in writers:
            writer.close()
        store.clear_running(point)


def _point_of(sweep: Sweep, config: dict[str, Any]) -> Point:
    return Point(tuple((key, config["point"][key]) for key in sweep.keys))


def _seeds_of(sweep: Sweep, point: Point, result: dict[str, Any] | None, stopped_early: bool,
              store: TrialStore) -> tuple:
    """The finished trials in a Tune result; an early stop (ASHA) counts as finished."""
    if not result or "seeds_json" not in result:
        return ()
    seeds = [progress_from_json(s) for s in json.loads(result["seeds_json"])]
    total = sweep.config.total_steps
    if stopped_early and not result.get("final"):  # the scheduler ended it, maybe at max_t
        seeds = [dataclasses.replace(s, status="stopped" if s.global_step < total else "finished")
                 if s.status in ("running", "paused") else s for s in seeds]
    done = tuple(s for s in seeds if is_done(s, total))
    for seed in done:
        store.save(point, seed)
    return done


#: the sweep now running, for Tune's callbacks: Tune pickles its run config, and neither
#: the caller's callback nor a threading.Event pickles
_ACTIVE: dict[str, Any] = {}


def _stopped(trial_id: str, result: dict) -> bool:
    return _ACTIVE["stop"].is_set()


class _Relay(tune.Callback):
    """Tune's trial events as the sweep's, as they happen."""

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        point = _point_of(_ACTIVE["sweep"], trial.config)
        seeds = _ACTIVE["seeds"][point.folder]
        _ACTIVE["emit"](PointStarted(point, tuple(seeds), trial.num_failures + 1))

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        _ACTIVE["emit"](PointRetried(_point_of(_ACTIVE["sweep"], trial.config),
                                     trial.num_failures, "its Ray worker died"))

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        sweep = _ACTIVE["sweep"]
        point = _point_of(sweep, trial.config)
        done = _seeds_of(sweep, point, trial.last_result, _ACTIVE["asha"] is not None,
                         _ACTIVE["store"])
        _ACTIVE["emit"](PointFinished(point, done))

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        point = _point_of(_ACTIVE["sweep"], trial.config)
        message = f"its Ray trial failed {trial.num_failures} times"
        seeds = _ACTIVE["seeds"][point.folder]
        _ACTIVE["emit"](PointFinished(point, tuple(failed_progress(s, message) for s in seeds),
                                      error=message))


def run_ray(sweep: Sweep, store: TrialStore, emit: Callable[[SweepEvent], None],
            stop: threading.Event, *, address: str | None = None, scheduler: str | None = None,
            tensorboard: str | None = None) -> None:
    """Run the sweep's missing trials as Ray Tune trials; returns when Tune is done."""
    missing = store.missing(sweep)
    if not missing:
        return
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING, configure_logging=True)
    seeds = {point.folder: point_seeds for point, point_seeds in missing}
    out = str(store.out.resolve()) if store.out is not None else None
    trainable = tune.with_parameters(_trial, sweep_data=dataclasses.asdict(sweep.config), out=out,
                                     tensorboard=tensorboard, seeds=seeds)
    asha = None
    if scheduler == "asha":
        from ray.tune.schedulers import ASHAScheduler

        budget = sweep.config.total_steps  # rungs at 1/16 and 1/4 of each trial's steps
        asha = ASHAScheduler(time_attr="global_step", max_t=budget, reduction_factor=4,
                             grace_period=max(1, budget // 16))

    _ACTIVE.update(sweep=sweep, seeds=seeds, store=store, emit=emit, stop=stop, asha=asha)
    storage = Path(out) / "ray" if out is not None else Path(tempfile.mkdtemp(prefix="pgtui-ray-"))
    tuner = tune.Tuner(
        trainable,
        param_space={"point": tune.grid_search([p.as_dict() for p, _ in missing])},
        tune_config=tune.TuneConfig(metric="last100_mean", mode="max", scheduler=asha),
        run_config=tune.RunConfig(
            name="tune", storage_path=str(storage.resolve()), verbose=0, callbacks=[_Relay()],
            failure_config=tune.FailureConfig(max_failures=MAX_FAILURES), stop=_stopped))
    try:
        tuner.fit()
    finally:
        _ACTIVE.clear()
        if out is None:  # Tune's experiment state, kept only with --out
            shutil.rmtree(storage, ignore_errors=True)
