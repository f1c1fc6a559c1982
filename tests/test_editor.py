"""The exercise's editor in the playground (`e`): the scaffold written once and trained,
a save taken by the run and checked in a process of its own, the file downloaded, and
a locked-down session that runs no visitor's code refusing it in one line."""

import json
import time

from test_exercise import ANSWER, ENTROPY, planted
from textual.widgets import TextArea
from waiting import wait_for

from pgtui import lockdown
from pgtui.exercises.limits import WAIT_FACTOR, CodeTimeout, time_limit
from pgtui.preset_files import load_preset
from pgtui.processes import CheckResult
from pgtui.ui.app import PlaygroundApp
from pgtui.ui.screens.editor import EditorScreen, verdict_text


def _playground() -> PlaygroundApp:
    return PlaygroundApp(load_preset("cartpole-reinforce-baseline").replace(num_envs=4), "default")


async def test_e_writes_the_scaffold_trains_it_and_a_save_is_taken_and_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = _playground()
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(lambda: app.state.status == "running", timeout=60)
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, EditorScreen), timeout=30)
        path = tmp_path / "reinforce.py"
        scaffold = path.read_text()
        assert "raise NotImplementedError" in scaffold
        assert app.config.algo == str(path.resolve())  # the run trains the student's file
        area = app.screen.query_one("#code", TextArea)
        assert area.text == scaffold and area.language == "python"
        await wait_for(lambda: app.state.status == "running", timeout=60)  # the scaffold trains
        # the student's entropy, a bug in it: a constant
        area.text = scaffold + "\n\ndef entropy(logits):\n    return logits.sum(-1) * 0 + 0.25\n"
        await pilot.press("ctrl+s")
        assert path.read_text() == area.text
        await wait_for(lambda: app.state.stats.get("entropy") == 0.25, timeout=60)  # the run took it
        note = app.screen.query_one("#code-note")  # the run's word on it, under the code
        await wait_for(lambda: "reinforce.py: version 2 trains from update" in str(note.render()))
        checks = app.screen.query_one("#checks")
        await wait_for(lambda: "passed" in str(checks.render()), timeout=120)
        shown = str(checks.render())
        assert "✗ entropy" in shown and "entropy: at (0, 0) expected" in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, EditorScreen)
        await pilot.press("e")  # again: the student's file, never overwritten
        await wait_for(lambda: isinstance(app.screen, EditorScreen), timeout=30)
        assert app.screen.query_one("#code", TextArea).text == path.read_text() != scaffold
        await pilot.press("escape")
        await pilot.press("q")


async def test_escape_with_unsaved_changes_warns_once_and_f2_hands_over_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "reinforce.py"
    path.write_text(ANSWER)
    config = load_preset("exercise-reinforce").replace(algo=str(path), num_envs=4, episodes_per_update=4)
    app = PlaygroundApp(config, "exercise")
    delivered = []
    monkeypatch.setattr(app, "deliver_text", lambda io, save_filename=None, **_: delivered.append(
        (io.read(), save_filename)))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, EditorScreen), timeout=30)
        app.screen.query_one("#code", TextArea).text = ANSWER + "\n# a thought\n"
        app.screen.set_focus(None)  # a click beside the code: its letters still quit nothing
        await pilot.press("q", "r")
        assert isinstance(app.screen, EditorScreen) and app.is_running
        await pilot.press("escape")
        assert isinstance(app.screen, EditorScreen)  # told about the unsaved change
        monkeypatch.setenv(lockdown.SESSION_VAR, str(tmp_path))  # as a served session: a download
        await pilot.press("f2")
        assert delivered == [(ANSWER, "reinforce.py")]  # the file as last saved
        await pilot.press("escape")  # again: left without saving
        assert not isinstance(app.screen, EditorScreen)
        assert path.read_text() == ANSWER
        await pilot.press("q")


