"""The collect -> update loop of S seeds, its command inbox and the events it emits.

One ``Trainer`` drives the playground, ``pgtui train``, a race's variant (S seeds as
one: one rollout, one update of every seed's row) and the tests. Commands wait in the
inbox until the current update is done, so a change reaches every seed at the same
update boundary. It knows an algorithm by its ``Learner`` (``algos/interface.py``) and
a task by its hook (``task.py``), and names neither.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..config import FIELDS, Config, ConfigError
from ..config_checks import check_live
from . import checkpoint, events, run_state
from .assembly import assemble
from .device import device_name
from .envs.registry import aliased_state, solved_threshold
from .rollout import Batch
from .seed_run import Emit


class Trainer:
    """Trains ``config`` with the seeds ``seeds`` (default: ``config.seed`` alone);
    emits events through ``emit``, one callable for all seeds or one per seed."""

    def __init__(self, config: Config, emit: Emit | Sequence[Emit] | None = None, *,
                 seeds: Sequence[int] | None = None, snapshot_hz: float = 0.0,
                 inbox: queue.SimpleQueue | None = None, pause_on_diverge: bool = False,
                 autosave: Path | None = None, autosave_every_s: float = 30.0,
                 reference: dict[str, Any] | None = None) -> None:
        seeds = list(seeds) if seeds is not None else [config.seed]
        self.config = config.replace(seed=seeds[0]) if config.seed != seeds[0] else config
        emits = list(emit) if isinstance(emit, Sequence) else [emit or (lambda e: None)] * len(seeds)
        self.autosave, self.autosave_every_s = autosave, autosave_every_s
        self._last_autosave = time.monotonic()
        self.pause_on_diverge = pause_on_diverge  # the playground pauses; headless ends
        self.device = torch.device(device_name(config.device))
        self.parts, learner_class = assemble(config, seeds, emits, self.device, lambda: self.config,
                                             self._emit_snapshot, snapshot_hz, reference)
        parts = self.parts
        self.nets, self.optimizer, self.collector = parts.nets, parts.optimizer, parts.collector
        self.runs, self.task, self.tabular = parts.runs, parts.task, parts.tabular
        self.info = parts.collector.info
        self.threshold = solved_threshold(config, self.info)
        self.learner = learner_class(parts)
        self.inbox: queue.SimpleQueue[events.Command] = inbox if inbox is not None else queue.SimpleQueue()
        self.paused = self._step_pending = self._stop_requested = False
        self.last_batch: Batch | None = None

    @property
    def global_step(self) -> int:
        """Seed 0's env steps (a single run's)."""
        return self.seed_step(0)

    @property
    def update(self) -> int:
        return self.runs[0].update

    def seed_step(self, i: int) -> int:
        return int(self.collector.env_steps[i])

    def learned_steps_of(self, i: int) -> int:
        return int(self.collector.learned_steps[i])

    def submit(self, command: events.Command) -> None:
        """Queue a command; thread-safe, applied at the next update boundary."""
        self.inbox.put(command)

    def run(self, stop: threading.Event | None = None, *, max_updates: int | None = None,
            until_solved: bool = False, after_update: Callable[[], None] | None = None) -> str:
        """Train until every seed has reached total_steps, ``max_updates`` or (optionally)
        solved, or a stop. Every seed's end is emitted as ``Stopped``; returns seed 0's.
        ``after_update`` is called after each update (a race reports from it)."""
        stopped = False

        def reason(i: int) -> str | None:
            return self.runs[i].end_reason(self.seed_step(i), self.config.total_steps, max_updates,
                                           until_solved)
        try:
            while True:
                events.drain(self.inbox, self._apply, False, timeout=0.05)
                if self.paused and after_update is not None:
                    after_update()  # shows "paused" once, then waits
                while self.paused and not self._step_pending and not self._should_stop(stop):
                    events.drain(self.inbox, self._apply, True, timeout=0.05)
                if self._should_stop(stop):
                    stopped = True
                    break
                seeds = [i for i in range(len(self.runs)) if reason(i) is None]
                if not seeds:
                    break
                (self._single_step if self._step_pending else self.step)(seeds)
                if self._step_pending:
                    self._step_pending, self.paused = False, True
                    self._broadcast(events.StatusChanged("paused"))
                if after_update is not None:
                    after_update()
                self._maybe_autosave()
        except Exception as err:  # the run ends; the caller's process must not
            for run in self.runs:
                if run.status == "running":
                    run.fail(f"{type(err).__name__}: {err}")
        finally:
            reasons = [reason(i) or ("stopped" if stopped else "finished") for i in range(len(self.runs))]
            for i, (run, why) in enumerate(zip(self.runs, reasons, strict=True)):
                run.emit(events.Stopped(why, self.seed_step(i)))
            self.collector.envs.close()
            for run in self.runs:
                run.close()
        return reasons[0]

    def _single_step(self, seeds: list[int]) -> None:
        """The playground's single step (the learner may take it without a rollout), with
        seed 0's output before and after it on the drawn state."""
        probe = self.collector.obs[0, 0].copy()
        before = self.summary_of(probe)
        ok = [True] if self.learner.step_alone(self.config, seeds) else self.step(seeds)
        if ok and ok[0]:
            self.runs[0].emit(events.StepCompared(self.update, tuple(map(float, probe)), before,
                                                  self.summary_of(probe)))

    def step(self, seeds: list[int] | None = None) -> list[bool]:
        """One collect + update of ``seeds`` (default: all); per seed, False if its update
        diverged: its loss, gradient or weights went non-finite, and the update is undone
        (PPO may have taken several minibatch steps by then)."""
        seeds = list(range(len(self.runs))) if seeds is None else seeds
        start = time.perf_counter()
        cfg = self.config
        for i in seeds if cfg.anneal_lr else ():  # each seed's lr, annealed over its own steps
            self.optimizer.set_lr(i, cfg.lr * max(1.0 - self.seed_step(i) / cfg.total_steps, 0.0))
        batch = self.learner.collect(cfg, seeds)
        failed = self.collector.envs.failed
        while failed:  # one seed's env failing must not end the others
            i, err = failed.popitem()
            self.runs[i].fail(f"seed {self.runs[i].seed}: {type(err).__name__}: {err}")
        if batch is None:
            return []
        self.last_batch, seeds = batch, batch.seeds
        for i in seeds:
            finished, self.collector.finished[i] = self.collector.finished[i], []
            self.runs[i].record_episodes(finished, self.seed_step(i), self.threshold)
        figures = self.learner.task_figures(batch)  # of the policy that collected it
        states, kept = self._states_of(batch)
        before = self.learner.policy_view(states, seeds)
        undo = self.optimizer.snapshot()
        try:
            stats = self.learner.update(batch, cfg)
        except Exception as err:  # a learner's own code (a plugin's) may raise
            if not self.pause_on_diverge:
                raise
            self._pause_after_failed_update(seeds, undo, f"{type(err).__name__}: {err}")
            return [False] * len(seeds)
        change = self.learner.policy_change(before, self.learner.policy_view(states, seeds), kept)
        exact = self.learner.exact_figures(seeds)  # of the policy after the update
        for extra in (figures, change, exact):
            if extra is not None:
                stats = [{**s, **f} for s, f in zip(stats, extra, strict=True)]
        finite = torch.isfinite(self.nets.rows).all(1).tolist()
        seconds = (time.perf_counter() - start) / len(seeds)  # the seeds share the time
        ok = [self._finish(i, s, seconds, finite[i], undo) for i, s in zip(seeds, stats, strict=True)]
        for i in seeds:  # after the update: not training time
            self.runs[i].evaluate_if_due(self.nets, i, self.seed_step(i), self.learned_steps_of(i),
                                         self.threshold)
        return ok

    def _pause_after_failed_update(self, seeds: list[int], undo: tuple[torch.Tensor, ...], why: str) -> None:
        """The playground keeps a run whose update raised: weights as before it, paused
        (the episodes it collected are recorded)."""
        for i in seeds:
            self.optimizer.restore(i, undo)
        self._broadcast(events.RunError(f"update {self.update + 1} raised {why}; weights restored, "
                                        "paused: fix it and resume", paused=True))
        self._step_pending, self.paused = False, True
        self._broadcast(events.StatusChanged("paused"))

    @staticmethod
    def _states_of(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch's observations per seed (S', T N, obs_dim) and which of them are real
        steps (S', T N), for the policy change of its update."""
        T, S, N = batch.valid.shape
        obs = batch.obs.movedim(1, 0).reshape(S, T * N, -1)
        return obs, batch.valid.movedim(1, 0).reshape(S, T * N).to(obs.dtype)

    def _finish(self, i: int, stats: dict[str, float], seconds: float, weights_finite: bool,
                undo: tuple[torch.Tensor, ...]) -> bool:
        """Count and report seed ``i``'s update, or undo it if it diverged."""
        run = self.runs[i]
        run.train_seconds += seconds
        bad = [f"{k} = {stats[k]}" for k in self.learner.watched if not math.isfinite(stats.get(k, 0))]
        if bad or not weights_finite:
            self.optimizer.restore(i, undo)
            then = "paused; lower lr and resume" if self.pause_on_diverge else "run ended"
            what = bad[0] if bad else "a weight = nan/inf"
            run.emit(events.RunError(f"diverged at update {run.update + 1}: {what} (lr {self.config.lr:g}); "
                                     f"weights restored to the last good update, {then}",
                                     fatal=not self.pause_on_diverge, diverged=True))
            if self.pause_on_diverge:
                self._step_pending, self.paused = False, True
                self._broadcast(events.StatusChanged("paused"))
            else:
                run.status = "diverged"
            return False
        run.report_update(stats, self.seed_step(i), self.learned_steps_of(i), float(self.optimizer.lr[i]))
        return True

    def state_dict(self, i: int = 0) -> dict[str, Any]:
        """Everything a checkpoint of seed ``i`` holds (``run_state.capture``)."""
        return run_state.capture(self.parts, self.learner, i)

    def load_run_state(self, payload: dict[str, Any], i: int = 0) -> None:
        """Continue seed ``i`` from a checkpoint written by ``state_dict`` for this config."""
        run_state.restore(self.parts, self.learner, payload, i)

    def save_checkpoint(self, path: str | Path) -> Path:
        written = checkpoint.save(path, self.state_dict())
        self.runs[0].emit(events.CheckpointSaved(str(written), self.global_step))
        return written

    def set_param(self, key: str, value: Any) -> None:
        """Apply a live parameter now (callers hold the update boundary); errors are emitted."""
        try:
            value = check_live(key, value)
        except ConfigError as err:
            self._broadcast(events.RunError(str(err)))
            return
        old = getattr(self.config, key)
        if old == value:
            return
        self.config = dataclasses.replace(self.config, **{key: value})
        if key == "lr":
            self.optimizer.set_lr(slice(None), value)
        if FIELDS[key].metadata.get("task"):  # a task's own setting
            self.task.apply(self.config, self.parts.every_env())
        for i, run in enumerate(self.runs):
            run.emit(events.ChangeApplied(self.seed_step(i), run.update, key, old, value))

    def _maybe_autosave(self) -> None:
        if self.autosave is not None and 0 < self.autosave_every_s <= time.monotonic() - self._last_autosave:
            self.save_checkpoint(self.autosave)
            self._last_autosave = time.monotonic()

    def _should_stop(self, stop: threading.Event | None) -> bool:
        return self._stop_requested or (stop is not None and stop.is_set())

    def _broadcast(self, event: events.Event) -> None:
        """An event about the run, not a seed: every seed's listener hears it once."""
        for emit in dict.fromkeys(run.emit for run in self.runs):
            emit(event)

    def _apply(self, command: events.Command) -> None:
        if isinstance(command, events.SetParam):
            self.set_param(command.key, command.value)
        elif isinstance(command, events.Pause | events.Resume):
            self.paused = isinstance(command, events.Pause)
            self._broadcast(events.StatusChanged("paused" if self.paused else "running"))
        elif isinstance(command, events.StepOnce):
            self._step_pending = True
            self._broadcast(events.StatusChanged("stepping"))
        elif isinstance(command, events.SaveCheckpoint):
            try:
                self.save_checkpoint(command.path)
            except OSError as err:
                self._broadcast(events.RunError(f"cannot save checkpoint {command.path}: {err.strerror}"))
        elif isinstance(command, events.Stop):
            self._stop_requested = True

    # -- seed 0's policy, for the screen ------------------------------------------------

    def summary_of(self, obs) -> tuple[float, ...]:
        """Seed 0's output at ``obs`` as the policy pane shows it (``Learner.summary``)."""
        return self.learner.summary(self.nets.head_at(0, obs))

    def _emit_snapshot(self, obs, head: torch.Tensor) -> None:
        policy = self.learner.policy_shown(self.global_step, obs, head)
        self.runs[0].emit(events.Snapshot(self.global_step, self._scene(obs), policy))

    def _scene(self, obs) -> events.Scene:
        """Env 0's observation and what its env adds for the drawing."""
        state = aliased_state(self.collector.envs.envs[0])
        if state is not None:
            return events.Scene(tuple(map(float, obs)), events.HiddenState(state))
        last = self.collector.last_final if self.task.shows_last_final else None
        if last is not None:
            return events.Scene(tuple(map(float, obs)), events.LastEpisode(tuple(map(float, last))))
        return events.Scene(tuple(map(float, obs)))
