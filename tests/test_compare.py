"""Compare runs: the figures by hand, seed groups obeying commands, `pgtui compare` end to end."""

import json
import math
import threading
import time
from dataclasses import replace

import pytest
import torch
from cli_helpers import call_pgtui, run_pgtui

from pgtui.metrics import read_metrics
from pgtui.preset_files import load_preset, preset_names
from pgtui.processes import race_threads
from pgtui.rl.events import Pause, Resume, SetParam, Stop
from pgtui.rl.race.figures import (
    band,
    like_for_like,
    moving_average,
    quantile,
    summarize,
    variance_ratio_text,
    variance_ratios,
)
from pgtui.rl.race.spec import SeedProgress, expected_gradient, reference_estimator, variant_configs
from pgtui.rl.race.variant import VariantRun


def seed(n, last100, solved, var_sum=0.0, snr_sum=0.0, diag=0, paired=0.0, ref=0.0):
    return SeedProgress(seed=n, global_step=1000, episodes=50, new_returns=(), last100_mean=last100,
                        solved_episode=solved, solved_step=None if solved is None else 100 * solved,
                        grad_var_sum=var_sum, grad_snr_sum=snr_sum,
                        diag_updates=diag, status="finished", paired_var_sum=paired,
                        reference_var_sum=ref)


def test_variant_summary_by_hand():
    s = summarize("v", [seed(0, 100.0, 120, 10.0, 4.0, 2, paired=10.0, ref=40.0),
                        seed(1, 200.0, 200, 20.0, 2.0, 2, paired=10.0, ref=60.0),
                        seed(2, 300.0, None)])
    assert (s.seeds, s.solved, s.median_solve_episode) == (3, 2, 160)
    assert s.median_solve_steps == 16000  # in steps learned from: 12,000 and 20,000
    assert s.final_mean == 200.0 and s.final_std == pytest.approx(100.0)  # sample std
    assert s.grad_var == 7.5  # per-seed means 5 and 10; seed 2 measured nothing
    assert s.grad_snr == 1.5
    assert s.variance_ratio == 5.0  # (40 + 60) / (10 + 10), pooled over the same batches
    assert s.final_eval is None  # no seed evaluates
    one = summarize("w", [seed(0, math.nan, None)])
    assert (one.final_mean, one.final_std, one.grad_var, one.variance_ratio) == (None, None, None, None)
    evaluated = summarize("e", [replace(seed(0, 1.0, None), last_eval=-150.0),
                                replace(seed(1, 1.0, None), last_eval=-250.0), seed(2, 1.0, None)])
    assert evaluated.final_eval == -200.0  # over the seeds that evaluated
    assert json.loads(json.dumps(one.as_json()))["final_mean"] is None


def test_bands_and_averages_by_hand():
    assert moving_average([1, 2, 3, 4], 2) == [1, 1.5, 2.5, 3.5]
    assert quantile([5, 1, 3], 0.25) == 2 and quantile([2, 4], 0.75) == 3.5
    med, lo, hi = band([[1, 2, 3], [3, 4], [5]], window=1)
    assert med == [3, 3, 3]
    assert lo == [2, 2.5, 3] and hi == [4, 3.5, 3]


def test_variance_ratio_sentences():
    ref = summarize("none", [seed(0, 1.0, None, 8.0, 1.0, 1)])
    paired = summarize("value", [seed(0, 1.0, None, 2.0, 1.0, 1, paired=2.0, ref=8.4)])
    unpaired = summarize("ent", [seed(0, 1.0, None, 16.0, 1.0, 1)])
    assert variance_ratio_text(paired, ref) == ("value: 4.2x lower gradient variance than none "
                                                "(same batches, same expected gradient)")
    assert variance_ratio_text(unpaired, ref) == ("ent: 2.0x higher gradient variance than none "
                                                  "(whole-run means)")
    assert len(variance_ratios([ref, paired, unpaired])) == 2
    # near 1 it says so, instead of "1.0x lower"
    same = summarize("mean", [seed(0, 1.0, None, 2.0, 1.0, 1, paired=2.0, ref=2.1)])
    assert variance_ratio_text(same, ref) == ("mean: about the same gradient variance as none "
                                              "(same batches, same expected gradient)")
    lower = summarize("x", [seed(0, 1.0, None, 2.0, 1.0, 1, paired=2.0, ref=1.6)])
    assert variance_ratio_text(lower, ref).startswith("x: 1.2x higher gradient variance")


