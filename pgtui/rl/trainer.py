"""The collect -> update loop of S seeds, its command inbox and the events it emits.

``Trainer`` is plain Python: the playground's process, ``pgtui train``, a race's
variant (``variant_run.py``) and the tests all drive it the same way. A single run is
one seed; a race's variant is several, trained as one: one rollout steps every seed's
envs, one update steps every seed's row of weights. Each seed keeps what makes it that
seed: its envs and random generators, minibatch order, learning rate, clipping, early
stop, optimizer state and divergence undo. Commands submitted from any thread wait in
the inbox until the current update is done, so an update never sees half a change and
a pause or a live change reaches every seed at the same update boundary.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..config import LIVE_PARAMS, Config, ConfigError, check_value
from . import checkpoint, seed_run
from .algorithms import a2c_update, ppo_update, reinforce_update
from .device import device_name
from .dialogue.rlhf import Rlhf, architecture_error
from .dqn import DqnLearner, behaviour_probs, epsilon
from .envs import DIALOGUE_ID, EnvError, describe, make_vec_env, registered_id, solved_threshold
from .evaluation import Evaluator
from .events import (
    ChangeApplied,
    CheckpointSaved,
    Command,
    EpisodesFinished,
    Evaluated,
    Event,
    Pause,
    Resume,
    RunError,
    SaveCheckpoint,
    SetParam,
    Snapshot,
    Solved,
    StatusChanged,
    StepCompared,
    StepOnce,
    Stop,
    Stopped,
    UpdateFinished,
    drain,
)
from .exact_gradient import tabular_model, true_gradient
from .networks import SeedNets
from .optim import RowOptimizer
from .policies import build_policy
from .rollout import Batch, Collector
from .seed_run import SOLVE_WINDOW, Emit, SeedRun
from .streams import SeedStreams


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
        emits = list(emit) if isinstance(emit, Sequence) else [emit or (lambda event: None)] * len(seeds)
        self.autosave, self.autosave_every_s = autosave, autosave_every_s
        self._last_autosave = time.monotonic()
        self.pause_on_diverge = pause_on_diverge  # the playground pauses; headless ends
        self.device = torch.device(device_name(config.device))
        envs = [make_vec_env(config.env, config.num_envs, config.max_episode_steps, config.env_kwargs)
                for _ in seeds]
        self.info = describe(envs[0])
        if config.algo == "dqn" and not self.info.discrete:
            for e in envs:
                e.close()
            raise EnvError(f"env '{config.env}': DQN needs a Discrete action space (one Q value "
                           f"per action); this one is {envs[0].single_action_space}")
        self.rlhf: Rlhf | None = None
        if registered_id(config.env) == DIALOGUE_ID:
            why = architecture_error(config.hidden_sizes, config.activation, config.algo)
            if why is not None:
                for e in envs:
                    e.close()
                raise EnvError(f"env '{config.env}': {why}")
        self.threshold = solved_threshold(config, self.info)
        streams = [SeedStreams(seed) for seed in seeds]
        policies = []
        for stream in streams:
            with torch.random.fork_rng(devices=[]):  # seeded init without touching global RNG
                torch.manual_seed(stream.init())
                policies.append(build_policy(self.info, config.hidden_sizes, config.activation,
                                             tabular=config.policy == "tabular",
                                             init_theta=config.init_theta,
                                             q_network=config.algo == "dqn"))
        self.nets = SeedNets(policies, self.device)
        if registered_id(config.env) == DIALOGUE_ID:
            self.rlhf = Rlhf(self.device)
            self.rlhf.start_from_reference(self.nets)
        scale = torch.cat([torch.ones(self.nets.actor_size),
                           torch.full((self.nets.rows.shape[1] - self.nets.actor_size,),
                                      config.critic_lr_scale)]).to(self.device)
        self.optimizer = RowOptimizer(self.nets.rows, self.nets.grad, config.optimizer,
                                      torch.full((len(seeds),), config.lr, device=self.device), scale,
                                      critic_from=self.nets.actor_size)
        self.runs = [SeedRun(stream, e, torch.Generator(device=self.device).manual_seed(stream.sampler()),
                             torch.Generator().manual_seed(stream.shuffle()))
                     for stream, e in zip(streams, emits, strict=True)]
        self.collector = Collector(envs, self.info, self.device, [r.generator for r in self.runs],
                                   [s.env_reset_seed(e) for s, e in zip(streams, envs, strict=True)],
                                   snapshot_sink=self._emit_snapshot, snapshot_hz=snapshot_hz,
                                   reward_scale=config.reward_scale)
        self.dqn: DqnLearner | None = None
        if config.algo == "dqn":
            self.dqn = DqnLearner(self.nets, config, self.info.obs_dim, [s.replay() for s in streams])
            self.collector.acting = self.dqn.acting(self.nets, [r.generator for r in self.runs],
                                                    self.collector.env_steps, lambda: self.config)
        if self.rlhf is not None:
            self.collector.shaping = self.rlhf.kl_penalty(lambda: self.config.kl_coef)
        self.evaluators = ([Evaluator(config, s, self.info) for s in streams]
                           if config.eval_every > 0 else [])
        if self.rlhf is not None:
            self._use_labeler_bias(config.labeler_bias)
        # tabular envs that publish their model: drawn with the policy's arrows, and
        # REINFORCE's estimates meet the true gradient
        self.tabular = (tabular_model(config.env, config.max_episode_steps, config.env_kwargs)
                        if self.info.discrete else None)
        self.exact_model = self.tabular if config.algo == "reinforce" else None
        self._collected_from = self.collector.env_steps.copy()  # DQN: steps before the rollout
        self.inbox: queue.SimpleQueue[Command] = inbox if inbox is not None else queue.SimpleQueue()
        # REINFORCE races: the reference variant's estimator settings, measured on the
        # same batches (see reinforce_update)
        self.reference_estimator = reference if config.algo == "reinforce" else None
        self.paused = False
        self.last_batch: Batch | None = None
        self._step_pending = False
        self._stop_requested = False

    # -- a single run's figures (seed 0) ----------------------------------------------

    @property
    def global_step(self) -> int:
        return int(self.collector.env_steps[0])

    @property
    def learned_steps(self) -> int:
        return int(self.collector.learned_steps[0])

    @property
    def update(self) -> int:
        return self.runs[0].update

    @property
    def episodes(self) -> int:
        return self.runs[0].episodes

    @property
    def solved(self) -> Solved | None:
        return self.runs[0].solved

    @property
    def recent_returns(self) -> deque:
        return self.runs[0].recent_returns

    @property
    def last100_mean(self) -> float:
        return self.runs[0].last100_mean

    @property
    def train_seconds(self) -> float:
        return self.runs[0].train_seconds

    def seed_step(self, i: int) -> int:
        return int(self.collector.env_steps[i])

    def learned_steps_of(self, i: int) -> int:
        return int(self.collector.learned_steps[i])

    # -- public API ---------------------------------------------------------------------

    def submit(self, command: Command) -> None:
        """Queue a command; thread-safe, applied at the next update boundary."""
        self.inbox.put(command)

    def run(self, stop: threading.Event | None = None, *, max_updates: int | None = None,
            until_solved: bool = False, after_update: Callable[[], None] | None = None) -> str:
        """Train until every seed has reached total_steps, ``max_updates`` or (optionally)
        solved, or a stop. Every seed's end is emitted as ``Stopped``; returns seed 0's.
        ``after_update`` is called after each update (a race reports from it)."""
        stopped = False
        try:
            while True:
                self._drain(block=False)
                if self.paused and after_update is not None:
                    after_update()  # shows "paused" once, then waits
                while self.paused and not self._step_pending and not self._should_stop(stop):
                    self._drain(block=True)
                if self._should_stop(stop):
                    stopped = True
                    break
                seeds = [i for i in range(len(self.runs)) if not self._done(i, max_updates, until_solved)]
                if not seeds:
                    break
                self._step_with_compare(seeds)
                if self._step_pending:
                    self._step_pending, self.paused = False, True
                    self._broadcast(StatusChanged("paused"))
                if after_update is not None:
                    after_update()
                self._maybe_autosave()
        except Exception as err:  # the run ends; the caller's process must not
            for run in self.runs:
                if run.state == "running":
                    run.emit(RunError(f"{type(err).__name__}: {err}", fatal=True))
                    run.state = "error"
        finally:
            reasons = [self._end_reason(i, stopped, max_updates, until_solved)
                       for i in range(len(self.runs))]
            for i, (run, reason) in enumerate(zip(self.runs, reasons, strict=True)):
                run.emit(Stopped(reason, self.seed_step(i)))
            self.collector.envs.close()
            for evaluator in self.evaluators:
                evaluator.close()
        return reasons[0]

    def _step_with_compare(self, seeds: list[int]) -> None:
        """``step``; after a single step (StepOnce), also pi(a|s) before and after on the
        drawn state. DQN's single step, once it learns, is one gradient step on a batch
        from the buffer (no collection): Q(s, .) before and after it."""
        probe = self.collector.obs[0, 0].copy() if self._step_pending else None
        before = self.summary_of(probe) if probe is not None else None
        dqn = self.dqn
        if (probe is not None and dqn is not None
                and all(dqn.buffer.size[i] > 0 and self.seed_step(i) >= self.config.learning_starts
                        for i in seeds)):
            dqn.gradient_step(self.nets, self.optimizer, self.config.replace(gradient_steps=1), seeds)
            ok = [True]
        else:
            ok = self.step(seeds)
        if probe is not None and ok and ok[0]:
            self.runs[0].emit(StepCompared(self.update, tuple(map(float, probe)), before,
                                           self.summary_of(probe)))

    def step(self, seeds: list[int] | None = None) -> list[bool]:
        """One collect + update of ``seeds`` (default: all); per seed, False if its update
        diverged (undone)."""
        seeds = list(range(len(self.runs))) if seeds is None else seeds
        start = time.perf_counter()
        self._anneal(seeds)
        cfg = self.config
        self._collected_from = self.collector.env_steps.copy()
        if cfg.algo == "reinforce":
            batch = self.collector.episodes(self.nets, cfg.episodes_per_update, seeds)
        elif cfg.algo == "dqn":
            batch = self.collector.steps(self.nets, cfg.train_freq, seeds, values=False)
        else:
            batch = self.collector.steps(self.nets, cfg.num_steps, seeds)
        failed = self.collector.envs.failed
        while failed:  # one seed's env failing must not end the others
            i, err = failed.popitem()
            run = self.runs[i]
            run.emit(RunError(f"seed {run.seed}: {type(err).__name__}: {err}", fatal=True))
            run.state = "error"
        if batch is None:
            return []
        ok = self.learn(batch, start)
        for i in batch.seeds if self.evaluators else ():  # after learn: not training time
            if self.runs[i].state == "running" and self.evaluators[i].due(self.seed_step(i)):
                self._evaluate(i)
        return ok

    def learn(self, batch: Batch, start: float) -> list[bool]:
        """The update of the batch's seeds; undoes it for a seed whose loss, gradient or
        weights went non-finite (PPO may have taken several minibatch steps by then)."""
        self.last_batch = batch
        seeds, cfg = batch.seeds, self.config
        for i in seeds:
            self._emit_episodes(i)
        diagnose = cfg.diag_every > 0
        # the diagnostics draw from generators of their own, seeded per update, so that
        # measuring (or diag_every) never changes the run itself
        diag = [torch.Generator().manual_seed(self.runs[i].streams.diagnostics(self.runs[i].update))
                if diagnose and self.runs[i].update % cfg.diag_every == 0 else None for i in seeds]
        # the dialogue's figures, of the policy that wrote the batch
        figures = self.rlhf.measure(self.nets, batch) if self.rlhf is not None else None
        undo = self.optimizer.snapshot()
        if cfg.algo == "reinforce":
            reference = (dataclasses.replace(cfg, **self.reference_estimator)
                         if self.reference_estimator else None)
            true_grad = None
            if self.exact_model is not None:
                params = self.nets.select(seeds)
                true_grad = true_gradient(self.exact_model, self.nets, params, cfg.gamma)
            stats = reinforce_update(self.nets, self.optimizer, batch, cfg,
                                     any(d is not None for d in diag), reference, true_grad)
        elif cfg.algo == "a2c":
            stats = a2c_update(self.nets, self.optimizer, batch, cfg, diag)
        elif cfg.algo == "dqn":
            stats = self.dqn.learn(self.nets, self.optimizer, batch, cfg, self._collected_from,
                                   self.collector.env_steps)
        else:
            stats = ppo_update(self.nets, self.optimizer, batch, cfg, diag,
                               [self.runs[i].cpu_generator for i in seeds])
        if figures is not None:
            stats = [{**s, **f} for s, f in zip(stats, figures, strict=True)]
        finite = torch.isfinite(self.nets.rows).all(1).tolist()
        seconds = (time.perf_counter() - start) / len(seeds)  # the seeds share the time
        return [self._finish(i, s, seconds, finite[i], undo) for i, s in zip(seeds, stats, strict=True)]

    def _finish(self, i: int, stats: dict[str, float], seconds: float, weights_finite: bool,
                undo: tuple[torch.Tensor, ...]) -> bool:
        """Count and report seed ``i``'s update, or undo it if it diverged."""
        run = self.runs[i]
        run.train_seconds += seconds
        bad = [f"{k} = {stats[k]}" for k in ("policy_loss", "value_loss", "td_loss", "grad_norm",
                                             "critic_grad_norm")
               if k in stats and not math.isfinite(stats[k])]
        if not bad and not weights_finite:
            bad = ["a weight = nan/inf"]
        if bad:
            self.optimizer.restore(i, undo)
            then = "paused; lower lr and resume" if self.pause_on_diverge else "run ended"
            run.emit(RunError(f"diverged at update {run.update + 1}: {bad[0]} (lr {self.config.lr:g}); "
                              f"weights restored to the last good update, {then}",
                              fatal=not self.pause_on_diverge, diverged=True))
            if self.pause_on_diverge:
                self._step_pending, self.paused = False, True
                self._broadcast(StatusChanged("paused"))
            else:
                run.state = "diverged"
            return False
        run.update += 1
        step = self.seed_step(i)
        stats.update({"global_step": step, "learned_steps": self.learned_steps_of(i),
                      "update": run.update, "episodes": run.episodes,
                      "lr": float(self.optimizer.lr[i]), "last100_mean": run.last100_mean,
                      "wall_s": run.train_seconds,
                      "sps": step / run.train_seconds if run.train_seconds > 0 else 0.0})
        run.emit(UpdateFinished(run.update, step, stats))
        return True

    def action_probs(self, obs) -> tuple[float, ...]:
        """pi(.|obs) for a discrete policy, (mean..., std...) for a Gaussian one, Q(obs, .)
        for DQN (seed 0)."""
        return self.summary_of(obs)

    def state_dict(self, i: int = 0) -> dict[str, Any]:
        """Everything a checkpoint of seed ``i`` holds (``seed_run.capture``)."""
        return seed_run.capture(self, i)

    def load_run_state(self, payload: dict[str, Any], i: int = 0) -> None:
        """Continue seed ``i`` from a checkpoint written by ``state_dict`` for this config."""
        seed_run.restore(self, payload, i)

    def save_checkpoint(self, path: str | Path) -> Path:
        written = checkpoint.save(path, self.state_dict())
        self.runs[0].emit(CheckpointSaved(str(written), self.global_step))
        return written

    def set_param(self, key: str, value: Any) -> None:
        """Apply a live parameter now (callers hold the update boundary); errors are emitted."""
        if key not in LIVE_PARAMS:
            self._broadcast(RunError(f"{key} is not a live parameter; it needs a new run"))
            return
        try:
            value = check_value(key, value, "live change")
        except ConfigError as err:
            self._broadcast(RunError(str(err)))
            return
        old = getattr(self.config, key)
        if old == value:
            return
        self.config = dataclasses.replace(self.config, **{key: value})
        if key == "lr":
            self.optimizer.set_lr(slice(None), value)
        if key == "labeler_bias" and self.rlhf is not None:
            self._use_labeler_bias(value)
        for i, run in enumerate(self.runs):
            run.emit(ChangeApplied(self.seed_step(i), run.update, key, old, value))

    # -- internals ----------------------------------------------------------------------

    def _use_labeler_bias(self, labeler_bias: float) -> None:
        """The dialogue's reward model becomes the one fitted at ``labeler_bias``, in
        the training envs and the evaluation ones."""
        self.rlhf.use_labeler_bias(labeler_bias)
        for e in [*self.collector.envs.envs, *(ev.envs for ev in self.evaluators)]:
            e.unwrapped.set_labeler_bias(labeler_bias)

    def _done(self, i: int, max_updates: int | None, until_solved: bool) -> bool:
        run = self.runs[i]
        return (run.state != "running" or self.seed_step(i) >= self.config.total_steps
                or (max_updates is not None and run.update >= max_updates)
                or (until_solved and run.solved is not None))

    def _end_reason(self, i: int, stopped: bool, max_updates: int | None, until_solved: bool) -> str:
        run = self.runs[i]
        if run.state != "running":
            return run.state
        if max_updates is not None and run.update >= max_updates:
            return "updates"
        if until_solved and run.solved is not None:
            return "solved"
        if self.seed_step(i) >= self.config.total_steps:
            return "finished"
        return "stopped" if stopped else "finished"

    def _anneal(self, seeds: list[int]) -> None:
        """Before every rollout: each seed's lr, annealed over its own steps."""
        cfg = self.config
        if cfg.anneal_lr:
            for i in seeds:
                self.optimizer.set_lr(i, cfg.lr * max(1.0 - self.seed_step(i) / cfg.total_steps, 0.0))

    def _maybe_autosave(self) -> None:
        if self.autosave is None or self.autosave_every_s <= 0:
            return
        if time.monotonic() - self._last_autosave >= self.autosave_every_s:
            self.save_checkpoint(self.autosave)
            self._last_autosave = time.monotonic()

    def _should_stop(self, stop: threading.Event | None) -> bool:
        return self._stop_requested or (stop is not None and stop.is_set())

    def _drain(self, block: bool) -> None:
        drain(self.inbox, self._apply, block, timeout=0.05)

    def _broadcast(self, event: Event) -> None:
        """An event about the run, not a seed: every seed's listener hears it once."""
        for emit in dict.fromkeys(run.emit for run in self.runs):
            emit(event)

    def _apply(self, command: Command) -> None:
        if isinstance(command, SetParam):
            self.set_param(command.key, command.value)
        elif isinstance(command, Pause):
            self.paused = True
            self._broadcast(StatusChanged("paused"))
        elif isinstance(command, Resume):
            self.paused = False
            self._broadcast(StatusChanged("running"))
        elif isinstance(command, StepOnce):
            self._step_pending = True
            self._broadcast(StatusChanged("stepping"))
        elif isinstance(command, SaveCheckpoint):
            try:
                self.save_checkpoint(command.path)
            except OSError as err:
                self._broadcast(RunError(f"cannot save checkpoint {command.path}: {err.strerror}"))
        elif isinstance(command, Stop):
            self._stop_requested = True

    def _emit_episodes(self, i: int) -> None:
        finished, self.collector.finished[i] = self.collector.finished[i], []
        if not finished:
            return
        run = self.runs[i]
        solved = None
        for ret, _, env_step, learned_step in finished:  # solved at the exact episode
            run.episodes += 1
            run.recent_returns.append(ret)
            if (solved is None and run.solved is None and self.threshold is not None
                    and len(run.recent_returns) >= SOLVE_WINDOW and run.last100_mean >= self.threshold):
                solved = Solved(env_step, run.episodes, run.train_seconds, run.last100_mean,
                                learned_step)
        run.emit(EpisodesFinished(self.seed_step(i), tuple(f[0] for f in finished),
                                  tuple(f[1] for f in finished)))
        if solved is not None:
            run.solved = solved
            run.emit(solved)

    def _evaluate(self, i: int) -> None:
        """Seed ``i``'s greedy evaluation; solved if its mean reaches the threshold first."""
        run = self.runs[i]
        returns = self.evaluators[i].run(self.nets, i)
        mean = sum(returns) / len(returns)
        step = self.seed_step(i)
        run.emit(Evaluated(step, mean, tuple(returns)))
        if run.solved is None and self.threshold is not None and mean >= self.threshold:
            run.solved = Solved(step, run.episodes, run.train_seconds, mean,
                                self.learned_steps_of(i), by="eval")
            run.emit(run.solved)

    def summary_of(self, obs, head: torch.Tensor | None = None) -> tuple[float, ...]:
        """Seed 0's policy at ``obs``: pi(.|obs), (mean..., std...) for a Gaussian, or
        Q(obs, .) for DQN."""
        if self.dqn is None:
            return self.nets.summary(0, obs, head)
        if head is None:
            x = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
            head = self.nets.head(x.reshape(1, 1, -1).expand(self.nets.num_seeds, 1, -1))[0, 0]
        return tuple(head.tolist())

    @torch.no_grad()
    def _policy_table(self) -> tuple[tuple[float, ...], ...] | None:
        """Seed 0's actor output over every state of a tabular env (softmaxed unless DQN)."""
        if self.tabular is None or len(self.tabular.observations) < 2:
            return None
        x = torch.as_tensor(self.tabular.observations, device=self.device)
        head = self.nets.head(x.expand(self.nets.num_seeds, *x.shape))[0]
        table = head if self.dqn is not None else head.softmax(-1)
        return tuple(map(tuple, table.tolist()))

    def _emit_snapshot(self, obs, head: torch.Tensor) -> None:
        summary = self.summary_of(obs, head)
        obs = tuple(map(float, obs))
        if self.dqn is not None:
            eps = epsilon(self.config, self.global_step)
            probs = tuple(behaviour_probs(head, eps).tolist())
            event = Snapshot(self.global_step, obs, probs, None, None, max(summary), q_values=summary,
                             policy_table=self._policy_table())
        elif self.info.discrete:
            last = self.collector.last_final if self.rlhf is not None else None
            event = Snapshot(self.global_step, obs, summary, None, None, self.nets.value(0, obs),
                             last_final=None if last is None else tuple(map(float, last)),
                             policy_table=self._policy_table())
        else:
            d = len(summary) // 2
            event = Snapshot(self.global_step, obs, None, summary[:d], summary[d:],
                             self.nets.value(0, obs))
        self.runs[0].emit(event)
