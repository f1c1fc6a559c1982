"""The `pgtui` command: the real console script in a subprocess (``run_pgtui``), or its
``main`` in this process (``call_pgtui``: the same exit code and output, without paying
a Python start and a torch import per check)."""

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pgtui.cli import main


def pgtui_command() -> list[str]:
    script = Path(sys.executable).parent / "pgtui"
    if script.exists():
        return [str(script)]
    found = shutil.which("pgtui")
    return [found] if found else [sys.executable, "-m", "pgtui"]


TESTS_DIR = Path(__file__).parent


def run_pgtui(*args: str, timeout: float = 300, cwd=None) -> subprocess.CompletedProcess:
    # tests/ on the path: test-only envs such as raising_env can be named module:EnvId
    path = os.pathsep.join(p for p in (str(TESTS_DIR), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": path}
    return subprocess.run([*pgtui_command(), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


def call_pgtui(*args: str) -> subprocess.CompletedProcess:
    """``pgtui.cli.main(args)`` here: its exit code (argparse's included), stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as done:  # argparse's usage errors
            code = done.code if isinstance(done.code, int) else 1
    return subprocess.CompletedProcess(["pgtui", *args], code, out.getvalue(), err.getvalue())