def test_ratios_compare_only_estimators_of_the_same_gradient():
    """Reward-to-go without gamma^t and the full return estimate different gradients
    when gamma < 1: no ratio between them. At gamma = 1 (variance-techniques) they are
    one gradient, and so is every baseline's."""
    base = load_preset("variance-techniques")
    gradients = {name: expected_gradient(configs[0]) for name, configs in variant_configs(base)}
    assert len(set(gradients.values())) == 1
    discounted = {name: expected_gradient(configs[0])
                  for name, configs in variant_configs(base.replace(gamma=0.99))}
    assert discounted["full return"] != discounted["reward-to-go"] == discounted["value baseline"]
    full = summarize("full", [seed(0, 1.0, None, 8.0, 1.0, 1)], "reinforce", discounted["full return"])
    rtg = summarize("rtg", [seed(0, 1.0, None, 2.0, 1.0, 1, paired=2.0, ref=5.6)], "reinforce",
                    discounted["reward-to-go"])
    assert variance_ratio_text(rtg, full) is None
    assert [s.variance_ratio for s in like_for_like([full, rtg])] == [None, None]
    rtg_at_1 = summarize("rtg", [seed(0, 1.0, None, 2.0, 1.0, 1, paired=2.0, ref=5.6)],
                         "reinforce", gradients["reward-to-go"])
    full_at_1 = summarize("full", [seed(0, 1.0, None, 8.0, 1.0, 1)], "reinforce", gradients["full return"])
    assert like_for_like([full_at_1, rtg_at_1])[1].variance_ratio == pytest.approx(2.8)
    assert variance_ratio_text(rtg_at_1, full_at_1).startswith("rtg: 2.8x lower")


def test_compare_presets_expand_into_variants_and_seeds():
    compare = [n for n in preset_names() if load_preset(n).variants]
    assert {"variance-baseline", "variance-techniques", "entropy-exploration",
            "reinforce-a2c-ppo"} <= set(compare)
    groups = variant_configs(load_preset("variance-baseline"))
    assert [name for name, _ in groups] == ["no baseline", "value baseline"]
    assert [[c.seed for c in configs] for _, configs in groups] == [[0, 1, 2, 3, 4]] * 2
    assert [configs[0].baseline for _, configs in groups] == ["none", "value"]
    assert all(not c.variants and c.seeds == 1 for _, configs in groups for c in configs)
    assert reference_estimator(groups) == {"baseline": "none", "return_mode": "reward_to_go",
                                           "normalize_advantage": False}
    algos = variant_configs(load_preset("reinforce-a2c-ppo"), seeds=1)
    assert [c[0].algo for _, c in algos] == ["reinforce", "a2c", "ppo"]
    assert reference_estimator(algos) is None  # estimators of different algorithms: no pairing


def small_group(reports, **changes):
    config = load_preset("variance-baseline").replace(total_steps=10**9, **changes)
    _, configs = variant_configs(config, seeds=2)[1]
    return VariantRun("value baseline", configs, reports.append, report_hz=50.0,
                     reference={"baseline": "none", "return_mode": "reward_to_go",
                                "normalize_advantage": False})


