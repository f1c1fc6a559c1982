"""The collect -> update loop, its command inbox and the events it emits.

``Trainer`` is plain Python: the TUI's worker, the headless CLI, compare runs and the
tests all drive it the same way. Commands submitted from any thread wait in the inbox
until the current update is done, so an update never sees half a change.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..config import LIVE_PARAMS, Config, ConfigError, check_value
from . import checkpoint, env_state
from .algorithms import a2c_update, ppo_update, reinforce_update
from .device import device_name
from .envs import describe, make_vec_env
from .events import (
    ChangeApplied,
    CheckpointSaved,
    Command,
    EpisodesFinished,
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
from .flat import FlatOptimizer, flatten_parameters
from .policies import action_summary, build_policy
from .rollout import Batch, Collection, Collector

SOLVE_WINDOW = 100  # episodes in the "last-100 mean"


@dataclasses.dataclass
class PendingUpdate:
    """Between ``begin_update`` and ``finish_update``."""

    diag_rng: torch.Generator | None  # draws the diagnostics' groups; None: skip them
    undo: Callable[[], None]  # puts the weights and optimizer state back as they were


class Trainer:
    """Trains one policy on one vector env; emits events through ``emit``."""

    def __init__(self, config: Config, emit: Callable[[Event], None] | None = None, *,
                 snapshot_hz: float = 0.0, inbox: queue.SimpleQueue | None = None,
                 pause_on_diverge: bool = False, autosave: Path | None = None,
                 autosave_every_s: float = 30.0) -> None:
        self.config = config
        self.autosave, self.autosave_every_s = autosave, autosave_every_s
        self._last_autosave = time.monotonic()
        self.pause_on_diverge = pause_on_diverge  # the playground pauses; headless ends
        self.emit = emit or (lambda event: None)
        self.device = torch.device(device_name(config.device))
        self.envs = make_vec_env(config.env, config.num_envs)
        self.info = describe(self.envs)
        self.threshold = (config.solved_threshold if config.solved_threshold is not None
                          else self.info.reward_threshold)
        with torch.random.fork_rng(devices=[]):  # seeded init without touching global RNG
            torch.manual_seed(config.seed)
            self.policy = build_policy(self.info, config.hidden_sizes, config.activation,
                                       tabular=config.policy == "tabular",
                                       init_theta=config.init_theta).to(self.device)
        self.optimizer = self._make_optimizer()
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.cpu_generator = torch.Generator().manual_seed(config.seed + 1)
        self.collector = Collector(self.envs, self.info, self.policy, self.device,
                                   self.generator, seed=config.seed,
                                   snapshot_sink=self._emit_snapshot, snapshot_hz=snapshot_hz)
        self.inbox: queue.SimpleQueue[Command] = inbox if inbox is not None else queue.SimpleQueue()
        self.update = 0
        self.episodes = 0
        self.recent_returns: deque[float] = deque(maxlen=SOLVE_WINDOW)
        self.train_seconds = 0.0
        self.solved: Solved | None = None
        self.paused = False
        self.last_batch = None
        self._step_pending = False
        self._stop_requested = False
        # REINFORCE races: the reference variant's estimator settings, measured on the
        # same batches (see reinforce_update)
        self.reference_estimator: dict[str, Any] | None = None

    # -- public API ---------------------------------------------------------------------

    @property
    def global_step(self) -> int:
        return self.collector.env_steps

    @property
    def last100_mean(self) -> float:
        return sum(self.recent_returns) / len(self.recent_returns) if self.recent_returns else math.nan

    def submit(self, command: Command) -> None:
        """Queue a command; thread-safe, applied at the next update boundary."""
        self.inbox.put(command)

    def run(self, stop: threading.Event | None = None, *, max_updates: int | None = None,
            until_solved: bool = False) -> str:
        """Train until total_steps, a stop, ``max_updates`` or (optionally) solved.

        Returns the reason it ended, also emitted as ``Stopped``.
        """
        reason = "finished"
        try:
            while True:
                self._drain(block=False)
                while self.paused and not self._step_pending and not self._should_stop(stop):
                    self._drain(block=True)
                if self._should_stop(stop):
                    reason = "stopped"
                    break
                if self.global_step >= self.config.total_steps:
                    break
                stepping = self._step_pending
                probe_obs = self.collector.obs[0].copy() if stepping else None
                before = self.action_probs(probe_obs) if stepping else None
                ok = self.step()
                if stepping and ok:
                    self.emit(StepCompared(self.update, tuple(map(float, probe_obs)), before,
                                           self.action_probs(probe_obs)))
                if not ok and not self.pause_on_diverge:
                    reason = "diverged"
                    break
                if not ok:
                    self._step_pending, self.paused = False, True
                    self.emit(StatusChanged("paused"))
                    continue
                if self._step_pending:
                    self._step_pending = False
                    self.paused = True
                    self.emit(StatusChanged("paused"))
                if max_updates is not None and self.update >= max_updates:
                    reason = "updates"
                    break
                if until_solved and self.solved is not None:
                    reason = "solved"
                    break
                self._maybe_autosave()
        except Exception as err:  # the run ends; the caller's process must not
            self.emit(RunError(f"{type(err).__name__}: {err}", fatal=True))
            reason = "error"
        finally:
            self.emit(Stopped(reason, self.global_step))
            self.envs.close()
        return reason

    def step(self) -> bool:
        """One collect + update. Returns False if the update diverged."""
        start = time.perf_counter()
        batch = self.collector.run(self.collection())
        return self.learn(batch, time.perf_counter() - start)

    def collection(self) -> Collection:
        """The next rollout, as a generator for ``Collector.run`` (or a race's lockstep)."""
        self.begin_rollout()
        cfg = self.config
        if cfg.algo == "reinforce":
            return self.collector.episodes(cfg.episodes_per_update)
        return self.collector.steps(cfg.num_steps)

    def begin_rollout(self) -> None:
        """What comes before every rollout, whoever collects it: the annealed learning rate."""
        cfg = self.config
        if cfg.anneal_lr:
            self._set_lr(cfg.lr * max(1.0 - self.global_step / cfg.total_steps, 0.0))

    def learn(self, batch: Batch, collect_seconds: float = 0.0) -> bool:
        """The update on a collected batch. Returns False if it diverged.

        A diverged update is undone: the weights and optimizer state go back to what
        they were before it (PPO may have applied several minibatch steps by then).
        """
        start = time.perf_counter() - collect_seconds
        pending = self.begin_update(batch)
        cfg = self.config
        if cfg.algo == "reinforce":
            stats = reinforce_update(self.policy, self.optimizer, batch, cfg,
                                     pending.diag_rng is not None, self.reference_config)
        elif cfg.algo == "a2c":
            stats = a2c_update(self.policy, self.optimizer, batch, cfg, pending.diag_rng)
        else:
            stats = ppo_update(self.policy, self.optimizer, batch, cfg, pending.diag_rng,
                               self.cpu_generator)
        return self.finish_update(pending, stats, time.perf_counter() - start)

    @property
    def reference_config(self) -> Config | None:
        """This run's config with the race's paired reference estimator, if one is set."""
        if not self.reference_estimator:
            return None
        return dataclasses.replace(self.config, **self.reference_estimator)

    def begin_update(self, batch: Batch, undo: Callable[[], None] | None = None
                     ) -> PendingUpdate:
        """Before an update (``learn``'s, or a race's for several seeds at once): report
        the finished episodes and keep what is needed to undo the update (a race's
        stacked update passes its own ``undo``)."""
        self.last_batch = batch
        self._emit_episodes()
        diagnose = self.config.diag_every > 0 and self.update % self.config.diag_every == 0
        # the diagnostics draw from a generator of their own, seeded per update, so that
        # measuring (or diag_every) never changes the run itself
        diag_rng = (torch.Generator().manual_seed(self.config.seed * 1_000_003 + self.update)
                    if diagnose else None)
        if undo is None:
            undo = functools.partial(self._restore_weights, self._undo_point())
        return PendingUpdate(diag_rng, undo)

    def finish_update(self, pending: PendingUpdate, stats: dict[str, float],
                      seconds: float, weights_finite: bool | None = None) -> bool:
        """After an update: undo it if it diverged, else count it and report it.
        ``weights_finite``: already checked by the caller (a race, for all seeds)."""
        cfg = self.config
        self.train_seconds += seconds
        self.update += 1
        bad = [f"{k} = {stats[k]}" for k in ("policy_loss", "value_loss", "grad_norm")
               if not math.isfinite(stats[k])]
        if weights_finite is None:
            weights_finite = all(bool(torch.isfinite(flat).all()) for flat in self.optimizer.params)
        if not bad and not weights_finite:
            bad = ["a weight = nan/inf"]
        if bad:
            pending.undo()
            then = "paused; lower lr and resume" if self.pause_on_diverge else "run ended"
            self.emit(RunError(f"diverged at update {self.update}: {bad[0]} (lr {cfg.lr:g}); "
                               f"weights restored to the last good update, {then}",
                               fatal=not self.pause_on_diverge, diverged=True))
            self.update -= 1
            return False
        stats.update(self._progress_stats())
        self.emit(UpdateFinished(self.update, self.global_step, stats))
        self._check_solved()
        return True

    def action_probs(self, obs) -> tuple[float, ...]:
        """pi(.|obs) for a discrete policy, or (mean..., std...) for a Gaussian one."""
        return action_summary(self.policy.actor, obs, self.device)

    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds: tensors, plain config, progress counters, and
        under ``run`` what a resumed run needs to go on exactly as this one would."""
        c = self.collector
        solved = dataclasses.asdict(self.solved) if self.solved is not None else None
        # copies: in a race the live tensors are views of all seeds' storage, which
        # torch.save would write out whole
        policy, optimizer = self._weights()
        return {
            "policy": policy,
            "optimizer": optimizer,
            "config": dataclasses.asdict(self.config),
            "meta": {"global_step": self.global_step, "update": self.update,
                     "episodes": self.episodes, "env": self.config.env},
            "run": {
                "generator": self.generator.get_state(),
                "cpu_generator": self.cpu_generator.get_state(),
                "env": env_state.capture(self.envs),
                "collector": {"obs": torch.from_numpy(c.obs.copy()),
                              "resetting": torch.from_numpy(c.resetting.copy()),
                              "ep_return": torch.from_numpy(c.ep_return.copy()),
                              "ep_length": torch.from_numpy(c.ep_length.copy()),
                              "env_steps": c.env_steps},
                "recent_returns": list(self.recent_returns),
                "train_seconds": self.train_seconds,
                "solved": solved,
            },
        }

    def load_run_state(self, payload: dict[str, Any]) -> None:
        """Continue from a checkpoint written by ``state_dict`` for this same config."""
        if "run" not in payload:
            raise checkpoint.CheckpointError("this checkpoint holds weights only (written by an "
                                             "older pgtui); it cannot be resumed")
        try:
            self._load_run_state(payload)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise checkpoint.CheckpointError(f"checkpoint does not fit its config: {first_line}"
                                             ) from None

    def _load_run_state(self, payload: dict[str, Any]) -> None:
        run, c = payload["run"], self.collector
        self.policy.load_state_dict(payload["policy"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.generator.set_state(run["generator"])
        self.cpu_generator.set_state(run["cpu_generator"])
        env_state.restore(self.envs, run["env"])
        c.obs = run["collector"]["obs"].numpy().copy()
        c.resetting = run["collector"]["resetting"].numpy().copy()
        c.ep_return = run["collector"]["ep_return"].numpy().copy()
        c.ep_length = run["collector"]["ep_length"].numpy().copy()
        c.env_steps = int(run["collector"]["env_steps"])
        self.update = int(payload["meta"]["update"])
        self.episodes = int(payload["meta"]["episodes"])
        self.recent_returns.extend(run["recent_returns"])
        self.train_seconds = float(run["train_seconds"])
        self.solved = Solved(**run["solved"]) if run["solved"] is not None else None

    def save_checkpoint(self, path: str | Path) -> Path:
        written = checkpoint.save(path, self.state_dict())
        self.emit(CheckpointSaved(str(written), self.global_step))
        return written

    # -- internals ----------------------------------------------------------------------

    def _make_optimizer(self) -> FlatOptimizer:
        """Two parameter groups, the actor's then the critic's (each one flat tensor, see
        ``flat.py``); the critic's lr is scaled."""
        cfg = self.config
        groups = [{"params": [flatten_parameters(self.policy.actor)], "lr_scale": 1.0},
                  {"params": [flatten_parameters(self.policy.critic)],
                   "lr_scale": cfg.critic_lr_scale}]
        for group in groups:
            group["lr"] = cfg.lr * group["lr_scale"]
        return FlatOptimizer(groups, kind=cfg.optimizer, lr=cfg.lr, eps=1e-5)

    def _weights(self) -> tuple[dict, dict]:
        """Copies of the policy's and the optimizer's state, to undo a diverged update."""
        policy = {k: v.clone() for k, v in self.policy.state_dict().items()}
        optim = self.optimizer.state_dict()  # cloned by hand: deepcopy costs 3x more
        state = {i: {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()}
                 for i, s in optim["state"].items()}
        return policy, {"state": state, "param_groups": copy.deepcopy(optim["param_groups"])}

    def _undo_point(self) -> tuple[list[torch.Tensor], dict]:
        """Copies of the flat weights (every parameter is a view of one, see ``flat.py``)
        and of the optimizer's state: a few tensors to copy, not one per parameter."""
        flats = self.optimizer.params
        state = {i: {k: v.clone() if torch.is_tensor(v) else v
                     for k, v in self.optimizer.state[p].items()} for i, p in enumerate(flats)}
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.optimizer.param_groups]
        return [p.detach().clone() for p in flats], {"state": state, "param_groups": groups}

    def _restore_weights(self, saved: tuple[list[torch.Tensor], dict]) -> None:
        """Copied back in place: a race's stacked update holds views of these tensors."""
        with torch.no_grad():
            for flat, old in zip(self.optimizer.params, saved[0], strict=True):
                flat.copy_(old)
        for index, param in enumerate(self.optimizer.params):
            old, live = saved[1]["state"].get(index, {}), self.optimizer.state[param]
            for key in set(live) - set(old):  # the update created it: start fresh again
                del live[key]
            for key, value in old.items():
                if torch.is_tensor(value) and torch.is_tensor(live.get(key)):
                    live[key].copy_(value)
                else:
                    live[key] = value
        for group, old_group in zip(self.optimizer.param_groups, saved[1]["param_groups"],
                                    strict=True):
            group.update({k: v for k, v in old_group.items() if k != "params"})

    def _maybe_autosave(self) -> None:
        if self.autosave is None or self.autosave_every_s <= 0:
            return
        if time.monotonic() - self._last_autosave >= self.autosave_every_s:
            self.save_checkpoint(self.autosave)
            self._last_autosave = time.monotonic()

    def _set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]

    def _should_stop(self, stop: threading.Event | None) -> bool:
        return self._stop_requested or (stop is not None and stop.is_set())

    def _drain(self, block: bool) -> None:
        drain(self.inbox, self._apply, block, timeout=0.05)

    def _apply(self, command: Command) -> None:
        if isinstance(command, SetParam):
            self.set_param(command.key, command.value)
        elif isinstance(command, Pause):
            self.paused = True
            self.emit(StatusChanged("paused"))
        elif isinstance(command, Resume):
            self.paused = False
            self.emit(StatusChanged("running"))
        elif isinstance(command, StepOnce):
            self._step_pending = True
            self.emit(StatusChanged("stepping"))
        elif isinstance(command, SaveCheckpoint):
            try:
                self.save_checkpoint(command.path)
            except OSError as err:
                self.emit(RunError(f"cannot save checkpoint {command.path}: {err.strerror}"))
        elif isinstance(command, Stop):
            self._stop_requested = True

    def set_param(self, key: str, value: Any) -> None:
        """Apply a live parameter now (callers hold the update boundary); errors are emitted."""
        if key not in LIVE_PARAMS:
            self.emit(RunError(f"{key} is not a live parameter; it needs a new run"))
            return
        try:
            value = check_value(key, value, "live change")
        except ConfigError as err:
            self.emit(RunError(str(err)))
            return
        old = getattr(self.config, key)
        if old == value:
            return
        self.config = dataclasses.replace(self.config, **{key: value})
        if key == "lr":
            self._set_lr(value)
        self.emit(ChangeApplied(self.global_step, self.update, key, old, value))

    def _emit_episodes(self) -> None:
        finished, self.collector.finished = self.collector.finished, []
        if not finished:
            return
        returns = tuple(r for r, _ in finished)
        self.episodes += len(finished)
        self.recent_returns.extend(returns)
        self.emit(EpisodesFinished(self.global_step, returns, tuple(n for _, n in finished)))

    def _emit_snapshot(self, obs, dist, value: float | None) -> None:
        if self.info.discrete:
            probs = tuple(float(p) for p in dist.probs[0])
            event = Snapshot(self.global_step, tuple(map(float, obs)), probs, None, None, value)
        else:
            event = Snapshot(self.global_step, tuple(map(float, obs)), None,
                             tuple(float(m) for m in dist.mean[0]),
                             tuple(float(s) for s in dist.stddev[0]), value)
        self.emit(event)

    def _progress_stats(self) -> dict[str, float]:
        return {
            "global_step": self.global_step, "update": self.update, "episodes": self.episodes,
            "lr": self.optimizer.param_groups[0]["lr"], "last100_mean": self.last100_mean,
            "wall_s": self.train_seconds,
            "sps": self.global_step / self.train_seconds if self.train_seconds > 0 else 0.0,
        }

    def _check_solved(self) -> None:
        if (self.solved is None and self.threshold is not None
                and len(self.recent_returns) >= SOLVE_WINDOW
                and self.last100_mean >= self.threshold):
            self.solved = Solved(self.global_step, self.episodes, self.train_seconds,
                                 self.last100_mean)
            self.emit(self.solved)
