"""The exercise live: `pgtui exercise play` reloads a saved answer at the next update and
keeps the last good one through a broken save; `pgtui exercise race` races it."""

from pathlib import Path

from cli_helpers import run_pgtui
from test_exercise import ANSWER, ENTROPY, planted
from waiting import wait_for

from pgtui.preset_files import load_preset
from pgtui.ui.app import PlaygroundApp


def _feedback(app) -> str:
    return str(app.screen.params.query_one("#param-feedback").render())


async def test_a_save_trains_from_the_next_update_and_a_broken_one_changes_nothing(tmp_path):
    path = planted(tmp_path, ENTROPY, f"return 0.0 * {ENTROPY[len('return '):]}")  # a bug: no entropy
    config = load_preset("exercise-reinforce").replace(algo=str(path), num_envs=4, episodes_per_update=4)
    app = PlaygroundApp(config, "exercise")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(lambda: app.state.stats.get("entropy") == 0.0, timeout=60)
        path.write_text(ANSWER.replace("def loss(", "def loss(:"))  # a save that does not parse
        await wait_for(lambda: "syntax error" in _feedback(app), timeout=60)
        line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "def loss(:" in text)
        assert f"reinforce.py, line {line}: syntax error" in _feedback(app)
        assert "the last good version trains on" in _feedback(app)
        step = app.state.global_step
        await wait_for(lambda: app.state.global_step > step, timeout=60)  # it goes on training
        assert app.state.stats["entropy"] == 0.0 and app.state.status == "running"
        path.write_text(ANSWER)  # the fix
        await wait_for(lambda: app.state.stats.get("entropy", 0.0) > 0.5, timeout=60)
        assert any(text == "reinforce.py v2" for _, text in app.state.marks)  # the curve's mark
        assert app.state.stats["own_functions"] == 9
        await pilot.press("q")


async def test_an_update_the_answer_cannot_compute_pauses_the_run_and_says_where(tmp_path):
    path = planted(tmp_path, "episodes = max(num_episodes, 1)", "episodes = max(num_episodes, 1) + {}")
    config = load_preset("exercise-reinforce").replace(algo=str(path), num_envs=4, episodes_per_update=4)
    app = PlaygroundApp(config, "exercise")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(lambda: app.state.status == "paused", timeout=60)
        await pilot.pause()
        line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "+ {}" in text)
        assert f"reinforce.py: loss, line {line}: TypeError" in _feedback(app)
        assert app.state.episodes > 0
        await pilot.press("q")


def test_the_race_runs_the_answer_with_and_without_its_baseline_beside_pgtuis(tmp_path):
    path = planted(tmp_path, "EXERCISE =", "EXERCISE =")
    result = run_pgtui("exercise", "race", str(path), "--seeds", "1", "--max-steps", "3000")
    assert result.returncode == 0, result.stderr
    for name in ("yours, value baseline", "yours, no baseline", "pgtui's, value baseline"):
        assert name in result.stdout
    out = tmp_path / "exercise-race"
    assert (out / "curves.txt").read_text().strip() and (out / "curves.png").stat().st_size > 1000
    assert "summary.json" in {p.name for p in out.iterdir()}


def test_the_bonus_race_has_the_lessons_estimators(tmp_path):
    path = planted(tmp_path, "EXERCISE =", "EXERCISE =")
    out = tmp_path / "bonus"
    result = run_pgtui("exercise", "race", str(path), "--bonus", "--seeds", "1", "--max-steps", "2000",
                       "--out", str(out))
    assert result.returncode == 0, result.stderr
    for name in ("whole return", "reward-to-go", "mean baseline", "value baseline"):
        assert name in result.stdout
    assert Path(out / "curves.txt").is_file()
