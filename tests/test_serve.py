"""`pgtui serve`: sessions, their limits and the lockdown, through the real command and
textual-serve's websocket (as the page speaks it); the real browser is in
test_serve_browser.py."""

import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from cli_helpers import run_pgtui

pytest.importorskip("textual_serve")
from served import Served, Tab, session_processes

pytestmark = pytest.mark.xdist_group("serve")  # one server at a time: they share the cores


def session_folder(pid: int) -> Path:
    return Path(os.readlink(f"/proc/{pid}/cwd"))


def session_environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


async def gone(server_pid: int, group: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if group not in session_processes(server_pid):
            return True
        await asyncio.sleep(0.1)
    return False


def page(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


# -- the command ------------------------------------------------------------------------


def test_without_textual_serve_serve_is_one_line_and_exit_2(tmp_path):
    stub = tmp_path / "textual_serve"
    stub.mkdir()
    (stub / "__init__.py").write_text("raise ImportError('not installed here')\n")
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(tmp_path), env_path) if p)
    try:
        result = run_pgtui("serve", "--port", "1")
    finally:
        os.environ["PYTHONPATH"] = env_path
    assert result.returncode == 2
    assert result.stderr.strip() == ("pgtui serve needs textual-serve, which is not installed: "
                                     "pip install 'pgtui[serve]'")


