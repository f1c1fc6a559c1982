"""One browser tab's playground: its process group, its folder, its last keypress.

Each session runs ``python -m pgtui --preset NAME`` in a process group of its own
(textual-serve's web driver speaks to the page through its stdin and stdout), with its
own temporary folder as working directory, ``TMPDIR`` and ``HOME``, so everything it
writes (ctrl+s checkpoints, a fork's or watch mode's files) lands there; the folder is
removed when the session ends. Ending a session ends its whole process group, training
processes included.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import resource
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from textual_serve.app_service import AppService

from .. import lockdown
from ..cache import cache_dir
from ..exercises.limits import SECONDS_VAR
from ..processes import MAX_PROCESSES_VAR, TRAINER_NICE_VAR
from . import sandbox as sandboxes

QUIT_GRACE_S = 3.0  # the app's own quit, then its process group is ended
KILL_GRACE_S = 2.0  # SIGTERM, then SIGKILL
TRAINER_NICE = 19
SCREEN_FPS = 20  # textual-serve asks for 60; the panes change at most 20 times a second
# training processes a session may run at once: the largest race a session may open, the
# run it paused, and one being replaced
MAX_TRAINING_PROCESSES = lockdown.MAX_VARIANTS + 2
# beside them a session holds its screen and multiprocessing's resource tracker; a group
# past this many is a bug's, and the server ends it
MAX_GROUP_PROCESSES = MAX_TRAINING_PROCESSES + 2
SANDBOX_PROCESSES = 2  # bubblewrap's own: the one started and the sandbox's first process


class Session(AppService):
    """A served playground: textual-serve's app service, run as a process group in a
    folder of its own."""

    def __init__(self, argv: list[str], root: Path, trusted: bool, memory_limit: int | None = None,
                 sandbox: sandboxes.Limits | None = None, code_seconds: float | None = None,
                 **kwargs) -> None:
        """``memory_limit``: bytes of address space each of its processes may map (None:
        no limit), a guard against sudden growth that the server's watch (once a second)
        would see too late. ``sandbox``: run it sandboxed, with these limits, and let it
        run a visitor's code (each call at most ``code_seconds``)."""
        super().__init__(" ".join(argv), **kwargs)
        self.argv = argv
        self.trusted = trusted
        self.memory_limit = memory_limit
        self.sandbox = sandbox
        self.code_seconds = code_seconds
        self.most_processes = MAX_GROUP_PROCESSES + (SANDBOX_PROCESSES if sandbox else 0)
        self.folder = Path(tempfile.mkdtemp(prefix="pgtui-session-", dir=root))
        self.last_input = time.monotonic()
        self.ended = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def touched(self) -> None:
        """The visitor did something (a key, a click, a resize)."""
        self.last_input = time.monotonic()

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        folder = str(self.folder)
        environment.update({"TMPDIR": folder, "HOME": folder, lockdown.SESSION_VAR: folder})
        # training runs at a lower priority than the screens, so that with every core busy
        # training a key is still answered at once; the sessions share what is left
        environment[TRAINER_NICE_VAR] = str(TRAINER_NICE)
        environment["TEXTUAL_FPS"] = str(SCREEN_FPS)
        environment[MAX_PROCESSES_VAR] = str(MAX_TRAINING_PROCESSES)
        # the models' cache stays where the server filled it (a session only reads it)
        environment.setdefault("PGTUI_CACHE_DIR", str(cache_dir()))
        if not self.trusted:
            environment[lockdown.ENV_VAR] = "1"
        else:
            environment.pop(lockdown.ENV_VAR, None)
        if self.sandbox is not None:
            environment[lockdown.CODE_VAR] = "1"
            if self.code_seconds:
                environment[SECONDS_VAR] = str(self.code_seconds)
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> asyncio.subprocess.Process:
        argv, environment = self.argv, self._build_environment(width, height)
        if self.sandbox is not None:  # its limits are set inside, the memory one too
            limits = dataclasses.replace(self.sandbox, address_space=self.memory_limit)
            argv = sandboxes.wrap(argv, self.folder, limits,
                                  sandboxes.session_environment(environment),
                                  read_only=[cache_dir()])
            environment = {"PATH": environment.get("PATH", os.defpath)}
        self._process = process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=environment, cwd=self.folder,
            start_new_session=True)
        if self.memory_limit is not None and self.sandbox is None:  # inherited by its children
            with contextlib.suppress(OSError):  # it may already have ended
                resource.prlimit(process.pid, resource.RLIMIT_AS, (self.memory_limit,) * 2)
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        """Relay the app's output until it ends (it quit, or its process died); then the
        tab's websocket closes, which ends the session."""
        await super().run()
        with contextlib.suppress(Exception):
            await self.remote_close()

    async def stop(self) -> None:
        """Ask the app to quit, then end its process group whatever it did, and remove
        the session's folder. Safe to call more than once."""
        if self.ended:
            return
        self.ended = True
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(Exception):
                await self.send_meta({"type": "quit"})
            try:
                await asyncio.wait_for(asyncio.shield(task), QUIT_GRACE_S)
            except (asyncio.TimeoutError, Exception):
                task.cancel()
        await end_group(self._process)
        shutil.rmtree(self.folder, ignore_errors=True)


async def end_group(process: asyncio.subprocess.Process | None) -> None:
    """SIGTERM to the process group led by ``process``, SIGKILL to what is left of it."""
    if process is None:
        return
    for sig, grace in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, 1.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(process.wait(), grace)


@dataclass(frozen=True)
class Usage:
    """What a session's process group holds: live processes and their memory."""

    processes: int
    memory: int  # bytes: each process's proportional share (PSS), so shared libraries count once


def group_usage(group: int) -> Usage | None:
    """The live processes of process group ``group`` and their memory, read from Linux's
    /proc; None where there is no /proc."""
    proc = Path("/proc")
    if not (proc / "self" / "smaps_rollup").exists():
        return None
    count, memory = 0, 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != group or fields[0] == "Z":
                continue
            rollup = (entry / "smaps_rollup").read_text()
        except (OSError, IndexError, ValueError):
            continue  # it ended while read
        count += 1
        memory += next((int(line.split()[1]) * 1024 for line in rollup.splitlines()
                        if line.startswith("Pss:")), 0)
    return Usage(count, memory)

