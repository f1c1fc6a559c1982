"""A tiny sweep and the helpers its tests share (``test_sweep.py``, ``test_sweep_ray.py``)."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from cli_helpers import TESTS_DIR, pgtui_command, run_pgtui

from pgtui.metrics import read_metrics

TINY = """
description = "a tiny sweep for the tests"
env = "CartPole-v1"
algo = "ppo"
num_envs = 4
num_steps = 64
num_minibatches = 2
update_epochs = 2
total_steps = {steps}
seeds = 2
[sweep]
lr = [1e-3, 3e-3]
"""


def tiny_preset(tmp_path: Path, steps: int = 2048) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(steps=steps), encoding="utf-8")
    return path


def json_line(stdout: str) -> dict:
    """The JSON summary a command prints last."""
    return json.loads(stdout.strip().splitlines()[-1])


def without_clock(points: list[dict]) -> list[dict]:
    return [{k: v for k, v in p.items() if k != "median_solve_seconds"} for p in points]


def start_sweep(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(TESTS_DIR)}
    return subprocess.Popen([*pgtui_command(), "sweep", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def wait_until(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def has_update(metrics: Path) -> bool:
    return metrics.is_file() and any(r["type"] == "update" for r in read_metrics(metrics))


def kill_a_running_trial(out: Path, point: str) -> int:
    """Wait until the point's process has trained an update, then SIGKILL it; its pid."""
    running = out / point / "running.json"
    wait_until(lambda: running.is_file() and has_update(out / point / "seed-0" / "metrics.jsonl"))
    pid = json.loads(running.read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    return pid


def train_local_sweep(tmp: Path) -> tuple[Path, dict]:
    """The tiny sweep, trained once by the real command on the local engine: its folder
    and its JSON summary."""
    out = tmp / "out"
    done = run_pgtui("sweep", "--preset", str(tiny_preset(tmp)), "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    return out, json_line(done.stdout)
