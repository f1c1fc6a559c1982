"""`pgtui train` and `pgtui presets` through the real command."""

import json

import pytest
from cli_helpers import run_pgtui

from pgtui.metrics import WALL_CLOCK_FIELDS, read_metrics
from pgtui.preset_files import load_preset, preset_names
from pgtui.rl.checkpoint import load

SUMMARY_KEYS = {"preset", "algo", "env", "seed", "global_step", "episodes", "wall_s", "sps",
                "last100_mean", "solved", "solved_step", "solved_learned_step",
                "solved_episode", "solved_wall_s", "learned_steps"}


def strip_clock(records):
    return [{k: v for k, v in r.items() if k not in WALL_CLOCK_FIELDS} for r in records]


@pytest.mark.numerics
def test_out_dir_json_summary_and_determinism(tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = run_pgtui("train", "--preset", "cartpole-a2c", "--updates", "30", "--seed",
                           "7", "--set", "ent_coef=0.01", "--out", str(out), "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary.keys() >= SUMMARY_KEYS
        assert summary["updates"] == 30 and summary["seed"] == 7
        records = read_metrics(out / "metrics.jsonl")
        kinds = {r["type"] for r in records}
        assert {"episode", "update", "stopped"} <= kinds
        update = next(r for r in records if r["type"] == "update")
        for key in ("policy_loss", "value_loss", "entropy", "explained_variance", "grad_norm",
                    "critic_grad_norm", "grad_var", "grad_snr", "sps", "global_step",
                    "learned_steps", "wall_s"):
            assert key in update
        episode = next(r for r in records if r["type"] == "episode")
        assert {"episodic_return", "episodic_length", "episode", "global_step"} <= episode.keys()
        saved = load_preset(str(out / "config.toml"))
        assert saved.seed == 7 and saved.ent_coef == 0.01
        ckpt = load(out / "checkpoint.pt")
        assert ckpt["meta"]["update"] == 30
        runs.append(strip_clock(records))
    assert runs[0] == runs[1], "same preset and seed must give identical metrics"


def test_presets_lists_every_preset_with_its_description():
    result = run_pgtui("presets")
    assert result.returncode == 0
    for name in preset_names():
        line = next(line for line in result.stdout.splitlines() if line.startswith(name))
        assert load_preset(name).description in line


def test_lessons_lists_each_exercise_with_a_preset_that_loads():
    from pgtui.lessons import LESSONS
    from pgtui.preset_files import load_preset

    done = run_pgtui("lessons")
    assert done.returncode == 0 and "Traceback" not in done.stderr
    for lesson in LESSONS:
        assert load_preset(lesson.preset).description
        assert f"pgtui --preset {lesson.preset}" in done.stdout and lesson.title in done.stdout
