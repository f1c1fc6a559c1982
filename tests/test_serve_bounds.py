"""A hostile visitor against `pgtui serve`: each attack through the real served app, with
a second session training beside it. The hostile session is bounded or ended (its page
says why), the server answers, the other session answers a key within a second, and the
server's own memory stays small."""

import asyncio
import json
import socket
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("textual_serve")
from served import Served, answers_within, server_memory, session_processes, two_sessions

from pgtui.serving.server import CONNECTIONS_PER_SESSION, HEADER_TIMEOUT_S, terminal_size
from pgtui.serving.sessions import MAX_GROUP_PROCESSES, group_usage

pytestmark = pytest.mark.xdist_group("serve")  # one server at a time: they share the cores

SERVER_MEMORY_BOUND = 400 * 1024**2  # the server's own process: it relays, it holds no session
PRESET = "cartpole-reinforce-baseline"



def test_a_terminal_size_is_clamped_to_a_browsers_and_nonsense_is_refused():
    assert terminal_size("120", "36") == (120, 36)  # as the URL's query has it
    assert terminal_size(100_000, 30_000) == (640, 240)
    for width in (-5, 0, float("inf"), float("nan"), 80.5, "wide", None, True, [80]):
        with pytest.raises(ValueError, match="is not a size in cells"):
            terminal_size(width, 24)


async def test_a_screen_size_past_a_browsers_is_clamped_and_nonsense_is_ignored():
    with Served("--preset", PRESET) as served:
        other, bad, _, bad_group = await two_sessions(served, width=30000, height=30000)
        try:
            # the query's 30000 x 30000 was clamped, and so is a resize past it
            await bad.ws.send_str(json.dumps(["resize", {"width": 100000, "height": 100000}]))
            for nonsense in ('{"width": -5, "height": 24}', '{"width": 1e400, "height": 24}',
                             '{"width": "wide", "height": 24}', '{"width": null, "height": 24}'):
                await bad.ws.send_str(f'["resize", {nonsense}]')
            await asyncio.sleep(5)
            assert not bad.closed and bad_group in session_processes(served.process.pid)
            await answers_within(bad, 5.0)  # the hostile session itself goes on
            await answers_within(other)
            screen = group_usage(bad_group)
            assert screen.memory < 1024**3, f"{screen.memory / 1024**3:.1f} GB"  # 4.3 GB unclamped
            # each of its processes may map at most the session's memory and a margin
            limits = Path(f"/proc/{bad_group}/limits").read_text()
            (line,) = [row for row in limits.splitlines() if row.startswith("Max address space")]
            assert line.split()[3] == str(5 * 1024**3)  # --session-memory 3 (GB), plus 2
            assert server_memory(served) < SERVER_MEMORY_BOUND
        finally:
            await bad.__aexit__(None, None, None)
            await other.__aexit__(None, None, None)


async def test_runs_replaced_in_a_hurry_leave_no_processes_behind():
    with Served("--preset", PRESET) as served:
        other, bad, _, bad_group = await two_sessions(served)
        try:
            most = 0
            for _ in range(20):  # r: a new run for the old, 20 times in 2 s
                await bad.press("r")
                await asyncio.sleep(0.1)
                most = max(most, len(session_processes(served.process.pid)[bad_group]))
            for _ in range(8):  # a race opened and left, 8 times
                for key, shown in (("c", b"Pick a race preset"), ("\r", b"keys act on"),
                                   ("\x1b", b"hyperparameters")):
                    bad.mark()
                    await bad.press(key)
                    await bad.wait_for_bytes(shown)
                    most = max(most, len(session_processes(served.process.pid)[bad_group]))
            assert most <= MAX_GROUP_PROCESSES, most
            await asyncio.sleep(2)
            # its screen, multiprocessing's resource tracker, and the run on show
            assert len(session_processes(served.process.pid)[bad_group]) <= 3
            await answers_within(other)
            assert server_memory(served) < SERVER_MEMORY_BOUND
        finally:
            await bad.__aexit__(None, None, None)
            await other.__aexit__(None, None, None)


async def test_a_session_past_its_memory_is_ended_and_its_page_says_why():
    # a single run holds about 0.35 GB here and a race of five about 1.6 GB: a limit
    # between them ends the session that opens the race, and only it
    with Served("--preset", PRESET, "--session-memory", "0.8") as served:
        other, bad, other_group, bad_group = await two_sessions(served)
        try:
            await bad.press("c")
            await asyncio.sleep(0.4)
            await bad.press("\r")
            deadline = time.monotonic() + 60
            while not bad.closed and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert bad.closed
            assert bad.close_reason.startswith("This session has ended: it used ")
            assert "more than the 0.8 GB a session may use" in bad.close_reason
            assert ["ended", bad.close_reason] in bad.messages  # said before the close, too
            deadline = time.monotonic() + 15
            while bad_group in session_processes(served.process.pid) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert list(session_processes(served.process.pid)) == [other_group]
            await answers_within(other)
        finally:
            await bad.__aexit__(None, None, None)
            await other.__aexit__(None, None, None)