async def test_a_run_its_code_paused_resumes_with_the_fix_and_a_users_pause_stays(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = planted(tmp_path, "episodes = max(num_episodes, 1)", "episodes = max(num_episodes, 1) + {}")
    config = load_preset("exercise-reinforce").replace(algo=str(path), num_envs=4, episodes_per_update=4)
    app = PlaygroundApp(config, "exercise")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(lambda: app.state.status == "paused", timeout=60)  # its loss raised
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, EditorScreen), timeout=30)
        app.screen.query_one("#code", TextArea).text = ANSWER
        await pilot.press("ctrl+s")
        await wait_for(lambda: app.state.status == "running", timeout=60)  # the fix resumed it
        await pilot.press("escape")
        await pilot.press("space")  # the user's own pause
        await wait_for(lambda: app.state.status == "paused", timeout=30)
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, EditorScreen), timeout=30)
        await pilot.press("ctrl+s")
        await pilot.pause(1.0)
        assert app.state.status == "paused" and not app.state.paused_by_error
        await pilot.press("escape")
        await pilot.press("q")


async def test_a_locked_down_session_without_allow_code_refuses_e_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(lockdown.ENV_VAR, "1")
    app = _playground()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("e")
        await pilot.pause()
        assert not isinstance(app.screen, EditorScreen)
        assert not (tmp_path / "reinforce.py").exists()
        (notice,) = [n.message for n in app._notifications]
        assert "runs no code of its visitors" in notice and "--allow-code" in notice
        await pilot.press("q")


def test_the_verdicts_show_each_function_and_why_there_are_none():
    summary = {"file": "reinforce.py", "passed": 1, "of": 2, "verdicts": [
        {"function": "log_prob", "status": "passed", "message": "", "hint": ""},
        {"function": "loss", "status": "failed", "message": "loss: sign", "hint": "minus"}]}
    shown = verdict_text(CheckResult(1, "a print of the answer's\n" + json.dumps(summary) + "\n", "")).plain
    assert shown.splitlines()[0] == "1 of 2 passed"
    assert "✓ log_prob" in shown and "✗ loss\n  loss: sign\n  hint: minus" in shown
    assert "ran past their time" in verdict_text(CheckResult(None, "", "")).plain
    said = verdict_text(CheckResult(2, "", "pgtui exercise: reinforce.py, line 3: syntax error\n"))
    assert said.plain == "pgtui exercise: reinforce.py, line 3: syntax error"


def test_a_call_past_its_time_is_stopped_with_code_timeout():
    steps = 0
    try:
        with time_limit(0.2):
            while True:
                steps += 1
    except CodeTimeout as err:
        assert "ran past the 0.2 s of CPU time one call may take" in str(err)
    else:
        raise AssertionError("the loop was not stopped")
    assert steps > 0
    with time_limit(5.0):  # a call within its time returns as it would
        assert sum(range(10)) == 45


def test_waiting_counts_against_the_clock_not_the_cpu_limit():
    # a busy machine stretches an honest call's wall time, never its CPU time: waiting
    # twice the CPU limit passes, waiting past WAIT_FACTOR times it is stopped
    with time_limit(0.05):
        time.sleep(0.1)
    try:
        with time_limit(0.05):
            time.sleep(5)
    except CodeTimeout as err:
        assert f"waited past the {0.05 * WAIT_FACTOR:g} s one call may take" in str(err)
    else:
        raise AssertionError("the sleep was not stopped")


def test_check_json_is_one_object_whatever_the_answer_prints(tmp_path):
    from cli_helpers import run_pgtui

    path = tmp_path / "reinforce.py"
    path.write_text(ANSWER.replace(ENTROPY, "print('noise' * 1000); import os; os.write(1, b'raw'); "
                                   + ENTROPY.replace("return ", "return 1.0 + ")))
    result = run_pgtui("exercise", "check", str(path), "--json")
    assert result.returncode == 1, result.stderr
    (line,) = result.stdout.splitlines()
    summary = json.loads(line)
    verdicts = {v["function"]: v["status"] for v in summary["verdicts"]}
    assert verdicts["entropy"] == "failed" and verdicts["log_prob"] == "passed"
    assert summary["of"] == len(summary["verdicts"]) and summary["passed"] < summary["of"]
