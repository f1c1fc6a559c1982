"""Seconds from the reset key (r) to the new run's first frame in the playground.

    python benchmarks/reset_latency.py [--preset NAME] [--repeats 5] [--cold]

The app runs headless (Textual's run_test, 100x30) with a real training process. After
each reset it waits ``--settle`` seconds (the spare training process warms up), then
presses r and times until the state drawn is the new run's: its first snapshot. With
``--cold`` no spare is kept, as before the warm process: every reset starts a process
that must import torch first.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from pgtui.config import load_preset
from pgtui.ui.app import PlaygroundApp


async def _until(predicate, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the run did not start")
        await asyncio.sleep(0.005)


async def measure(preset: str, repeats: int, settle: float) -> list[float]:
    app = PlaygroundApp(load_preset(preset), preset)
    seconds = []
    async with app.run_test(size=(100, 30)) as pilot:
        await _until(lambda: app.state.snapshot is not None)
        for _ in range(repeats):
            await asyncio.sleep(settle)
            run = app.run_id + 1
            start = time.perf_counter()
            await pilot.press("r")
            await _until(lambda r=run: app.run_id == r and app.state.snapshot is not None)
            seconds.append(time.perf_counter() - start)
            print(f"reset to first frame: {seconds[-1]:.3f} s", flush=True)
        await pilot.press("q")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cartpole-reinforce-baseline")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--settle", type=float, default=8.0)
    parser.add_argument("--cold", action="store_true", help="keep no spare training process")
    args = parser.parse_args()
    if args.cold:
        PlaygroundApp._warm_spare = lambda self: None
    seconds = asyncio.run(measure(args.preset, args.repeats, args.settle))
    print(f"{args.preset}, {'cold' if args.cold else 'warm spare'}: median "
          f"{statistics.median(seconds):.3f} s from r to the first frame "
          f"(max {max(seconds):.3f} s, goal <= 0.5 s)")


if __name__ == "__main__":
    main()
