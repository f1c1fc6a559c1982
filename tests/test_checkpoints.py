"""Checkpoints through `pgtui watch`: a saved policy plays; unsafe or broken files are refused."""

import json
import pickle

import pytest
import torch
from cli_helpers import call_pgtui, run_pgtui

pytestmark = pytest.mark.xdist_group("checkpoints")  # the file's run is trained once


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory):
    """One short run's checkpoint, trained once by the real command for every test here."""
    out = tmp_path_factory.mktemp("run")
    result = run_pgtui("train", "--preset", "cartpole-a2c", "--updates", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out / "checkpoint.pt"


def test_watch_plays_a_saved_policy_and_prints_its_returns(trained_checkpoint):
    path = trained_checkpoint
    result = run_pgtui("watch", str(path), "--episodes", "4", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert len(summary["returns"]) == 4 and summary["env"] == "CartPole-v1"
    assert all(1 <= r <= 500 and r == int(r) for r in summary["returns"]), "CartPole pays 1 a step"
    assert summary["mean"] == sum(summary["returns"]) / 4
    assert [f"episode {i}: return {r:g}" for i, r in enumerate(summary["returns"], 1)] == lines[:4]
    assert "\x1b[" not in result.stdout, "no drawing when stdout is not a terminal"


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_checkpoint_carrying_a_pickle_payload_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "was-run"
    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "config": {}, "policy": _RunsCode(marker)}, path,
               pickle_protocol=pickle.HIGHEST_PROTOCOL)
    result = call_pgtui("watch", str(path), "--episodes", "1")
    assert result.returncode == 2
    assert "refused" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not marker.exists(), "the payload's code must not run"


def test_missing_or_mismatched_checkpoints_are_clear_errors(tmp_path, trained_checkpoint):
    missing = call_pgtui("watch", str(tmp_path / "nope.pt"))
    assert missing.returncode == 2 and "no such checkpoint file" in missing.stderr

    path = trained_checkpoint
    payload = torch.load(path, weights_only=True)
    payload["config"]["hidden_sizes"] = [8]  # the weights no longer fit the network
    torch.save(payload, tmp_path / "mismatch.pt")
    mismatch = call_pgtui("watch", str(tmp_path / "mismatch.pt"))
    assert mismatch.returncode == 2 and "does not fit" in mismatch.stderr
    assert "Traceback" not in mismatch.stderr

    bad_episodes = call_pgtui("watch", str(path), "--episodes", "0")
    assert bad_episodes.returncode == 2 and "positive integer" in bad_episodes.stderr


def test_metrics_survive_sigkill_line_by_line(tmp_path):
    import os
    import signal
    import subprocess
    import time

    from cli_helpers import pgtui_command

    from pgtui.metrics import read_metrics

    process = subprocess.Popen([*pgtui_command(), "train", "--preset", "cartpole-ppo", "--out",
                                str(tmp_path)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    metrics = tmp_path / "metrics.jsonl"
    try:
        for _ in range(600):  # until the run has written a few dozen records
            if metrics.exists() and metrics.read_text().count("\n") >= 40:
                break
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    text = metrics.read_text()
    assert text.endswith("\n"), "each record is written whole, then flushed"
    records = read_metrics(metrics)
    assert len(records) == text.count("\n") >= 40
    assert [json.loads(line) for line in text.splitlines()] == records