@pytest.mark.parametrize("args, says", [
    (["--preset", "presets/cartpole-ppo.toml"], "a served session opens only the shipped presets"),
    (["--preset", "no-such-preset"], "a served session opens only the shipped presets"),
    (["--max-sessions", "0"], "expected a positive integer"),
    (["--idle-minutes", "0"], "expected a number > 0"),
    (["--sandbox-tasks", "64"], "set the limits of --allow-code, which is not given"),
    (["--allow-code", "--sandbox-disk", "0"], "expected a positive integer"),
    (["--allow-code", "--code-seconds", "never"], "expected a number >= 0"),
])
def test_bad_serve_options_are_one_line_and_exit_2(args, says):
    result = run_pgtui("serve", *args)
    assert result.returncode == 2, result.stdout
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_allow_code_without_bubblewrap_is_one_line_and_exit_2(tmp_path):
    """No sandbox, no code: never a silent fall back to sessions that run code unsandboxed."""
    bare = tmp_path / "bin"  # a PATH with nothing on it
    bare.mkdir()
    result = subprocess.run([sys.executable, "-m", "pgtui", "serve", "--allow-code"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PATH": str(bare)})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("pgtui serve: --allow-code needs bwrap")
    assert len(result.stderr.strip().splitlines()) == 1


def test_any_host_but_localhost_warns_that_anyone_who_reaches_it_can_use_it():
    with Served("--host", "0.0.0.0") as served:
        status, html = page(served.url)
        assert status == 200 and "textual.js" in html
        assert "googleapis" not in html  # the font is served with the page
        assert served.interrupt() == 0
        said = served.process.stdout.read()
    assert "warning: listening on 0.0.0.0: anyone who can reach port" in said


def test_the_page_points_at_the_address_visitors_use():
    with Served("--public-url", "https://class.example.org") as served:
        _, behind_a_proxy = page(served.url)
    assert 'data-session-websocket-url="wss://class.example.org/ws"' in behind_a_proxy
    assert 'src="https://class.example.org/static/js/textual.js"' in behind_a_proxy
    with Served() as served:
        _, direct = page(served.url)
    assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in direct


# -- sessions ---------------------------------------------------------------------------


async def test_each_tab_gets_its_own_playground_and_closing_it_ends_its_processes():
    with Served("--preset", "cartpole-ppo") as served:
        async with Tab(served.url) as first, Tab(served.url) as second:
            for tab in (first, second):
                await tab.wait_for("hyperparameters")
                await tab.wait_for("CartPole-v1")
                await tab.wait_for("running")
            groups = session_processes(served.process.pid)
            assert len(groups) == 2
            folders = {session_folder(g) for g in groups}
            assert len(folders) == 2  # a folder each, only its owner may enter
            assert all(stat.S_IMODE(f.stat().st_mode) == 0o700 for f in folders)
            await first.press(" ")
            await first.wait_for("paused")
            assert "paused" not in second.text()  # the other session trains on
            for pids in groups.values():  # training yields the cores to the screens
                nice = {int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[16])
                        for p in pids if Path(f"/proc/{p}/stat").exists()}
                assert {0, 19} <= nice, nice
            for group in groups:  # whatever a session writes lands in its own folder
                env = session_environment(group)
                assert env["PGTUI_LOCKDOWN"] == "1"
                assert env["TMPDIR"] == env["HOME"] == env["PGTUI_SESSION_DIR"] == str(session_folder(group))
            await first.close()
            closed = [g for g in groups if g not in session_processes(served.process.pid)]
            deadline = time.monotonic() + 15
            while not closed and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                closed = [g for g in groups if g not in session_processes(served.process.pid)]
            assert len(closed) == 1, "the closed tab's processes are gone"
            (left,) = set(groups) - set(closed)
            assert left in session_processes(served.process.pid)
            deadline = time.monotonic() + 10  # its folder goes once its processes have
            while len([f for f in folders if f.exists()]) > 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert len([f for f in folders if f.exists()]) == 1
            await second.press(" ")
            await second.wait_for("paused")  # the other still answers


async def test_max_sessions_turns_the_next_visitor_away_and_the_running_ones_go_on():
    with Served("--preset", "cartpole-ppo", "--max-sessions", "2") as served:
        async with Tab(served.url) as first, Tab(served.url) as second:
            await first.wait_for("CartPole-v1")
            await second.wait_for("CartPole-v1")
            status, html = page(served.url)
            assert status == 503 and "The class is full" in " ".join(html.split())
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                async with Tab(served.url):
                    pass
            assert refused.value.status == 503
            for tab in (first, second):
                await first.ws.send_str('["resize"]')  # not what the page sends: ignored
                await tab.press(" ")
                await tab.wait_for("paused")
            assert len(session_processes(served.process.pid)) == 2
            assert served.interrupt() == 0
        assert "2 sessions ended, 2 visitors were turned away" in served.process.stdout.read()


async def test_killing_one_sessions_process_leaves_the_others_running_and_frees_its_place():
    with Served("--preset", "cartpole-ppo", "--max-sessions", "2") as served:
        async with Tab(served.url) as first, Tab(served.url) as second:
            await first.wait_for("CartPole-v1")
            await second.wait_for("CartPole-v1")
            victim, survivor = sorted(session_processes(served.process.pid))
            os.killpg(victim, signal.SIGKILL)
            assert await gone(served.process.pid, victim)
            assert survivor in session_processes(served.process.pid)
            deadline = time.monotonic() + 15
            while page(served.url)[0] != 200 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            async with Tab(served.url) as third:  # the place is free again
                await third.wait_for("CartPole-v1")
            for tab in (first, second):
                if not tab.closed:
                    await tab.press(" ")
                    await tab.wait_for("paused")
            assert sum(not t.closed for t in (first, second)) == 1


async def test_an_idle_session_ends_and_its_processes_with_it():
    with Served("--preset", "cartpole-ppo", "--idle-minutes", "0.05") as served:
        async with Tab(served.url) as tab:
            await tab.wait_for("CartPole-v1")
            (group,) = session_processes(served.process.pid)
            deadline = time.monotonic() + 30
            while not tab.closed and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert tab.closed, "3 s without a key: the server closes the tab's session"
            assert await gone(served.process.pid, group)


async def test_ctrl_c_stops_the_server_and_every_sessions_processes():
    with Served("--preset", "cartpole-ppo") as served:
        async with Tab(served.url) as first, Tab(served.url) as second:
            await first.wait_for("CartPole-v1")
            await second.wait_for("CartPole-v1")
            groups = session_processes(served.process.pid)
            assert len(groups) == 2
            assert served.interrupt() == 0
            members = [pid for g in groups for pid in groups[g]]
            alive = [pid for pid in members if Path(f"/proc/{pid}").exists()
                     and "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]]
            assert alive == []


# -- the lockdown -----------------------------------------------------------------------


async def test_a_session_downloads_its_checkpoint_refuses_a_typed_path_and_keeps_its_files_to_itself():
    with Served("--preset", "cartpole-ppo") as served:
        async with Tab(served.url) as first, Tab(served.url) as second:
            await first.wait_for("CartPole-v1")
            await second.wait_for("CartPole-v1")
            groups = sorted(session_processes(served.process.pid))
            await first.press("\x13")  # ctrl+s: a checkpoint, into the session's own folder
            await first.wait_for("saved")
            owner = next(g for g in groups if list(session_folder(g).glob("checkpoints/*.pt")))
            (saved,) = session_folder(owner).glob("checkpoints/*.pt")
            # ... and handed to the browser, since the folder goes with the session
            await first.wait_for("your browser downloads")
            key = next(m[1] for m in first.messages if m[0] == "deliver_file_start")
            async with aiohttp.ClientSession() as http, http.get(f"{served.url}/download/{key}") as got:
                assert got.status == 200 and saved.name in got.headers["Content-Disposition"]
                assert await got.read() == saved.read_bytes()
            await second.press("p")
            await second.wait_for("a served session opens only these presets")
            await second.press("\t")
            await asyncio.sleep(0.3)
            await second.press(str(saved) + "\r")
            await second.wait_for("a served session opens only")
            other = next(g for g in groups if g != owner)
            assert session_folder(other) != session_folder(owner)
            assert not list(session_folder(other).rglob("*.pt"))


def test_the_lockdown_refusals_import_nothing_and_write_nothing(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    monkeypatch.setenv("PGTUI_LOCKDOWN", "1")
    monkeypatch.setenv("PGTUI_TEST_MARKER", str(marker))
    cases = [
        (["--set", "env=marker_env:Marker-v0"], "would import a module, which is not allowed"),
        (["--set", "algo=marker_env:Learner"], "would import a module, which is not allowed"),
        (["--set", f"algo={Path('tests/marker_env.py').resolve()}:Learner"], "would import a module"),
        (["--set", f"algo={Path('tests/marker_env.py').resolve()}"], "would import a module"),  # an answer
        (["--set", "num_envs=65"], "num_envs: at most 64 in a served session"),
        (["--set", "hidden_sizes=[512, 512]"], "hidden_sizes: at most 3 layers of 256"),
        (["--set", "total_steps=10_000_000"], "total_steps: at most 3,000,000"),
        (["--set", "seeds=21"], "seeds: at most 20"),
        (["--set", 'device="cuda"'], "device: cuda is not offered"),
        (["--preset", str(Path("presets/cartpole-ppo.toml").resolve())], "opens only the shipped presets"),
    ]
    for args, says in cases:
        result = run_pgtui("train", "--preset", "cartpole-ppo", *args, "--out", str(tmp_path / "out"),
                           cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    answer = str(Path("tests/marker_env.py").resolve())
    for args in (["check", answer], ["play", answer], ["reinforce", str(tmp_path / "mine")]):
        result = run_pgtui("exercise", *args, cwd=tmp_path)
        assert result.returncode == 2 and "an exercise runs the answer's own code" in result.stderr
        assert "without --allow-code" in result.stderr
    assert not marker.exists(), "a refused module:EnvId or module:Class was imported"
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_every_shipped_preset_opens_in_a_locked_down_session(monkeypatch):
    from pgtui.preset_files import load_preset, preset_names

    monkeypatch.setenv("PGTUI_LOCKDOWN", "1")
    for name in preset_names():
        load_preset(name)


async def test_a_locked_down_screen_refuses_a_typed_value_above_a_cap(monkeypatch):
    from textual.widgets import Input

    from pgtui.preset_files import load_preset
    from pgtui.ui.app import PlaygroundApp

    monkeypatch.setenv("PGTUI_LOCKDOWN", "1")
    app = PlaygroundApp(load_preset("cartpole-ppo"), "cartpole-ppo", autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        for key, typed, says in (("num_envs", "100", "num_envs: at most 64 in a served session"),
                                 ("hidden_sizes", "512,512", "at most 3 layers of 256")):
            field = app.screen.params.query_one(f"#{key}", Input)
            field.focus()
            field.value = typed
            await pilot.press("enter")
            await pilot.pause()
            feedback = " ".join(str(app.screen.params.query_one("#param-feedback").render()).split())
            assert says in feedback, feedback
        assert app.config.num_envs == 32 and app.config.hidden_sizes == [64, 64]


def test_a_served_race_may_run_thirty_runs_however_its_seeds_and_variants_share_them(monkeypatch):
    from pgtui.config import ConfigError
    from pgtui.preset_files import load_preset

    monkeypatch.setenv("PGTUI_LOCKDOWN", "1")
    assert load_preset("how-many-seeds").seeds == 10  # 2 variants x 10 seeds: 20 runs
    assert load_preset("variance-techniques").replace(seeds=6).seeds == 6  # 5 x 6: 30
    with pytest.raises(ConfigError, match=r"race: 35 runs \(variants x seeds\); at most 30 in a served"):
        load_preset("variance-techniques").replace(seeds=7)
