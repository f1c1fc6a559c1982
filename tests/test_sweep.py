"""`pgtui sweep`: the grid, the figures, and the local engine through the real CLI."""

import json
import math
import signal
import statistics
import subprocess

import pytest
from cli_helpers import call_pgtui, run_pgtui
from sweep_helpers import (
    has_update,
    json_line,
    kill_a_running_trial,
    start_sweep,
    tiny_preset,
    wait_until,
    without_clock,
)

from pgtui.config import ConfigError
from pgtui.metrics import read_metrics
from pgtui.preset_files import load_preset
from pgtui.rl.race.spec import SeedProgress
from pgtui.sweeps import report
from pgtui.sweeps.spec import Point, build_sweep, parse_grid

pytestmark = pytest.mark.xdist_group("sweep")  # the tiny sweep is trained once (conftest)

def seed(seed: int, last100: float, solved_step: int | None = None, grad_var: float = 0.0,
         status: str = "finished") -> SeedProgress:
    return SeedProgress(seed=seed, global_step=1000, episodes=10, new_returns=(), last100_mean=last100,
                        solved_episode=5 if solved_step else None, grad_var_sum=grad_var,
                        grad_snr_sum=0.0, diag_updates=1 if grad_var else 0, status=status,
                        solved_step=solved_step)


# -- the grid ------------------------------------------------------------------------------------


def test_grid_values_are_read_as_toml_or_bare_strings():
    grid = parse_grid(["lr=3e-4,1e-3", "baseline=none,value", "hidden_sizes=[32],[64, 64]",
                       "normalize_advantage=true,false"])
    assert grid == {"lr": [3e-4, 1e-3], "baseline": ["none", "value"],
                    "hidden_sizes": [[32], [64, 64]], "normalize_advantage": [True, False]}


@pytest.mark.parametrize(("text", "named"), [
    ("lrr=1e-3,3e-3", "'lrr' is not a config key"),
    ("lr=1e-3,fast", "lr: expected a number, got 'fast'"),
    ("lr=1e-3,-1", "lr: expected a value > 0.0"),
    ("baseline=none,median", "expected one of none, mean, value, optimal, got 'median'"),
    ("seed=0,1", "'seed' cannot be swept"),
    ("lr=1e-3,0.001", "a value is listed twice"),
    ("lr", "expected KEY=V1,V2"),
])
def test_a_bad_grid_names_what_is_wrong(text, named):
    with pytest.raises(ConfigError, match="--grid") as err:
        parse_grid([text])
    assert named in str(err.value)


def test_the_points_are_the_grid_s_product_in_key_order():
    config = load_preset("cartpole-ppo").replace(
        seeds=3, sweep={"lr": [1e-3, 3e-3], "ent_coef": [0.0, 0.01, 0.1]})
    sweep = build_sweep(config)
    assert [p.as_dict() for p in sweep.points] == [
        {"lr": lr, "ent_coef": e} for lr in (1e-3, 3e-3) for e in (0.0, 0.01, 0.1)]
    assert sweep.trials == 18 and sweep.seeds == [0, 1, 2]
    trial = sweep.trial_config(sweep.points[4], 2)
    assert (trial.lr, trial.ent_coef, trial.seed, trial.sweep, trial.seeds) == (3e-3, 0.01, 2, {}, 1)


def test_a_point_that_makes_no_config_stops_the_sweep_before_it_starts():
    config = load_preset("cartpole-ppo").replace(sweep={"num_minibatches": [4, 100_000]})
    with pytest.raises(ConfigError, match=r"grid point num_minibatches=100000: .*num_minibatches"):
        build_sweep(config)


def test_a_sweep_table_is_checked_and_written_back():
    config = load_preset("sweep-lr")
    assert config.sweep["baseline"] == ["none", "value"] and len(config.sweep["lr"]) >= 4
    from pgtui.config import from_mapping, parse_toml

    assert from_mapping(parse_toml(config.to_toml(), "round trip"), "round trip") == config
    with pytest.raises(ConfigError, match="sweep: 'seeds' cannot be swept"):
        config.replace(sweep={"seeds": [1, 2]})
    with pytest.raises(ConfigError, match="sweep: lr: expected a non-empty list"):
        config.replace(sweep={"lr": 1e-3})


# -- the figures ---------------------------------------------------------------------------------


