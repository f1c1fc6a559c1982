"""Memory of a long playground session: RSS at the start and the end, UI and trainer.

    python benchmarks/long_run_memory.py [--minutes 10] [--preset cartpole-reinforce-baseline]

Runs the app (headless Textual run_test, 80x24) with training for the given time and
reads the resident set size of the UI process and of the training process from /proc.
Goal: growth under 50 MB. The run's total_steps is raised so that it never finishes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

from pgtui.preset_files import load_preset
from pgtui.ui.app import PlaygroundApp

WARM_UP_S = 30.0  # torch, Textual and the first rollouts allocate once at the start


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def measure(preset: str, minutes: float) -> None:
    config = load_preset(preset).replace(total_steps=10**10)
    app = PlaygroundApp(config, preset)
    async with app.run_test(size=(80, 24)) as pilot:
        while app.state.status == "starting":
            await asyncio.sleep(0.1)
        await asyncio.sleep(WARM_UP_S)
        pids = {"ui": os.getpid(), "trainer": app.remote.pid}
        start = {name: rss_mb(pid) for name, pid in pids.items()}
        step0, episode0, t0 = app.state.global_step, app.state.episodes, time.monotonic()
        while time.monotonic() - t0 < minutes * 60:
            await asyncio.sleep(5)
        end = {name: rss_mb(pid) for name, pid in pids.items()}
        steps, episodes = app.state.global_step - step0, app.state.episodes - episode0
        await pilot.press("q")
    print(f"{preset}: {minutes:g} min after a {WARM_UP_S:.0f} s warm-up, {steps:,} steps, "
          f"{episodes:,} episodes")
    for name in pids:
        print(f"{name:8} RSS {start[name]:7.1f} MB -> {end[name]:7.1f} MB "
              f"(growth {end[name] - start[name]:+.1f} MB; goal < 50)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cartpole-reinforce-baseline")
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(measure(args.preset, args.minutes))


if __name__ == "__main__":
    main()
