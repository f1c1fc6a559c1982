"""What runs in a training, variant or watch process: its setup, its commands from the
parent, and its end when the parent goes."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .. import lockdown
from ..rl.events import Command, Event, EventBatcher, RunError, Stop, Stopped
from .budget import TRAINER_NICE_VAR

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
    from ..config import from_mapping
    from ..metrics import MetricsWriter
    from ..rl.trainer import Trainer

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
    from ..metrics import MetricsWriter
    from ..rl.race.spec import seed_dir

    sinks = []
    for config in configs:
        writers: list = []
        if metrics_dir:
            folder = seed_dir(Path(metrics_dir), variant, config.seed)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "config.toml").write_text(config.to_toml(), encoding="utf-8")
            writers.append(MetricsWriter(folder / "metrics.jsonl"))
        if tensorboard:
            from ..tensorboard import TensorBoardSink

            writers.append(TensorBoardSink(seed_dir(Path(tensorboard), variant, config.seed)))
        sinks.append(writers)
    return sinks


def _variant_main(commands, reports, variant: str, configs_data: list[dict],
                metrics_dir: str | None, resume: list[dict | None] | None,
                report_hz: float, reference: dict | None, threads: int,
                tensorboard: str | None) -> None:
    from ..config import from_mapping
    from ..rl.race.variant import VariantRun

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




def _player_main(commands, frames, path: str) -> None:
    """Play the checkpoint at ``path`` in one env at the env's frame rate, one frame
    (obs, pi summary, episode return, episodes) at a time, until told to stop."""
    from ..rl.player import Player

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