def test_a_variant_run_applies_live_changes_to_every_seed_and_pairs_the_estimators():
    reports = []
    group = small_group(reports)
    group.submit(SetParam("ent_coef", 0.05))
    group.run(max_updates=3)
    assert group.trainer.config.ent_coef == 0.05
    assert ("ent_coef", 0.05) in [c for r in reports for c in r.changes]
    final = reports[-1]
    assert final.final and [s.status for s in final.seeds] == ["finished", "finished"]
    assert all(s.diag_updates == 3 and s.reference_var_sum > s.paired_var_sum > 0
               for s in final.seeds), "the value baseline beats raw returns on the same batches"
    returns = [r for report in reports for r in report.seeds[0].new_returns]
    assert len(returns) == final.seeds[0].episodes  # every episode reported exactly once


def test_a_paused_variant_run_stands_still_until_resumed():
    reports = []
    group = small_group(reports)
    group.submit(Pause())
    worker = threading.Thread(target=group.run)
    worker.start()
    try:
        for _ in range(200):
            if reports and reports[-1].seeds[0].status == "paused":
                break
            time.sleep(0.02)
        steps = [s.global_step for s in reports[-1].seeds]
        time.sleep(0.3)
        assert [group.trainer.seed_step(i) for i in range(2)] == steps
        group.submit(Resume())
        for _ in range(500):
            if group.trainer.seed_step(1) > steps[1]:
                break
            time.sleep(0.02)
        assert group.trainer.seed_step(1) > steps[1]
    finally:
        group.submit(Stop())
        worker.join(timeout=60)
    assert not worker.is_alive() and reports[-1].final


