"""`--tensorboard DIR`: the metrics as TensorBoard scalars under SB3/CleanRL's names."""

import subprocess

import pytest
from cli_helpers import call_pgtui, pgtui_command, run_pgtui

from pgtui.metrics import read_metrics

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")


def scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_train_writes_the_metrics_file_s_figures_as_scalars(tmp_path):
    done = call_pgtui("train", "--preset", "cartpole-ppo", "--max-steps", "3000", "--out",
                      str(tmp_path / "run"), "--tensorboard", str(tmp_path / "tb"))
    assert done.returncode == 0, done.stderr
    board = scalars(tmp_path / "tb")
    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    episodes = [(r["global_step"], r["episodic_return"]) for r in records if r["type"] == "episode"]
    updates = [r for r in records if r["type"] == "update"]
    assert board["charts/episodic_return"] == pytest.approx(episodes)
    assert [v for _, v in board["losses/policy_loss"]] == pytest.approx([u["policy_loss"] for u in updates])
    assert [s for s, _ in board["losses/approx_kl"]] == [u["global_step"] for u in updates]
    assert {"losses/value_loss", "losses/entropy", "charts/learning_rate", "charts/SPS",
            "pgtui/grad_var"} <= set(board)


def test_a_sweep_writes_one_run_per_trial(tmp_path):
    done = run_pgtui("sweep", "--preset", "cartpole-ppo", "--grid", "lr=1e-3,3e-3", "--seeds", "2",
                     "--max-steps", "1000", "--tensorboard", str(tmp_path / "tb"))
    assert done.returncode == 0, done.stderr
    runs = sorted(p.parent.relative_to(tmp_path / "tb").as_posix()
                  for p in (tmp_path / "tb").rglob("events.out.tfevents.*"))
    assert runs == ["lr-0.001/seed-0", "lr-0.001/seed-1", "lr-0.003/seed-0", "lr-0.003/seed-1"]
    assert scalars(tmp_path / "tb" / "lr-0.003" / "seed-1")["charts/learning_rate"][0][1] == \
        pytest.approx(3e-3)


def test_without_the_extra_it_is_a_one_line_error(tmp_path):
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['tensorboard'] = None\n")
    for command in (["train", "--preset", "cartpole-ppo"], ["compare", "--preset", "pg-vs-dqn"],
                    ["sweep", "--preset", "sweep-lr"]):
        done = subprocess.run([*pgtui_command(), *command, "--tensorboard", str(tmp_path / "tb")],
                              capture_output=True, text=True,
                              env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 2
        assert done.stderr == ("pgtui: --tensorboard needs the tensorboard package: "
                               "pip install 'pgtui[tensorboard]'\n")
        assert not (tmp_path / "tb").exists()