def test_a_point_s_row_by_hand():
    point = Point((("lr", 1e-3),))
    row = report.point_row(point, [seed(0, 500.0, solved_step=30_000, grad_var=2.0),
                                   seed(1, 300.0, grad_var=4.0),
                                   seed(2, 400.0, solved_step=50_000, grad_var=6.0)])
    assert row["lr"] == 1e-3 and row["seeds"] == 3 and row["solved"] == 2
    assert row["median_solve_step"] == 40_000
    assert row["final_mean"] == pytest.approx(400.0)
    assert row["final_std"] == pytest.approx(100.0)  # sample std of 500, 300, 400
    assert row["grad_var"] == pytest.approx(4.0)
    assert row["failed"] == 0


def test_the_plot_draws_one_line_per_other_setting_on_a_log_axis():
    config = load_preset("cartpole-ppo").replace(
        sweep={"lr": [1e-4, 1e-3, 1e-2], "baseline": ["none", "value"]})
    sweep = build_sweep(config)
    results = {p: {0: seed(0, 100.0 * (i + 1))} for i, p in enumerate(sweep.points)}
    rows = report.rows(sweep, results)
    lines = dict(report.series(sweep, rows))
    assert list(lines) == ["baseline=none", "baseline=value"]
    assert [x for x, _ in lines["baseline=value"]] == [1e-4, 1e-3, 1e-2]
    drawn = report.sensitivity_plot(sweep, rows, color=False)
    assert "lr (log scale)" in drawn and "baseline=value" in drawn and "0.001" in drawn


# -- the local engine, through the real CLI ------------------------------------------------------


def test_local_sweep_reports_every_point_from_its_trials_files(local_sweep):
    out, summary = local_sweep
    assert [p["lr"] for p in summary["points"]] == [1e-3, 3e-3]
    assert json.loads((out / "summary.json").read_text()) == summary
    csv_lines = (out / "summary.csv").read_text().splitlines()
    assert csv_lines[0].startswith("lr,seeds,solved,median_solve_step") and len(csv_lines) == 3
    for point in summary["points"]:
        assert point["seeds"] == 2 and point["failed"] == 0
        finals = []
        for s in (0, 1):
            trial = out / f"lr-{point['lr']:g}" / f"seed-{s}"
            config = (trial / "config.toml").read_text()
            assert f"lr = {point['lr']!r}" in config and f"seed = {s}\n" in config
            returns = [r["episodic_return"] for r in read_metrics(trial / "metrics.jsonl")
                       if r["type"] == "episode"]
            finals.append(statistics.fmean(returns[-100:]))  # the last-100 mean, recounted
        assert point["final_mean"] == pytest.approx(statistics.fmean(finals))
        assert point["final_std"] == pytest.approx(statistics.stdev(finals))
    assert not list(out.glob("*/running.json"))


def test_resume_runs_only_the_missing_trials_and_finds_the_same(local_sweep, tmp_path):
    out, summary = local_sweep
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(out), str(copy)], check=True)
    (copy / "summary.json").unlink()
    missing = copy / "lr-0.003" / "seed-1"
    (missing / "result.json").unlink()
    settings = (missing / "config.toml").read_text()
    kept = copy / "lr-0.001" / "seed-0" / "metrics.jsonl"
    before = kept.stat().st_mtime_ns
    done = run_pgtui("sweep", "--resume", str(copy), "--json")
    assert done.returncode == 0, done.stderr
    assert "resuming" not in done.stdout  # progress talk goes to stderr only
    resumed = without_clock(json_line(done.stdout)["points"])
    original = without_clock(summary["points"])
    assert resumed[0] == original[0]  # its trials' files, read back
    assert kept.stat().st_mtime_ns == before  # a finished trial is not run again
    # the missing trial ran again, alone, as it was set up; that a seed alone trains as
    # it did beside another is test_seed_axis's to show (in float64: alone, its products
    # round otherwise in float32, by the CPU's kernels)
    assert (missing / "result.json").is_file() and (missing / "config.toml").read_text() == settings
    assert resumed[1]["seeds"] == 2 and resumed[1]["failed"] == 0


def test_resume_refuses_to_change_the_sweep(local_sweep):
    out, _ = local_sweep
    done = call_pgtui("sweep", "--resume", str(out), "--grid", "lr=1e-2,2e-2")
    assert done.returncode == 2
    assert done.stderr.strip() == ("pgtui sweep: --resume runs the saved sweep as it was; "
                                   "--grid cannot change it")