async def test_visitor_text_is_never_markup_in_a_served_session():
    with Served("--preset", PRESET) as served:
        other, bad, _, bad_group = await two_sessions(served)
        try:
            await bad.press("p")
            await asyncio.sleep(0.5)
            await bad.press("\t")
            await asyncio.sleep(0.3)
            await bad.press("[@click=app.notify('INJECTED')]CLICKME[/]")
            await asyncio.sleep(0.5)
            bad.mark()
            await bad.press("\r")
            await bad.wait_for_bytes(b"preset not loaded")
            await asyncio.sleep(0.5)
            # the notice shows the text as typed: no link was made of it
            assert b"[@click=app.notify('INJECTED')]CLICKME[/]" in bad.since_mark
            assert bad_group in session_processes(served.process.pid)
            await answers_within(other)
        finally:
            await bad.__aexit__(None, None, None)
            await other.__aexit__(None, None, None)


def _slow_connection(port: int) -> socket.socket:
    """A connection from another address (Linux's loopback answers all of 127/8) that
    begins a request and never finishes its headers."""
    s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return s


def _closed_by_server(s: socket.socket, within: float) -> bool:
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


async def test_connections_that_never_finish_their_headers_hold_nothing_for_long():
    with Served("--preset", PRESET, "--max-sessions", "3") as served:
        other, bad, _, _ = await two_sessions(served)
        allowed = CONNECTIONS_PER_SESSION * 3  # a class's worth from one address
        slow = []
        try:
            slow = [_slow_connection(served.port) for _ in range(260)]
            await asyncio.sleep(1)
            # past a class's worth, the flood's connections are closed at once
            assert sum(_closed_by_server(s, 0.05) for s in slow) == len(slow) - allowed
            # while the rest hang, other visitors get the page, and the sessions go on
            started = time.monotonic()
            with urllib.request.urlopen(served.url, timeout=5) as response:
                assert response.status == 200 and b"textual.js" in response.read()
            assert time.monotonic() - started < 1.0
            await answers_within(other)
            await answers_within(bad)
            # and those that hang are closed once the time to finish their headers is up
            deadline = time.monotonic() + HEADER_TIMEOUT_S + 5
            assert all(_closed_by_server(s, max(deadline - time.monotonic(), 0.1)) for s in slow)
            assert server_memory(served) < SERVER_MEMORY_BOUND
        finally:
            for s in slow:
                s.close()
            await bad.__aexit__(None, None, None)
            await other.__aexit__(None, None, None)


# -- the same in the app, through Textual's Pilot -------------------------------------------


async def test_a_typed_preset_name_is_shown_as_text_never_as_markup(monkeypatch):
    from textual.widgets._toast import Toast

    from pgtui.preset_files import load_preset
    from pgtui.ui.app import PlaygroundApp

    monkeypatch.setenv("PGTUI_LOCKDOWN", "1")
    app = PlaygroundApp(load_preset(PRESET), PRESET, autostart=False)
    typed = "[@click=app.notify('INJECTED')]CLICKME[/]"
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.press("p", "tab", *typed, "enter")
        await pilot.pause(0.3)
        (toast,) = app.screen.query(Toast)
        shown = " ".join(str(toast.render()).split())
        # as markup it would show CLICKME alone, a link that calls app.notify
        assert typed in shown and "a served session opens only the shipped presets" in shown


async def test_a_picker_leaves_only_with_a_choice_it_offered():
    from pgtui.preset_files import load_preset
    from pgtui.ui.app import PlaygroundApp
    from pgtui.ui.screens.choice import ChoicePicker

    app = PlaygroundApp(load_preset("cartpole-ppo"), "cartpole-ppo", autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        for key in ("L", "c"):  # the lessons' picker, the races'
            await pilot.press(key)
            await pilot.pause()
            picker = app.screen
            assert isinstance(picker, ChoicePicker)
            await picker.run_action("dismiss('no-such-choice')")  # as a markup link would
            await pilot.pause()
            assert app.screen is picker and app.is_running
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, ChoicePicker)


async def test_past_its_cap_a_session_refuses_a_race_in_one_line_and_its_run_goes_on(monkeypatch):
    from textual.widgets._toast import Toast

    from pgtui.preset_files import load_preset
    from pgtui.processes import MAX_PROCESSES_VAR, live_processes
    from pgtui.ui.app import PlaygroundApp

    monkeypatch.setenv("PGTUI_SESSION_DIR", "served")  # a served session's processes...
    monkeypatch.setenv(MAX_PROCESSES_VAR, "2")  # ... under a cap of two
    app = PlaygroundApp(load_preset(PRESET), PRESET)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("enter")  # the first race preset: four variants
        await pilot.pause(0.3)
        shown = " ".join(" ".join(str(t.render()).split()) for t in app.screen.query(Toast))
        assert "may run at most 2 at once; this needs 4 more" in shown, shown
        assert live_processes() == 1  # the run on show, untouched
        await pilot.press("r")  # a reset: the run replaced is ended outright, then its successor
        await pilot.pause(0.5)
        assert live_processes() == 1
