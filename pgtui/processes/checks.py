"""The exercise's grader in a process of its own: the answer's code never runs in the
screen's process."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from .budget import TRAINER_NICE_VAR

CHECK_TIMEOUT_S = 120.0  # a check takes seconds (benchmarks/exercise_check.py)
CHECK_OUTPUT = 1024**2  # bytes of a check's verdicts read back


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """What `pgtui exercise check --json` said: its exit code and output, or why none."""

    code: int | None  # None: it ran past its time and was ended
    output: str
    errors: str


def check_answer(path: Path, timeout: float = CHECK_TIMEOUT_S) -> CheckResult:
    """Grade the answer in ``path`` in a process of its own (the answer's code never runs
    in the screen's), at the training's priority, ended past ``timeout``. Its output goes
    to files, of which the first megabyte is read: an answer that prints without end
    fills its own folder, not this process's memory."""
    import subprocess
    import sys
    import tempfile

    argv = [sys.executable, "-m", "pgtui", "exercise", "check", str(path), "--json"]
    if os.environ.get(TRAINER_NICE_VAR):
        argv = ["nice", "-n", os.environ[TRAINER_NICE_VAR], *argv]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = None
        texts = []
        for file in (out, err):
            file.seek(0)
            texts.append(file.read(CHECK_OUTPUT).decode("utf-8", "replace"))
    return CheckResult(code, *texts)