@pytest.mark.parametrize(("args", "message"), [
    (["--grid", "lrr=1,2"], "pgtui: --grid 'lrr=1,2': 'lrr' is not a config key"),
    (["--grid", "lr=1e-3,big"], "pgtui: --grid 'lr=1e-3,big': lr: expected a number, got 'big'"),
    (["--grid", "clip_coef=0.2,0"], "pgtui: --grid 'clip_coef=0.2,0': clip_coef: expected a value > 0.0"),
])
def test_a_bad_grid_is_one_line_before_any_trial(tmp_path, args, message):
    out = tmp_path / "out"
    done = call_pgtui("sweep", "--preset", "cartpole-ppo", "--out", str(out), *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert not out.exists()


def test_an_out_folder_of_another_sweep_is_refused(local_sweep):
    out, _ = local_sweep
    done = call_pgtui("sweep", "--preset", "cartpole-ppo", "--grid", "lr=1e-3,3e-3", "--out", str(out))
    assert done.returncode == 2
    assert done.stderr == (f"pgtui: {out} holds another sweep (its config.toml differs); give "
                           f"another --out, or `pgtui sweep --resume {out}` to finish that one\n")


def test_a_sweep_needs_a_grid(tmp_path):
    done = call_pgtui("sweep", "--preset", "cartpole-ppo", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "a sweep needs a grid" in done.stderr


def test_a_killed_trial_process_is_retried_and_the_summary_is_complete(tmp_path):
    steps = "48000"  # long enough to be killed mid-run, on a busy machine too (190 updates)
    clean = run_pgtui("sweep", "--preset", str(tiny_preset(tmp_path)), "--max-steps", steps,
                      "--grid", "lr=1e-3", "--json")
    assert clean.returncode == 0, clean.stderr
    out = tmp_path / "out"
    sweep = start_sweep("--preset", str(tiny_preset(tmp_path)), "--max-steps", steps,
                         "--grid", "lr=1e-3", "--out", str(out), "--json")
    kill_a_running_trial(out, "lr-0.001")
    stdout, stderr = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, stderr
    assert "lr=0.001: attempt 1 failed (lr=0.001: the training process died (exit code -9))" in stderr
    points = json_line(stdout)["points"]
    assert points[0]["seeds"] == 2 and points[0]["failed"] == 0
    # the retried trials started over: the same figures as a run never killed
    assert without_clock(points) == without_clock(json_line(clean.stdout)["points"])
    episodes = [r["episode"] for r in read_metrics(out / "lr-0.001" / "seed-0" / "metrics.jsonl")
                if r["type"] == "episode"]
    assert episodes == list(range(1, len(episodes) + 1))  # one run's records, not two


def test_ctrl_c_keeps_the_finished_trials_and_resume_runs_the_rest(tmp_path):
    out = tmp_path / "out"
    sweep = start_sweep("--preset", str(tiny_preset(tmp_path, steps=20_000)), "--workers", "1",
                         "--out", str(out))
    first = out / "lr-0.001"
    wait_until(lambda: all((first / f"seed-{s}" / "result.json").is_file() for s in (0, 1))
              and has_update(out / "lr-0.003" / "seed-0" / "metrics.jsonl"))
    sweep.send_signal(signal.SIGINT)
    _, stderr = sweep.communicate(timeout=60)
    assert sweep.returncode == 130
    assert "stopped: 2 of 4 trials finished and kept" in stderr
    points = json.loads((out / "summary.json").read_text())["points"]
    assert [p["seeds"] for p in points] == [2, 0]
    assert not (out / "lr-0.003" / "seed-0" / "result.json").exists()
    done = run_pgtui("sweep", "--resume", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert [p["seeds"] for p in json_line(done.stdout)["points"]] == [2, 2]
    assert math.isfinite(json_line(done.stdout)["points"][1]["final_mean"])


def test_the_plot_runs_along_the_key_with_most_values_and_puts_zero_a_decade_down():
    config = load_preset("sweep-entropy").replace(
        sweep={"lr": [7e-4, 2e-3], "ent_coef": [0.0, 0.001, 0.01, 0.1]})
    key, position, log = report.axis(build_sweep(config))
    assert key == "ent_coef" and log
    assert [position(v) for v in (0.0, 0.001, 0.01, 0.1)] == pytest.approx([-4, -3, -2, -1])
    key, position, log = report.axis(build_sweep(config.replace(sweep={"gamma": [0.9, 0.99]})))
    assert (key, log, position(0.9)) == ("gamma", False, 0.9)
