"""`pgtui train`: one run without a screen, for scripts, benchmarks and CI."""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import Config
from ..metrics import MetricsWriter, cut_after
from ..rl.algos import algo_spec
from ..rl.events import Event, RunError, Solved, UpdateFinished
from ..rl.trainer import Trainer

FAILED = ("diverged", "error")
REASONS = {"finished": "reached total_steps", "updates": "reached --updates",
           "solved": "solved", "stopped": "stopped", "diverged": "diverged", "error": "failed"}


@dataclass
class TrainOptions:
    preset: str
    max_updates: int | None = None
    until_solved: bool = False
    out: Path | None = None
    json: bool = False
    checkpoint_every_s: float = 30.0  # with --out: also save every so often while running
    resume: dict[str, Any] | None = None  # a checkpoint payload to continue from
    tensorboard: Path | None = None  # also TensorBoard scalars in this folder
    progress: bool | None = None  # a progress bar (None: where stderr is a terminal)
    quiet: bool = False  # no summary printed (the Python API reads it back instead)


class _Fanout:
    """Sends each event to several listeners and remembers what the summary needs."""

    def __init__(self, *sinks) -> None:
        self.sinks = [s for s in sinks if s is not None]
        self.errors: list[str] = []
        self.solved: Solved | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunError):
            self.errors.append(event.message)
        elif isinstance(event, Solved):
            self.solved = event
        for sink in self.sinks:
            sink(event)


def _progress_sink(progress: Progress, task, total_steps: int):
    def sink(event: Event) -> None:
        if isinstance(event, UpdateFinished):
            mean = event.stats.get("last100_mean", math.nan)
            label = "mean100 —" if math.isnan(mean) else f"mean100 {mean:8.1f}"
            progress.update(task, completed=min(event.global_step, total_steps),
                            description=label)
    return sink


def summary(trainer: Trainer, options: TrainOptions, reason: str) -> dict[str, Any]:
    run = trainer.runs[0]
    solved, mean = run.solved, run.last100_mean
    return {
        "preset": options.preset, "algo": trainer.config.algo, "env": trainer.config.env,
        "seed": trainer.config.seed, "device": str(trainer.device), "reason": reason,
        "updates": trainer.update, "global_step": trainer.global_step,
        "learned_steps": trainer.learned_steps_of(0),
        "episodes": run.episodes, "wall_s": round(run.train_seconds, 3),
        "sps": round(trainer.global_step / run.train_seconds, 1) if run.train_seconds else 0.0,
        "last100_mean": None if math.isnan(mean) else round(mean, 3),
        "solved": solved is not None,
        "solved_step": solved.global_step if solved else None,
        "solved_learned_step": solved.learned_step if solved else None,
        "solved_episode": solved.episode if solved else None,
        "solved_by": solved.by if solved else None,
        "solved_wall_s": round(solved.wall_s, 3) if solved else None,
    }


def _tabular_state(trainer: Trainer) -> tuple[list[float], list[float]]:
    theta = trainer.nets.state_dict(0)["actor.theta"].cpu()
    return theta.tolist(), torch.softmax(theta, 0).tolist()


def _worked_step_report(trainer: Trainer, theta_before: list[float]) -> list[str]:
    """The one-step arithmetic of a tabular softmax update, as the lesson writes it."""
    batch = trainer.last_batch
    action = int(batch.actions[batch.valid][0])
    ret = float(batch.rewards[batch.valid][0])
    theta = torch.tensor(theta_before, requires_grad=True)
    logp = torch.distributions.Categorical(logits=theta).log_prob(torch.tensor(action))
    (grad,) = torch.autograd.grad(logp, theta)
    names = trainer.info.action_names
    theta_after, probs_after = _tabular_state(trainer)
    fmt = lambda xs: "(" + ", ".join(f"{x:.3f}" for x in xs) + ")"  # noqa: E731
    return [
        f"sampled action: {names[action]}   return G = {ret:g}",
        f"grad log pi({names[action]}) = {fmt(grad.tolist())}",
        f"theta after  = {fmt(theta_after)}   (lr {trainer.config.lr:g} x G x grad)",
        f"pi({names[action]}) after = {probs_after[action]:.3f}",
    ]


