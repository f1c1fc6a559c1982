"""Several seeds of one variant trained side by side, reported as one compact stream.

A compare run is variants x seeds. Each variant's seeds live in one ``SeedGroup`` and
advance in rounds of one update each, so every seed keeps the same pace and a pause or
a live change reaches all of them at the same update boundary. Within a round the
seeds share the arithmetic where they can: one forward pass acts for all of them
(``lockstep.py``), and a PPO or A2C update is one stacked pass (``stacked.py``).

The group reports ``GroupReport`` events (``race.py``) a few times a second: per seed,
the returns since the last report and running figures (last-100 mean, when it solved,
the mean gradient noise).
"""

from __future__ import annotations

import functools
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from ..config import Config
from .events import (
    Command,
    EpisodesFinished,
    Event,
    Pause,
    Resume,
    RunError,
    SetParam,
    Solved,
    Stop,
    Stopped,
    UpdateFinished,
    drain,
)
from .joint_envs import JointCartPole
from .lockstep import (
    StackedPolicy,
    collect_episodes_jointly,
    collect_steps_jointly,
    run_lockstep,
)
from .race import GroupReport, SeedProgress
from .rollout import Batch
from .stacked import StackedUpdate
from .trainer import Trainer


class _SeedState:
    """What the group remembers of one seed between reports."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.new_returns: list[float] = []
        self.solved_episode: int | None = None
        self.grad_var_sum = self.grad_snr_sum = 0.0
        self.diag_updates = 0
        self.paired_var_sum = self.reference_var_sum = 0.0
        self.state = "running"
        self.message = ""

    def __call__(self, event: Event) -> None:
        if isinstance(event, EpisodesFinished):
            self.new_returns.extend(event.returns)
        elif isinstance(event, UpdateFinished):
            var, snr = event.stats.get("grad_var"), event.stats.get("grad_snr")
            if var is not None and snr is not None and math.isfinite(var) and math.isfinite(snr):
                self.grad_var_sum += var
                self.grad_snr_sum += snr
                self.diag_updates += 1
                ref = event.stats.get("grad_var_ref")
                if ref is not None and math.isfinite(ref):
                    self.paired_var_sum += var
                    self.reference_var_sum += ref
        elif isinstance(event, Solved):
            self.solved_episode = event.episode
        elif isinstance(event, RunError):
            self.message = event.message


class SeedGroup:
    """Trains ``configs`` (one per seed) in turns; ``report`` receives ``GroupReport``s."""

    def __init__(self, variant: str, configs: list[Config], report: Callable[[GroupReport], None],
                 *, report_hz: float = 5.0, sinks: list[Callable[[Event], None]] | None = None,
                 resume: list[dict | None] | None = None,
                 reference: dict[str, Any] | None = None, lockstep: bool = True) -> None:
        self.variant, self.report = variant, report
        self.lockstep = lockstep  # share one forward pass between the seeds' rollouts
        self.period = 1.0 / report_hz
        self.inbox: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self.paused = False
        self._stop = False
        self.states = [_SeedState(c.seed) for c in configs]
        self.trainers: list[Trainer] = []
        self._changes: list[tuple[str, Any]] = []
        self._learner_key: tuple[int, ...] = ()
        self._joint_key: tuple[int, ...] = ()
        self._joint: JointCartPole | None = None
        self._stacked_learner: StackedUpdate | None = None
        for i, config in enumerate(configs):
            sink = sinks[i] if sinks else None
            state = self.states[i]
            emit = state if sink is None else (lambda e, s=state, k=sink: (s(e), k(e)))
            trainer = Trainer(config, emit)
            if reference is not None and config.algo == "reinforce":
                trainer.reference_estimator = reference
            if resume and resume[i] is not None:
                trainer.load_run_state(resume[i])
                if trainer.solved is not None:  # solved before the fork: no new event comes
                    state.solved_episode = trainer.solved.episode
            self.trainers.append(trainer)

    def submit(self, command: Command) -> None:
        self.inbox.put(command)

    def run(self, stop: threading.Event | None = None, max_updates: int | None = None) -> None:
        """Until every seed has reached its total_steps (or ``max_updates``) or a stop."""
        next_report = 0.0
        try:
            while True:
                self._drain(block=False)
                if self.paused:
                    self._send(final=False)  # shows "paused" once, then waits
                while self.paused and not self._stopping(stop):
                    self._drain(block=True)
                if self._stopping(stop) or not self._active(max_updates):
                    break
                self._round([i for i, (t, s) in enumerate(zip(self.trainers, self.states,
                                                               strict=True))
                             if s.state == "running" and not self._done(t, max_updates)])
                if time.monotonic() >= next_report:
                    next_report = time.monotonic() + self.period
                    self._send(final=False)
        finally:
            stopped = self._stopping(stop)
            for trainer, state in zip(self.trainers, self.states, strict=True):
                if state.state in ("diverged", "error"):
                    reason = state.state
                elif stopped and not self._done(trainer, max_updates):
                    reason = "stopped"
                else:
                    reason = "updates" if trainer.global_step < trainer.config.total_steps \
                        else "finished"
                if state.state in ("running", "paused"):
                    state.state = "finished"
                trainer.emit(Stopped(reason, trainer.global_step))  # ends each metrics file
                trainer.envs.close()
            self._send(final=True)

    # -- internals ----------------------------------------------------------------------

    def _round(self, active: list[int]) -> None:
        """One update of every active seed: rollouts in lockstep when they can share a
        forward pass (see ``lockstep``), then one stacked update when the algorithm has
        one (``stacked``); one seed after another otherwise."""
        trainers = [self.trainers[i] for i in active]
        stacked = None
        if self.lockstep and len(trainers) > 1 and len({t.config.num_envs for t in trainers}) == 1:
            # acting reads the stacked update's rows, when there is one: no copy
            stacked = StackedPolicy.build([t.policy for t in trainers], self._learner(trainers))
        if stacked is None:
            for i in active:
                self._guarded(i, self.trainers[i].step)
            return
        failed: dict[int, Exception] = {}
        joint = self._joint_envs(trainers) if stacked.critic is not None else None
        if joint is not None:
            batches, seconds = self._collect_jointly(trainers, stacked, joint, failed)
        else:
            batches, seconds = run_lockstep([t.collection() for t in trainers], stacked,
                                            [t.collector.generator for t in trainers],
                                            failed.__setitem__)
        for k, i in enumerate(active):
            if k in failed:
                self._fail(i, failed[k])
        collected = [k for k in range(len(trainers)) if k in batches]
        learner = self._learner([trainers[k] for k in collected])
        if learner is not None and learner.accepts([batches[k] for k in collected]):
            self._learn_together(learner, [active[k] for k in collected],
                                 [batches[k] for k in collected], seconds)
            return
        for k in collected:
            self._guarded(active[k], lambda t=trainers[k], b=batches[k]: t.learn(b, seconds))

    def _joint_envs(self, trainers: list[Trainer]) -> JointCartPole | None:
        """One physics call for the seeds' envs on Gymnasium's native CartPole
        (``joint_envs.py``); rebuilt when the set of trainers changes."""
        key = tuple(id(t) for t in trainers)
        if key != self._joint_key:
            self._joint_key = key
            self._joint = JointCartPole.build([t.envs for t in trainers])
        return self._joint

    @staticmethod
    def _collect_jointly(trainers: list[Trainer], stacked: StackedPolicy, joint: JointCartPole,
                         failed: dict[int, Exception]) -> tuple[dict[int, Batch], float]:
        start = time.perf_counter()
        for trainer in trainers:
            trainer.begin_rollout()
        cfg, collectors = trainers[0].config, [t.collector for t in trainers]
        try:
            if cfg.algo == "reinforce":
                batches = collect_episodes_jointly(collectors, stacked, joint,
                                                   cfg.episodes_per_update)
            else:
                batches = collect_steps_jointly(collectors, stacked, joint, cfg.num_steps)
        except Exception as err:  # every seed's rollout failed with it
            failed.update(dict.fromkeys(range(len(trainers)), err))
            return {}, 0.0
        return dict(enumerate(batches)), (time.perf_counter() - start) / len(trainers)

    def _learner(self, trainers: list[Trainer]) -> StackedUpdate | None:
        """The stacked update for these trainers (None when they cannot share one),
        rebuilt when the set of trainers changes."""
        key = tuple(id(t) for t in trainers)
        if key != self._learner_key:
            self._learner_key = key
            self._stacked_learner = StackedUpdate.build(trainers) if self.lockstep else None
        return self._stacked_learner

    def _learn_together(self, learner: StackedUpdate, indices: list[int], batches: list,
                        collect_seconds: float) -> None:
        start = time.perf_counter()
        trainers = [self.trainers[i] for i in indices]
        saved = learner.snapshot()  # one copy of every seed's rows to undo from
        pending = [t.begin_update(b, functools.partial(learner.restore_row, k, saved))
                   for k, (t, b) in enumerate(zip(trainers, batches, strict=True))]
        try:
            stats = learner.update(batches, [p.diag_rng for p in pending])
            finite = learner.finite_rows()
        except Exception as err:  # every seed of the stacked update failed with it
            for i in indices:
                self._fail(i, err)
            return
        seconds = collect_seconds + (time.perf_counter() - start) / len(indices)
        for i, trainer, p, s, ok in zip(indices, trainers, pending, stats, finite, strict=True):
            self._guarded(i, lambda t=trainer, p=p, s=s, ok=ok: t.finish_update(p, s, seconds, ok))

    def _guarded(self, i: int, update: Callable[[], bool]) -> None:
        try:
            if not update():
                self.states[i].state = "diverged"
        except Exception as err:  # one seed failing must not end the others
            self._fail(i, err)

    def _fail(self, i: int, err: Exception) -> None:
        state = self.states[i]
        self.trainers[i].emit(RunError(f"seed {state.seed}: {type(err).__name__}: {err}",
                                       fatal=True))
        state.state = "error"

    @staticmethod
    def _done(trainer: Trainer, max_updates: int | None) -> bool:
        return (trainer.global_step >= trainer.config.total_steps
                or (max_updates is not None and trainer.update >= max_updates))

    def _active(self, max_updates: int | None) -> bool:
        return any(s.state == "running" and not self._done(t, max_updates)
                   for t, s in zip(self.trainers, self.states, strict=True))

    def _stopping(self, stop: threading.Event | None) -> bool:
        return self._stop or (stop is not None and stop.is_set())

    def _drain(self, block: bool) -> None:
        drain(self.inbox, self._apply, block, timeout=0.1)

    def _apply(self, command: Command) -> None:
        if isinstance(command, Pause):
            self.paused = True
        elif isinstance(command, Resume):
            self.paused = False
        elif isinstance(command, Stop):
            self._stop = True
        elif isinstance(command, SetParam):
            for trainer in self.trainers:
                trainer.set_param(command.key, command.value)
            self._changes.append((command.key, getattr(self.trainers[0].config, command.key)))

    def _send(self, final: bool) -> None:
        seeds = []
        for trainer, state in zip(self.trainers, self.states, strict=True):
            shown = "paused" if self.paused and state.state == "running" and not final else state.state
            seeds.append(SeedProgress(
                seed=state.seed, global_step=trainer.global_step, episodes=trainer.episodes,
                new_returns=tuple(state.new_returns), last100_mean=trainer.last100_mean,
                solved_episode=state.solved_episode, grad_var_sum=state.grad_var_sum,
                grad_snr_sum=state.grad_snr_sum, diag_updates=state.diag_updates,
                state=shown, message=state.message, paired_var_sum=state.paired_var_sum,
                reference_var_sum=state.reference_var_sum))
            state.new_returns = []
        changes, self._changes = tuple(self._changes), []
        self.report(GroupReport(self.variant, tuple(seeds), final=final, changes=changes))
