"""A failing run: divergence is undone to the last good update (paused in the playground,
exit 1 headless); an env that raises ends a headless run with exit 1 and one line."""

import json
import math
import threading

import torch
from cli_helpers import call_pgtui

from pgtui.preset_files import load_preset
from pgtui.rl.checkpoint import load
from pgtui.rl.events import EpisodesFinished, RunError, StatusChanged
from pgtui.rl.trainer import Trainer

# plain SGD at the largest lr the config allows, no clipping: the value loss overflows
DIVERGING = {"optimizer": "sgd", "lr": 10.0, "max_grad_norm": 0.0, "total_steps": 200_000}
DIVERGING_SET = ["--set", 'optimizer="sgd"', "--set", "lr=10", "--set", "max_grad_norm=0"]


def refuse_non_finite(constant: str):
    raise AssertionError(f"metrics.jsonl holds {constant}")


def diverging_config():
    return load_preset("cartpole-a2c").replace(**DIVERGING)


def test_a_diverged_update_is_undone_and_ends_the_headless_run():
    events = []
    trainer = Trainer(diverging_config(), events.append)
    assert trainer.run() == "diverged"
    errors = [e for e in events if isinstance(e, RunError)]
    assert len(errors) == 1 and errors[0].fatal and errors[0].diverged
    assert "diverged at update" in errors[0].message and "inf" in errors[0].message
    returns = [r for e in events if isinstance(e, EpisodesFinished) for r in e.returns]
    assert returns and all(math.isfinite(r) for r in returns)

    # the same seed stopped just before the bad update holds exactly the same weights
    twin = Trainer(diverging_config())
    twin.run(max_updates=trainer.update)
    assert torch.isfinite(trainer.nets.rows).all()
    assert torch.equal(trainer.nets.rows, twin.nets.rows)


def test_the_playground_trainer_pauses_instead_and_can_be_stopped():
    events, stop = [], threading.Event()

    def emit(event):
        events.append(event)
        if isinstance(event, RunError):
            stop.set()  # what a user would do next: here, end the test's run

    trainer = Trainer(diverging_config(), emit, pause_on_diverge=True)
    assert trainer.run(stop) == "stopped"
    error = next(e for e in events if isinstance(e, RunError))
    assert error.diverged and not error.fatal and "paused" in error.message
    after = events[events.index(error):]
    assert any(isinstance(e, StatusChanged) and e.status == "paused" for e in after)
    assert torch.isfinite(trainer.nets.rows).all()


def test_headless_divergence_exits_1_with_one_line_and_loses_nothing(tmp_path):
    result = call_pgtui("train", "--preset", "cartpole-a2c", *DIVERGING_SET, "--out",
                        str(tmp_path), "--json")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "diverged" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["reason"] == "diverged"
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line, parse_constant=refuse_non_finite) for line in lines]
    assert records
    payload = load(tmp_path / "checkpoint.pt")
    assert all(torch.isfinite(t).all() for t in payload["policy"].values())


def test_an_env_that_raises_ends_the_headless_run_with_exit_1(tmp_path):
    result = call_pgtui("train", "--preset", "cartpole-a2c", "--set",
                        'env="raising_env:pgtui-test/Raising-v0"', "--set", "num_envs=2",
                        "--out", str(tmp_path), "--json")
    assert result.returncode == 1
    assert "the simulator lost its state" in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["reason"] == "error"
    assert (tmp_path / "metrics.jsonl").read_text().count("\n") > 0, "what was written stays"
