"""A served session's sandbox, for `pgtui serve --allow-code`: the session's processes
(its screen, its training, the grader of its code) run inside bubblewrap (``bwrap``,
Debian's ``bubblewrap``, the sandbox Flatpak is built on), so that a visitor's code meets
only what the session needs.

Inside, the session sees its own folder (a tmpfs of ``disk`` bytes, writable, gone
when it ends), the Python environment and pgtui read-only, the system's libraries
read-only, its own /proc (its processes only), a minimal /dev, no network (a loopback
of its own, down), and an environment with none of the server's variables beyond those
it needs. Every process of it runs with limits on tasks (processes and threads), open
files and address space (``prlimit``). Served by root, it runs as a user id of its own
(``setpriv``): the task limit counts that user's tasks, this session's alone, and root
would be exempt from it; served by another user, bwrap gives it a user namespace, where
the limit counts the namespace's tasks.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

MB = 1024**2
#: the tools the sandbox is made with: bubblewrap, and util-linux's setpriv and prlimit
TOOLS = ("bwrap", "setpriv", "prlimit")
#: user ids of sessions served by root: one each, far above the system's and its users';
#: each server counts from a block of its own (two servers on one machine never share one)
FIRST_UID = 1_800_000_000
_uids = itertools.count(FIRST_UID + os.getpid() % 100_000 * 1000)
#: the server's variables a session keeps (the rest, a teacher's tokens included, stay out)
KEPT_VARIABLES = ("PATH", "LANG", "LANGUAGE", "TERM", "COLORTERM", "HOME", "TMPDIR",
                  "COLUMNS", "ROWS", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "PYTHONHASHSEED",
                  "PYTHONWARNINGS", "OMP_NUM_THREADS", "MKL_ENABLE_INSTRUCTIONS",
                  "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "COVERAGE_PROCESS_START")
KEPT_PREFIXES = ("TEXTUAL", "PGTUI_", "LC_")
#: read-only system folders a Python with torch needs (each where it exists)
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")


class SandboxError(RuntimeError):
    """The sandbox cannot be made here; the message is one line that says why."""


@dataclass(frozen=True)
class Limits:
    """What one sandboxed session may hold. Measured (benchmarks/serve_memory.py
    --allow-code): the widest shipped races run 31 tasks and hold at most 38 files open
    in one process; the most a session may open (six variants, its paused run, one being
    replaced, and a check of its code) comes to about 50 tasks."""

    tasks: int = 128  # processes and threads, all its processes together
    open_files: int = 256  # per process
    disk: int = 256 * MB  # its folder, a tmpfs: files in it are memory
    address_space: int | None = None  # bytes per process; None: no limit


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def check() -> None:
    """Raise SandboxError unless a sandbox can be made here: the tools are there and a
    trial one starts (a kernel without user namespaces for a non-root server fails it)."""
    missing = missing_tools()
    if missing:
        raise SandboxError(f"--allow-code needs {', '.join(missing)} to sandbox each session's "
                           "code (Debian: apt-get install bubblewrap util-linux); none is run "
                           "without one")
    probe = Path(tempfile.mkdtemp(prefix="pgtui-sandbox-trial-"))  # a folder as a session's
    argv = wrap([sys.executable, "-c", "pass"], probe, Limits(), {})
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SandboxError(f"--allow-code: a trial sandbox did not start: {err}") from None
    finally:
        probe.rmdir()
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[:300] or f"exit code {done.returncode}"
        raise SandboxError(f"--allow-code: a trial sandbox did not start: {said}")


def python_folders() -> list[Path]:
    """The folders this Python and pgtui are read from: the environment's prefixes,
    pgtui's package and its presets (an editable install's checkout beyond them stays out)."""
    import pgtui
    from pgtui.preset_files import presets_dir

    folders = {Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix,
                                             sys.base_exec_prefix}}
    folders.add(Path(sys.executable).resolve().parent.parent)
    folders.add(Path(pgtui.__file__).resolve().parent)
    folders.add(presets_dir().resolve())
    return sorted(f for f in folders if f.is_dir() and f != Path("/"))


def session_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environment`` a session keeps, and no bytecode written: the
    Python environment is read-only inside."""
    kept = {k: v for k, v in environment.items() if k in KEPT_VARIABLES or k.startswith(KEPT_PREFIXES)}
    return {**kept, "PYTHONDONTWRITEBYTECODE": "1"}


def _binds(kind: str, paths: Iterable[str | Path]) -> list[str]:
    return [arg for p in paths for arg in (kind, str(p), str(p))]


def _parents(paths: Iterable[Path]) -> list[str]:
    """The folders above ``paths`` made traversable inside (bwrap would make them
    private to root), outside the system folders it binds whole."""
    made: list[str] = []
    for path in paths:
        for parent in reversed(path.parents[:-1]):  # from the top, / left out
            if str(parent) not in made and not any(parent.is_relative_to(s) for s in SYSTEM):
                made.append(str(parent))
    return [arg for folder in made for arg in ("--perms", "0755", "--dir", folder)]


def _outside_system(paths: Iterable[Path]) -> list[Path]:
    return [p for p in paths if not any(p.is_relative_to(s) for s in SYSTEM)]


def wrap(argv: list[str], folder: Path, limits: Limits, environment: Mapping[str, str],
         read_only: Iterable[Path] = ()) -> list[str]:
    """``argv`` as run in a sandbox whose one writable folder is ``folder`` (made empty
    inside it, its working directory), with ``read_only`` folders visible besides the
    Python environment. ``environment``: the variables to set inside (nothing else is)."""
    root = os.geteuid() == 0
    command = ["bwrap", "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try", "--hostname", "pgtui-session"]
    if not root:  # an unprivileged bwrap needs a user namespace for the rest
        command.append("--unshare-user")
    command += _binds("--ro-bind-try", SYSTEM)
    visible = _outside_system([*python_folders(), *(Path(p) for p in read_only)])
    command += ["--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(64 * MB), "--tmpfs", "/dev/shm",
                "--perms", "1777", "--size", str(16 * MB), "--tmpfs", "/tmp"]
    command += _parents([*visible, *map(Path, SYSTEM_FILES), folder])
    command += _binds("--ro-bind-try", SYSTEM_FILES)
    command += _binds("--ro-bind-try", visible)
    command += ["--perms", "0777", "--size", str(limits.disk), "--tmpfs", str(folder),
                "--chdir", str(folder), "--clearenv"]
    for key, value in environment.items():
        command += ["--setenv", key, value]
    if root:  # a user of its own, with no capability left (see the module's note)
        uid = str(next(_uids))
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                    "setpriv", "--reuid", uid, "--regid", uid, "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all"]
    else:
        command.append("--")
    limit = ["prlimit", f"--nproc={limits.tasks}", f"--nofile={limits.open_files}"]
    if limits.address_space:
        limit.append(f"--as={limits.address_space}")
    return command + limit + ["--", *argv]