def test_pgtui_compare_prints_a_table_a_plot_and_json_and_keeps_every_run(tmp_path):
    # a budget where the critic has had time to fit: an unfit one is only noise
    result = run_pgtui("compare", "--preset", "variance-baseline", "--seeds", "2",
                       "--max-steps", "12000", "--out", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    document = json.loads(lines[-1])
    names = [v["name"] for v in document["variants"]]
    assert names == ["no baseline", "value baseline"]
    keys = {"name", "seeds", "solved", "median_solve_episode", "median_solve_steps", "final_mean",
            "final_std", "grad_var", "grad_snr"}
    for variant in document["variants"]:
        assert keys <= set(variant) and variant["seeds"] == 2 and variant["solved"] == 0
        assert variant["final_mean"] > 0 and variant["grad_var"] > 0
    assert document["variants"][1]["variance_ratio"] > 1
    for variant in document["variants"]:  # neither solves: no steps' IQM, the finals' only
        final = variant["final_iqm"]
        assert "steps_iqm" not in variant and final["low"] <= final["value"] <= final["high"]
    beats = document["variants"][1]["beats_first"]
    assert 0 <= beats["low"] <= beats["value"] <= beats["high"] <= 1
    assert "beats_first" not in document["variants"][0]
    assert "P(> no baseline)" in result.stdout
    text = result.stdout
    assert "no baseline" in text and "value baseline: " in text
    assert "same batches, same expected gradient" in text
    assert "episode" in text and "\x1b[" not in text, "a plain plot when piped"
    assert "steps to solve" in text and "steps learned from" in text
    assert json.loads((tmp_path / "summary.json").read_text()) == document
    for folder in ("no-baseline", "value-baseline"):
        for n in (0, 1):
            records = read_metrics(tmp_path / folder / f"seed-{n}" / "metrics.jsonl")
            assert any(r["type"] == "episode" for r in records)
            assert (tmp_path / folder / f"seed-{n}" / "config.toml").exists()


def test_pgtui_compare_refuses_bad_input_with_one_line():
    unknown = call_pgtui("compare", "--preset", "no-such-preset")
    bad_seeds = call_pgtui("compare", "--preset", "variance-baseline", "--seeds", "0")
    for result in (unknown, bad_seeds):
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    if not torch.cuda.is_available():
        gpu = call_pgtui("compare", "--preset", "variance-baseline", "--device", "cuda")
        assert gpu.returncode == 2 and "no CUDA GPU" in gpu.stderr


def test_ctrl_c_stops_every_race_cleanly_and_keeps_what_was_written(tmp_path):
    import os
    import signal
    import subprocess
    import time

    from cli_helpers import TESTS_DIR, pgtui_command

    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(TESTS_DIR)}
    process = subprocess.Popen([*pgtui_command(), "compare", "--preset", "variance-baseline",
                                "--seeds", "2", "--max-steps", "10000000", "--out", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    metrics = [tmp_path / v / f"seed-{n}" / "metrics.jsonl"
               for v in ("no-baseline", "value-baseline") for n in (0, 1)]
    try:
        for _ in range(1200):  # until every run has written some records
            if all(m.exists() and m.read_text().count("\n") >= 20 for m in metrics):
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert "Traceback" not in err and "no baseline" in out
    for path in metrics:
        records = read_metrics(path)
        assert records[-1]["type"] == "stopped" and records[-1]["reason"] == "stopped"



def children_of(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    from pathlib import Path

    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """``pid`` exists and is not a zombie (ended, its exit status not yet read)."""
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_compare_leaves_no_run_training_and_its_records_whole(tmp_path):
    # SIGKILL runs no cleanup: the variants' processes see their parent gone and stop
    import os
    import signal
    import subprocess

    from cli_helpers import TESTS_DIR, pgtui_command

    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(TESTS_DIR)}
    process = subprocess.Popen([*pgtui_command(), "compare", "--preset", "variance-baseline",
                                "--seeds", "1", "--max-steps", "10000000", "--out", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    metrics = [tmp_path / v / "seed-0" / "metrics.jsonl" for v in ("no-baseline", "value-baseline")]
    try:
        for _ in range(1200):
            if all(m.exists() and m.read_text().count("\n") >= 20 for m in metrics):
                break
            time.sleep(0.05)
        children = children_of(process.pid)
        assert children, "the variants train in processes of their own"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        for _ in range(600):  # they stop at their next update, and leave
            if not any(running(pid) for pid in children):
                break
            time.sleep(0.05)
        left = [pid for pid in children if running(pid)]
        assert not left, f"still running after their parent was killed: {left}"
    finally:
        if process.poll() is None:
            process.kill()
    for path in metrics:  # every line whole, the last one the run's end
        records = read_metrics(path)
        assert records[-1]["type"] == "stopped"


def test_a_seed_whose_env_raises_is_reported_and_the_group_ends_cleanly():
    import raising_env  # noqa: F401  (registers the env)

    from pgtui.rl.events import RunError, Stopped

    config = load_preset("cartpole-a2c").replace(env="raising_env:pgtui-test/Raising-v0",
                                                 num_envs=2, total_steps=100_000)
    _, configs = variant_configs(config, seeds=2)[0]
    reports, sunk = [], [[], []]
    group = VariantRun("raises", configs, reports.append, sinks=[sunk[0].append, sunk[1].append])
    group.run()
    final = reports[-1]
    assert final.final and [s.status for s in final.seeds] == ["error", "error"]
    assert all("the simulator lost its state" in s.message for s in final.seeds)
    for events in sunk:
        assert isinstance(events[-2], RunError) and events[-2].fatal
        assert events[-1] == Stopped("error", events[-1].global_step)


@pytest.mark.parametrize("preset", ["cartpole-a2c", "cartpole-reinforce"])
def test_a_seed_whose_env_raises_ends_alone_and_the_other_goes_on(preset):
    import raising_env  # noqa: F401  (registers the env)

    config = load_preset(preset).replace(env="raising_env:pgtui-test/RaisingOnSeedOne-v0",
                                         num_envs=1, episodes_per_update=2, total_steps=2000)
    _, configs = variant_configs(config, seeds=2)[0]
    reports = []
    VariantRun("v", configs, reports.append).run()
    final = reports[-1]
    assert [s.status for s in final.seeds] == ["finished", "error"]
    assert "seed 1" in final.seeds[1].message and "lost its state" in final.seeds[1].message
    assert final.seeds[0].global_step >= 2000 > final.seeds[1].global_step


def test_branches_forked_from_a_solved_run_count_as_solved():
    from pgtui.rl.trainer import Trainer

    config = load_preset("cartpole-a2c").replace(solved_threshold=5.0, num_envs=4)
    run = Trainer(config)
    run.run(until_solved=True, max_updates=500)
    assert run.runs[0].solved is not None
    reports = []
    branches = variant_configs(config.replace(variants=[{"name": "A"}, {"name": "B", "lr": 1e-4}],
                                              seeds=1))
    for name, configs in branches:
        group = VariantRun(name, configs, reports.append, resume=[run.state_dict()])
        assert group.trainer.global_step == run.global_step  # from the same state
        group.run(max_updates=run.update + 1)
    assert [r.seeds[0].solved_episode for r in reports if r.final] == [run.runs[0].solved.episode] * 2


def test_variances_of_different_algorithms_are_not_compared():
    reinforce = summarize("reinforce", [seed(0, 1.0, None, 30.0, 1.0, 1)], "reinforce")
    ppo = summarize("ppo", [seed(0, 1.0, None, 0.03, 1.0, 1)], "ppo")
    a2c_ent = summarize("ent 0.1", [seed(0, 1.0, None, 3.0, 1.0, 1)], "a2c")
    a2c = summarize("ent 0", [seed(0, 1.0, None, 6.0, 1.0, 1)], "a2c")
    assert variance_ratio_text(ppo, reinforce) is None
    assert variance_ratio_text(a2c_ent, a2c) == ("ent 0.1: 2.0x lower gradient variance than "
                                                 "ent 0 (whole-run means)")
    assert "algo" not in ppo.as_json()


@pytest.mark.parametrize(("cores", "variants", "threads"),
                         [(2, 1, 2), (2, 2, 1), (2, 3, 1), (16, 1, 2), (16, 4, 2), (1, 1, 1)])
def test_a_races_processes_share_the_cores_out(monkeypatch, cores, variants, threads):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert race_threads(variants) == threads


def test_stability_after_solving_by_hand():
    """A seed that reached the threshold and fell back, one that held, one that never
    reached it: fell back 1 of 2, the lowest last-100 mean after reaching 380."""
    from pgtui.rl.events import UpdateFinished
    from pgtui.rl.race.variant import _SeedMemory

    states = [_SeedMemory(n, None, threshold=475.0) for n in range(3)]
    for state, means in zip(states, ([300, 480, 460, 380, 490], [200, 476, 500, 499], [100, 300]),
                            strict=True):
        for m in means:
            state(UpdateFinished(1, 1, {"last100_mean": float(m)}))
    assert [s.lowest_after_reaching for s in states] == [380.0, 476.0, None]
    seeds = [replace(seed(n, 1.0, None), lowest_after_reaching=s.lowest_after_reaching,
                     fell_back=s.lowest_after_reaching is not None and s.lowest_after_reaching < 475,
                     solved_wall_s=w)
             for n, (s, w) in enumerate(zip(states, (12.0, 20.0, None), strict=True))]
    summary = summarize("v", seeds)
    assert (summary.reached, summary.fell_back, summary.lowest_after) == (2, 1, 380.0)
    assert summary.median_solve_seconds == 16.0


def test_an_iqm_is_shown_with_its_interval():
    from pgtui.commands.compare import show_steps
    from pgtui.rl.race.intervals import Interval, show_interval

    assert show_interval(Interval(62_100, 58_000, 66_300), show_steps) == "62.1k [58.0k, 66.3k]"
    assert show_interval(Interval(55_000, 40_000, math.inf), show_steps) == "55.0k [40.0k, ∞]"
    assert show_interval(Interval(math.inf, 50_000, math.inf), show_steps) == "—"  # a typical seed failed
    assert show_interval(Interval(3.0, 3.0, 3.0), lambda v: f"{v:.1f}") == "3.0"  # one seed
    assert show_interval(None, show_steps) == "—"