def run_train(config: Config, options: TrainOptions) -> int:
    """Run one training; returns the process exit code (0 ok, 1 the run failed)."""
    torch.set_num_threads(1)  # tiny MLPs: threads cost more than they give
    show_progress = (sys.stderr.isatty() and not options.json) if options.progress is None \
        else options.progress
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=Console(stderr=True), transient=True,
                        disable=not show_progress)
    task = progress.add_task("mean100 —", total=config.total_steps)
    fanout = _Fanout(_progress_sink(progress, task, config.total_steps))
    autosave = options.out / "checkpoint.pt" if options.out is not None else None
    # bad envs and devices fail here, before any file
    trainer = Trainer(config, fanout, autosave=autosave, autosave_every_s=options.checkpoint_every_s)
    if options.resume is not None:
        trainer.load_run_state(options.resume)
    writer = None
    if options.out is not None:
        options.out.mkdir(parents=True, exist_ok=True)
        (options.out / "config.toml").write_text(config.to_toml(), encoding="utf-8")
        metrics = options.out / "metrics.jsonl"
        if options.resume is not None:
            cut_after(metrics, trainer.global_step)
        writer = MetricsWriter(metrics, episodes_before=trainer.runs[0].episodes)
        if options.resume is not None:
            writer.write({"type": "resumed", "global_step": trainer.global_step,
                          "update": trainer.update, "episodes": trainer.runs[0].episodes})
        fanout.sinks.insert(0, writer)
    board = None
    if options.tensorboard is not None:
        from ..tensorboard import TensorBoardSink

        board = TensorBoardSink(options.tensorboard)
        fanout.sinks.append(board)
    tabular = config.policy == "tabular"
    if tabular and not options.json:
        theta, probs = _tabular_state(trainer)
        names = trainer.info.action_names
        print(f"theta before = ({', '.join(f'{x:.3f}' for x in theta)})   "
              + "   ".join(f"pi({n}) = {p:.3f}" for n, p in zip(names, probs, strict=False)))
        theta_before = theta
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    reason = "error"
    try:
        with progress:
            reason = trainer.run(stop, max_updates=options.max_updates,
                                 until_solved=options.until_solved)
    finally:
        signal.signal(signal.SIGINT, previous)
        if writer is not None:
            if reason not in FAILED or trainer.update > 0:
                trainer.save_checkpoint(autosave)
            writer.close()
        if board is not None:
            board.close()
    if tabular and not options.json and trainer.update == 1:
        print("\n".join(_worked_step_report(trainer, theta_before)))
    for message in fanout.errors:
        print(f"pgtui train: {message}", file=sys.stderr)
    result = summary(trainer, options, reason)
    if options.out is not None:
        (options.out / "summary.json").write_text(json.dumps(result) + "\n", encoding="utf-8")
    if options.quiet:
        pass
    elif options.json:
        print(json.dumps(result))
    else:
        print(_human_summary(result))
    return 1 if reason in FAILED else 0


def _human_summary(s: dict[str, Any]) -> str:
    mean = "—" if s["last100_mean"] is None else f"{s['last100_mean']:.1f}"
    title = algo_spec(s["algo"]).title  # a learner of the user's own: not its file's path
    line = (f"{s['env']} {title} seed {s['seed']}: {REASONS[s['reason']]} after {s['updates']} "
            f"updates, {s['global_step']} steps ({s['learned_steps']} learned from), "
            f"{s['episodes']} episodes, {s['wall_s']:.1f} s "
            f"({s['sps']:.0f} steps/s); last-100 mean {mean}")
    if s["solved"]:
        line += (f"; solved at step {s['solved_step']} (episode {s['solved_episode']}, "
                 f"{s['solved_wall_s']:.1f} s)")
    return line
