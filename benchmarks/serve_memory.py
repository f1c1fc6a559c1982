"""How much memory a served session holds, preset by preset: the figure behind
`pgtui serve --session-memory` (the default keeps the heaviest with room to spare).

    python benchmarks/serve_memory.py [--seconds 40] [--presets NAME ...]

Per preset: `pgtui serve --preset NAME --session-memory 0` (no limit), one tab that
opens it and trains for ``--seconds``; its process group read every half second for the
most processes and the most memory they held together (PSS: each shared library counted
once, as the server's watch counts it).
"""

from __future__ import annotations

import argparse
import asyncio
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


async def peak(preset: str, seconds: float) -> tuple[int, float]:
    """(most processes, most GB) of one session of ``preset`` over ``seconds``."""
    with Served("--preset", preset, "--session-memory", "0") as served:
        async with Tab(served.url, emulate=False):
            most_processes, most_memory = 0, 0
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                for group in session_processes(served.process.pid):
                    usage = group_usage(group)
                    if usage is not None:
                        most_processes = max(most_processes, usage.processes)
                        most_memory = max(most_memory, usage.memory)
                await asyncio.sleep(0.5)
    return most_processes, most_memory / 1024**3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    args = parser.parse_args()
    print(f"{'preset':30s} {'processes':>9s} {'GB (PSS)':>9s}")
    for preset in args.presets:
        processes, gb = asyncio.run(peak(preset, args.seconds))
        print(f"{preset:30s} {processes:9d} {gb:9.2f}", flush=True)


if __name__ == "__main__":
    main()
