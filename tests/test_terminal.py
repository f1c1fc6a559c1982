"""One real terminal: `pgtui` under tmux, read off the screen as a person would."""

import shutil
import subprocess
import time

import pytest
from cli_helpers import pgtui_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
SESSION = "pgtui-test"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_for(predicate, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = screen()
        if predicate(text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"not on screen in {timeout}s:\n{screen()}")


def test_pgtui_in_a_real_terminal(tmp_path):
    exit_file = tmp_path / "exit"
    command = " ".join(pgtui_command()) + f"; echo $? > {exit_file}; sleep 60"
    tmux("kill-session", "-t", SESSION)
    tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command)
    try:
        text = wait_for(lambda t: "left" in t and "right" in t and any(c in t for c in "▁▂▃▄▅▆▇█")
                        and "running" in t, timeout=90)
        assert "CartPole-v1" in text and "episode returns" in text
        tmux("send-keys", "-t", SESSION, "space")
        wait_for(lambda t: "paused" in t, timeout=30)
        tmux("send-keys", "-t", SESSION, "q")
        deadline = time.monotonic() + 30
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.25)
        assert exit_file.read_text().strip() == "0"
    finally:
        tmux("kill-session", "-t", SESSION)
