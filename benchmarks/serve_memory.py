"""How much memory a served session holds, preset by preset: the figure behind
`pgtui serve --session-memory` (the default keeps the heaviest with room to spare).

    python benchmarks/serve_memory.py [--seconds 40] [--presets NAME ...] [--allow-code]

Per preset: `pgtui serve --preset NAME --session-memory 0` (no limit), one tab that
opens it and trains for ``--seconds``; its process group read every half second for the
most processes and the most memory they held together (PSS: each shared library counted
once, as the server's watch counts it), its tasks (processes and threads together, what
the sandbox's task limit counts) and the most files one of its processes held open: the
figures behind `pgtui serve --allow-code`'s `--sandbox-tasks` and `--sandbox-files`.
With ``--allow-code`` the sessions run sandboxed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from served import Served, Tab, session_processes

from pgtui.serving.sessions import group_usage

# the default, the widest races (variants x seeds), replay buffers, the dialogue's races,
# LunarLander's Box2D, a sweep
PRESETS = ("cartpole-reinforce-baseline", "variance-techniques", "lunarlander-entropy",
           "replay-vs-on-policy", "pg-vs-dqn", "rlhf-methods-fair", "lunarlander-continuous-sac",
           "sweep-lr")


def tasks_and_files(pids: list[int]) -> tuple[int, int]:
    """(threads of ``pids`` together, the most files one of them holds open)."""
    tasks, files = 0, 0
    for pid in pids:
        try:
            tasks += len(os.listdir(f"/proc/{pid}/task"))
            files = max(files, len(os.listdir(f"/proc/{pid}/fd")))
        except OSError:
            continue  # it ended while read
    return tasks, files


async def peak(preset: str, seconds: float, allow_code: bool = False) -> tuple[int, float, int, int]:
    """(most processes, most GB, most tasks, most open files in one process) of one
    session of ``preset`` over ``seconds``."""
    code = ["--allow-code"] if allow_code else []
    with Served("--preset", preset, "--session-memory", "0", *code) as served:
        async with Tab(served.url, emulate=False):
            most_processes, most_memory, most_tasks, most_files = 0, 0, 0, 0
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                for group, pids in session_processes(served.process.pid).items():
                    usage = group_usage(group)
                    if usage is not None:
                        most_processes = max(most_processes, usage.processes)
                        most_memory = max(most_memory, usage.memory)
                    tasks, files = tasks_and_files(pids)
                    most_tasks, most_files = max(most_tasks, tasks), max(most_files, files)
                await asyncio.sleep(0.5)
    return most_processes, most_memory / 1024**3, most_tasks, most_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--allow-code", action="store_true", help="each session sandboxed")
    args = parser.parse_args()
    print(f"{'preset':30s} {'processes':>9s} {'GB (PSS)':>9s} {'tasks':>6s} {'files':>6s}")
    for preset in args.presets:
        processes, gb, tasks, files = asyncio.run(peak(preset, args.seconds, args.allow_code))
        print(f"{preset:30s} {processes:9d} {gb:9.2f} {tasks:6d} {files:6d}", flush=True)


if __name__ == "__main__":
    main()
