"""Run the real `pgtui` console script."""

import os
import shutil
import subprocess
import sys
from pathlib import Path


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
