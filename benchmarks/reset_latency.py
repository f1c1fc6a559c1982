"""Seconds from the reset key (r) to the new run's first frame in the playground.

    python benchmarks/reset_latency.py [--preset NAME] [--repeats 5] [--cold]

The app runs headless (Textual's run_test, 100x30) with a real training process. After
each reset it waits ``--settle`` seconds (the spare training process warms up), then
presses r and times until the screen handles the new run's first snapshot (Textual's
``message_hook``; the Pilot's press returns only once the app is idle, which a live
run delays by a second or more). With
``--cold`` no spare is kept, as before the warm process: every reset starts a process
that must import torch first.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from pgtui.preset_files import load_preset
from pgtui.rl.events import Snapshot
from pgtui.ui.app import PlaygroundApp
from pgtui.ui.messages import TrainerEvents


async def _until(predicate, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the run did not start")
        await asyncio.sleep(0.005)


async def measure(preset: str, repeats: int, settle: float) -> list[float]:
    app = PlaygroundApp(load_preset(preset), preset)
    seconds = []
    frames: list[tuple[float, int, int]] = []  # (when handled, screen, run) of snapshots

    def hook(message) -> None:
        if isinstance(message, TrainerEvents) and any(isinstance(e, Snapshot)
                                                      for e in message.events):
            screen = app.train_screen
            if screen is not None and message.run == screen.run:
                frames.append((time.perf_counter(), id(screen), message.run))

    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        await _until(lambda: app.state.snapshot is not None)
        for _ in range(repeats):
            await asyncio.sleep(settle)
            before = (id(app.train_screen), app.train_screen.run)
            start = time.perf_counter()
            await pilot.press("r")  # returns once the app is idle: later than the frame
            await _until(lambda b=before, t=start: any(when > t and (s, r) != b
                                                       for when, s, r in frames))
            first = min(when for when, s, r in frames if when > start and (s, r) != before)
            seconds.append(first - start)
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
