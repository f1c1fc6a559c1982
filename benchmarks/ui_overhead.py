"""What the playground costs the training: steps/s headless vs under the app, key latency.

    python benchmarks/ui_overhead.py [--preset cartpole-reinforce-baseline] [--steps 150000]

Runs the same preset and seed for the same number of env steps twice: headless (the
Trainer alone) and under the Textual app (headless run_test, 80x24), then measures
key-press-to-screen latency while training runs and how often the panes are redrawn.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import torch

from pgtui.config import load_preset
from pgtui.rl.trainer import Trainer
from pgtui.ui.app import PlaygroundApp


def headless_sps(config) -> float:
    trainer = Trainer(config)
    trainer.run()
    return trainer.global_step / trainer.train_seconds


async def app_figures(config, preset: str, presses: int) -> dict:
    app = PlaygroundApp(config, preset)
    redraws = 0
    original = app.refresh_panes

    def counted() -> None:
        nonlocal redraws
        redraws += 1
        original()

    app.refresh_panes = counted
    async with app.run_test(size=(80, 24)) as pilot:
        while app.state.status == "starting":
            await asyncio.sleep(0.05)
        start_redraws, start = redraws, time.perf_counter()
        await asyncio.sleep(5)
        redraw_hz = (redraws - start_redraws) / (time.perf_counter() - start)
        latencies = []
        for _ in range(presses):  # latency: tab until the focus has moved and been drawn
            before = app.focused
            t0 = time.perf_counter()
            await pilot.press("tab")
            while app.focused is before:
                await asyncio.sleep(0.001)
            await pilot.pause()
            latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(0.1)
        while app.state.status not in ("finished", "error", "stopped"):
            await asyncio.sleep(0.1)
        sps = app.state.stats['sps']
        await pilot.press("q")
    latencies.sort()
    return {"sps": sps, "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))], "redraw_hz": redraw_hz}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cartpole-reinforce-baseline")
    parser.add_argument("--steps", type=int, default=150_000)
    parser.add_argument("--presses", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_preset(args.preset).replace(total_steps=args.steps)
    base = headless_sps(config)
    ui = asyncio.run(app_figures(config, args.preset, args.presses))
    print(f"preset {args.preset}, {args.steps} steps")
    print(f"headless      {base:10.0f} steps/s")
    print(f"under the app {ui['sps']:10.0f} steps/s   ratio {ui['sps'] / base:.2f} (goal >= 0.9)")
    print(f"key latency   p50 {ui['p50_ms']:.1f} ms   p95 {ui['p95_ms']:.1f} ms (goal < 100)")
    print(f"screen updates {ui['redraw_hz']:.1f} per second (goal >= 10)")


if __name__ == "__main__":
    main()
