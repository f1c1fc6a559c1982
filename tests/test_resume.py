"""Checkpoint and resume: a resumed run goes on exactly as the uninterrupted one (CPU)."""

import os
import signal
import subprocess
import time

import numpy as np
import pytest
import torch
from cli_helpers import call_pgtui, pgtui_command, run_pgtui

from pgtui.metrics import WALL_CLOCK_FIELDS, read_metrics
from pgtui.preset_files import load_preset
from pgtui.rl import checkpoint
from pgtui.rl.envs import state as env_state
from pgtui.rl.envs.registry import make_vec_env
from pgtui.rl.events import EpisodesFinished, UpdateFinished
from pgtui.rl.trainer import Trainer

pytestmark = pytest.mark.numerics


def learning_record(event) -> tuple:
    """What an event says about learning, without the clock."""
    if isinstance(event, UpdateFinished):
        return ("update", tuple(sorted((k, v) for k, v in event.stats.items()
                                       if k not in WALL_CLOCK_FIELDS)))
    return ("episodes", event.global_step, event.returns, event.lengths)


def run_updates(trainer: Trainer, updates: int) -> None:
    assert trainer.run(max_updates=updates) == "updates"


@pytest.mark.parametrize("preset, total, cut", [
    ("cartpole-ppo", 12, 5), ("cartpole-a2c", 40, 17), ("cartpole-reinforce", 6, 2),
    ("pendulum-ppo", 4, 2),
])
def test_a_resumed_run_matches_the_uninterrupted_one_bit_for_bit(tmp_path, preset, total, cut):
    config = load_preset(preset)
    whole_events, part_events = [], []
    keep = lambda sink: lambda e: isinstance(e, UpdateFinished | EpisodesFinished) and sink.append(e)  # noqa: E731

    whole = Trainer(config, keep(whole_events))
    run_updates(whole, total)

    first = Trainer(config, keep(part_events))
    run_updates(first, cut)
    first.save_checkpoint(tmp_path / "checkpoint.pt")
    second = Trainer(config, keep(part_events))
    second.load_run_state(checkpoint.load(tmp_path / "checkpoint.pt"))
    run_updates(second, total)

    assert second.update == whole.update == total
    assert [learning_record(e) for e in part_events] == [learning_record(e) for e in whole_events]
    assert torch.equal(whole.nets.rows, second.nets.rows)
    assert torch.equal(whole.optimizer.exp_avg_sq, second.optimizer.exp_avg_sq)
    assert list(second.runs[0].recent_returns) == list(whole.runs[0].recent_returns)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1", "Acrobot-v1", "MountainCar-v0",
                                    "FrozenLake-v1"])  # its map is an array of bytes
def test_env_state_restored_into_a_fresh_env_steps_identically(env_id):
    original = make_vec_env(env_id, 3)
    original.reset(seed=1)
    original.action_space.seed(2)
    actions = [original.action_space.sample() for _ in range(300)]
    for action in actions[:120]:  # mid-episode, after some envs have reset
        original.step(action)
    copy = make_vec_env(env_id, 3)
    copy.reset(seed=99)  # a different state, overwritten by restore
    env_state.restore(copy, env_state.capture(original))
    for action in actions[120:]:
        for a, b in zip(original.step(action)[:4], copy.step(action)[:4], strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(original.reset()[0], copy.reset()[0])  # same env RNG


def test_train_resume_after_sigkill_continues_the_same_run(tmp_path):
    reference = run_pgtui("train", "--preset", "cartpole-ppo", "--updates", "60", "--out",
                          str(tmp_path / "whole"))
    assert reference.returncode == 0, reference.stderr

    out = tmp_path / "killed"
    process = subprocess.Popen([*pgtui_command(), "train", "--preset", "cartpole-ppo",
                                "--updates", "60", "--checkpoint-every", "0.1", "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(1200):  # until a checkpoint exists and training went past it
            if (out / "checkpoint.pt").exists() and read_metrics(out / "metrics.jsonl")[-1].get(
                    "update", 0) >= 10:
                break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    saved_update = checkpoint.load(out / "checkpoint.pt")["meta"]["update"]
    assert 0 < saved_update < 60, "killed mid-run, after an automatic checkpoint"

    resumed = run_pgtui("train", "--resume", str(out), "--updates", "60", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert '"updates": 60' in resumed.stdout.splitlines()[-1]

    def learning(path):
        return [{k: v for k, v in r.items() if k not in WALL_CLOCK_FIELDS}
                for r in read_metrics(path) if r["type"] in ("episode", "update")]

    records = read_metrics(out / "metrics.jsonl")
    assert [r["type"] for r in records].count("resumed") == 1
    assert learning(out / "metrics.jsonl") == learning(tmp_path / "whole" / "metrics.jsonl")
    whole = checkpoint.load(tmp_path / "whole" / "checkpoint.pt")["policy"]
    continued = checkpoint.load(out / "checkpoint.pt")["policy"]
    assert all(torch.equal(whole[k], continued[k]) for k in whole)


def test_resume_refuses_changes_and_unusable_checkpoints(tmp_path):
    change = call_pgtui("train", "--resume", str(tmp_path), "--set", "lr=0.1")
    assert change.returncode == 2 and "--set cannot change it" in change.stderr

    missing = call_pgtui("train", "--resume", str(tmp_path))
    assert missing.returncode == 2 and "no such checkpoint file" in missing.stderr

    both = call_pgtui("train", "--resume", str(tmp_path), "--preset", "cartpole-ppo")
    assert both.returncode == 2 and "not allowed with" in both.stderr

    trainer = Trainer(load_preset("cartpole-a2c"))
    weights_only = {k: v for k, v in trainer.state_dict().items() if k != "run"}
    checkpoint.save(tmp_path / "checkpoint.pt", weights_only)
    old = call_pgtui("train", "--resume", str(tmp_path))
    assert old.returncode == 2 and "cannot be resumed" in old.stderr

    payload = trainer.state_dict()
    payload["config"]["num_envs"] = 3  # the saved env state no longer fits
    checkpoint.save(tmp_path / "checkpoint.pt", payload)
    mismatch = call_pgtui("train", "--resume", str(tmp_path))
    assert mismatch.returncode == 2 and "does not fit" in mismatch.stderr
    for result in (change, missing, both, old, mismatch):
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
