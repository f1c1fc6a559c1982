"""The Ray engine against a real local Ray that the test starts (2 CPUs), through the CLI."""

import json
import subprocess

import pytest
from cli_helpers import call_pgtui, run_pgtui
from sweep_helpers import json_line, kill_a_running_trial, start_sweep, tiny_preset, without_clock

from pgtui.metrics import read_metrics

pytestmark = pytest.mark.xdist_group("sweep")  # one Ray cluster, and the local sweep it is held to

ray = pytest.importorskip("ray", reason="Ray Tune is not installed (pip install 'pgtui[ray]')")
pytest.importorskip("ray.tune", reason="Ray Tune is not installed (pip install 'pgtui[ray]')")


@pytest.fixture(scope="module")
def cluster():
    """A real Ray on this machine; the sweeps join it with --address auto."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_runs_the_same_trials_and_finds_the_same_as_the_local_engine(cluster, local_sweep,
                                                                         tmp_path):
    preset = str(tiny_preset(tmp_path))
    local_out, local_summary = local_sweep
    on_ray = run_pgtui("sweep", "--preset", preset, "--engine", "ray", "--address", "auto",
                       "--out", str(tmp_path / "ray"), "--json")
    assert on_ray.returncode == 0, on_ray.stderr
    assert without_clock(json_line(on_ray.stdout)["points"]) == \
        without_clock(local_summary["points"])
    for trial in ("lr-0.001/seed-0", "lr-0.003/seed-1"):  # the same files, the same runs
        def returns(root, trial=trial):
            return [r["episodic_return"] for r in read_metrics(root / trial / "metrics.jsonl")
                    if r["type"] == "episode"]
        assert returns(tmp_path / "ray") == returns(local_out)
    assert (tmp_path / "ray" / "ray" / "tune").is_dir()  # Tune's own experiment state


def test_a_killed_ray_worker_is_retried_and_the_summary_is_complete(cluster, tmp_path):
    out = tmp_path / "out"
    sweep = start_sweep("--preset", str(tiny_preset(tmp_path)), "--max-steps", "48000",
                         "--grid", "lr=1e-3", "--engine", "ray", "--address", "auto",
                         "--out", str(out), "--json")
    kill_a_running_trial(out, "lr-0.001")
    stdout, stderr = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, stderr
    assert "lr=0.001: attempt 1 failed (its Ray worker died)" in stderr
    points = json_line(stdout)["points"]
    assert points[0]["seeds"] == 2 and points[0]["failed"] == 0
    assert all((out / "lr-0.001" / f"seed-{s}" / "result.json").is_file() for s in (0, 1))


def test_asha_stops_hopeless_points_early_and_keeps_them_in_the_summary(cluster, tmp_path):
    done = run_pgtui("sweep", "--preset", str(tiny_preset(tmp_path, steps=16_000)),
                     "--grid", "lr=3e-3,1e-2,1e-5,3e-2", "--seeds", "1", "--engine", "ray",
                     "--address", "auto", "--scheduler", "asha", "--out", str(tmp_path / "o"),
                     "--json")
    assert done.returncode == 0, done.stderr
    results = [json.loads((tmp_path / "o" / f"lr-{lr}" / "seed-0" / "result.json").read_text())
               for lr in ("0.003", "0.01", "1e-05", "0.03")]
    stopped = [r for r in results if r["status"] == "stopped"]
    assert stopped and all(r["global_step"] < 16_000 for r in stopped)
    assert any(r["status"] == "finished" and r["global_step"] >= 16_000 for r in results)
    assert [p["seeds"] for p in json_line(done.stdout)["points"]] == [1, 1, 1, 1]


def test_ray_only_options_need_the_ray_engine():
    done = call_pgtui("sweep", "--preset", "sweep-lr", "--scheduler", "asha")
    assert done.returncode == 2
    assert done.stderr.strip() == "pgtui sweep: --scheduler needs --engine ray"


def test_without_ray_the_ray_engine_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "sitecustomize.py"  # this interpreter cannot import ray
    blocker.write_text("import sys\nsys.modules['ray'] = None\n")
    from cli_helpers import pgtui_command

    done = subprocess.run([*pgtui_command(), "sweep", "--preset", "sweep-lr", "--engine", "ray"],
                          capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path),
                                                               "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert done.stderr.strip() == "pgtui: --engine ray needs Ray Tune: pip install 'pgtui[ray]'"
