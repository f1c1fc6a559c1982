"""One variant of a race: its seeds trained as one ``Trainer``, reported as one stream.

A race is variants x seeds. Each variant's seeds are the seed axis of one Trainer, so
they keep one pace and a pause or a live change reaches all of them at the same update
boundary. A ``VariantRun`` turns the seeds' events into ``VariantReport``s (``race.py``)
a few times a second: per seed, the returns since the last report and running figures
(last-100 mean, when it solved, the mean gradient noise).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from ...config import Config
from ..algos import algo_spec
from ..events import (
    ChangeApplied,
    Command,
    EpisodesFinished,
    Evaluated,
    Event,
    RunError,
    Solved,
    Stopped,
    UpdateFinished,
)
from ..schema import stats_of
from ..tasks import task_of
from ..trainer import Trainer
from .spec import SeedProgress, VariantReport, is_exact


class _SeedMemory:
    """What the report remembers of one seed between reports."""

    def __init__(self, seed: int, sink: Callable[[Event], None] | None,
                 threshold: float | None = None) -> None:
        self.seed, self.sink, self.threshold = seed, sink, threshold
        # what the run's task and algorithm keep for a race (``race_figures``)
        self.task_figures: Callable[[dict], dict] | None = None
        self.algo_figures: tuple[str, ...] = ()
        self.averaged: tuple[str, ...] = ()  # the figures a race averages (``Stat.averaged``)
        self.lowest_after_reaching: float | None = None
        self.solved_wall_s: float | None = None
        self.new_returns: list[float] = []
        self.solved_episode: int | None = None
        self.solved_step: int | None = None
        self.grad_var_sum = self.grad_snr_sum = 0.0
        self.diag_updates = 0
        self.paired_var_sum = self.reference_var_sum = 0.0
        self.status = "running"
        self.message = ""
        self.change: tuple[str, Any] | None = None
        self.figures: dict[str, float] = {}
        self.sums: dict[str, tuple[float, int]] = {}
        self.last_eval: float | None = None
        self.exact: dict[str, float] = {}

    def __call__(self, event: Event) -> None:
        if self.sink is not None:
            self.sink(event)
        if isinstance(event, EpisodesFinished):
            self.new_returns.extend(event.returns)
        elif isinstance(event, UpdateFinished):
            self._track_stability(event.stats.get("last100_mean", math.nan))
            for key in self.averaged:
                value = event.stats.get(key)
                if value is not None and math.isfinite(value):
                    total, count = self.sums.get(key, (0.0, 0))
                    self.sums[key] = (total + value, count + 1)
            self.exact.update({k: v for k, v in event.stats.items() if is_exact(k)})
            if self.task_figures is not None and (figures := self.task_figures(event.stats)):
                self.figures = figures  # the task's (the dialogue's exact figures)
                self.figures.update({k: event.stats[k] for k in self.algo_figures if k in event.stats})
            var, snr = event.stats.get("grad_var"), event.stats.get("grad_snr")
            if var is not None and snr is not None and math.isfinite(var) and math.isfinite(snr):
                self.grad_var_sum += var
                self.grad_snr_sum += snr
                self.diag_updates += 1
                ref = event.stats.get("grad_var_ref")
                if ref is not None and math.isfinite(ref):
                    self.paired_var_sum += var
                    self.reference_var_sum += ref
        elif isinstance(event, Evaluated):
            self.last_eval = event.mean_return
        elif isinstance(event, Solved):
            self.solved_episode, self.solved_step = event.episode, event.learned_step
            self.solved_wall_s = event.wall_s
        elif isinstance(event, RunError):
            self.message = event.message
            if event.fatal:
                self.status = "diverged" if event.diverged else "error"
        elif isinstance(event, ChangeApplied):
            self.change = (event.key, event.new)
        elif isinstance(event, Stopped) and self.status == "running":
            self.status = "finished"

    def _track_stability(self, mean: float) -> None:
        """The lowest last-100 mean once it has reached the threshold (at update ends)."""
        if self.threshold is None or not math.isfinite(mean):
            return
        if self.lowest_after_reaching is None:
            if mean >= self.threshold:
                self.lowest_after_reaching = mean
        else:
            self.lowest_after_reaching = min(self.lowest_after_reaching, mean)


class VariantRun:
    """Trains ``configs`` (one per seed, differing in the seed only) as one Trainer;
    ``report`` receives ``VariantReport``s."""

    def __init__(self, variant: str, configs: list[Config], report: Callable[[VariantReport], None],
                 *, report_hz: float = 5.0, sinks: list[Callable[[Event], None]] | None = None,
                 resume: list[dict | None] | None = None,
                 reference: dict[str, Any] | None = None) -> None:
        self.variant, self.report = variant, report
        self.period = 1.0 / report_hz
        self._next_report = 0.0
        self.memories = [_SeedMemory(c.seed, sinks[i] if sinks else None)
                       for i, c in enumerate(configs)]
        self.trainer = Trainer(configs[0], self.memories, seeds=[c.seed for c in configs],
                               reference=reference)
        task = task_of(configs[0].env)
        averaged = tuple(s.key for s in stats_of(configs[0].algo, configs[0].env) if s.averaged)
        for memory in self.memories:
            memory.threshold = self.trainer.threshold
            memory.task_figures = task.race_figures if task is not None else None
            memory.algo_figures = algo_spec(configs[0].algo).race_figures
            memory.averaged = averaged
        for i, payload in enumerate(resume or ()):
            if payload is not None:
                self.trainer.load_run_state(payload, i)
                solved = self.trainer.runs[i].solved
                if solved is not None:  # solved before the fork: no new event comes
                    self.memories[i].solved_episode = solved.episode
                    self.memories[i].solved_step = solved.learned_step
                    self.memories[i].solved_wall_s = solved.wall_s

    def submit(self, command: Command) -> None:
        self.trainer.submit(command)

    def run(self, stop: threading.Event | None = None, max_updates: int | None = None) -> None:
        """Until every seed has reached its total_steps (or ``max_updates``) or a stop."""
        try:
            self.trainer.run(stop, max_updates=max_updates, after_update=self._maybe_send)
        finally:
            self._send(final=True)

    def _maybe_send(self) -> None:
        if self.trainer.paused or time.monotonic() >= self._next_report:
            self._next_report = time.monotonic() + self.period
            self._send(final=False)

    def _send(self, final: bool) -> None:
        seeds, trainer = [], self.trainer
        paused = trainer.paused and not final
        for i, (run, memory) in enumerate(zip(trainer.runs, self.memories, strict=True)):
            shown = "paused" if paused and memory.status == "running" else memory.status
            seeds.append(SeedProgress(
                seed=memory.seed, global_step=trainer.seed_step(i), episodes=run.episodes,
                new_returns=tuple(memory.new_returns), last100_mean=run.last100_mean,
                solved_episode=memory.solved_episode, grad_var_sum=memory.grad_var_sum,
                grad_snr_sum=memory.grad_snr_sum, diag_updates=memory.diag_updates,
                status=shown, message=memory.message, learned_steps=trainer.learned_steps_of(i),
                solved_step=memory.solved_step, solved_wall_s=memory.solved_wall_s,
                lowest_after_reaching=memory.lowest_after_reaching,
                fell_back=memory.lowest_after_reaching is not None and memory.threshold is not None
                and memory.lowest_after_reaching < memory.threshold, paired_var_sum=memory.paired_var_sum,
                reference_var_sum=memory.reference_var_sum, figures=dict(memory.figures),
                sums=dict(memory.sums), last_eval=memory.last_eval, exact=dict(memory.exact)))
            memory.new_returns = []
        changes = {}  # every seed applied the same change: report it once
        for memory in self.memories:
            if memory.change is not None:
                changes[memory.change[0]] = memory.change[1]
                memory.change = None
        self.report(VariantReport(self.variant, tuple(seeds), final=final,
                                changes=tuple(changes.items())))

