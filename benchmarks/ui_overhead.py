"""What the playground costs the training: steps/s headless vs under the app, key latency.

    python benchmarks/ui_overhead.py [--preset cartpole-reinforce-baseline] [--steps 600000]

Runs the same preset and seed for the same number of env steps twice: headless (the
Trainer alone) and under the Textual app (headless run_test, 80x24). While the app's run
trains, it measures how often the panes are redrawn and the key-press-to-frame latency
(tab moving focus); ``--steps`` must outlast those measurements, or it says so.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import torch
from textual import events

from pgtui.preset_files import load_preset
from pgtui.rl.trainer import Trainer
from pgtui.ui.app import PlaygroundApp


def headless_sps(config) -> float:
    trainer = Trainer(config)
    trainer.run()
    return trainer.global_step / trainer.runs[0].train_seconds


async def app_figures(config, preset: str, presses: int) -> dict:
    app = PlaygroundApp(config, preset)
    redraws = 0
    async with app.run_test(size=(80, 24)) as pilot:
        while app.train_screen is None:
            await asyncio.sleep(0.01)
        screen = app.train_screen  # the panes are its: count its redraws
        original = screen.refresh_panes

        def counted() -> None:
            nonlocal redraws
            redraws += 1
            original()

        screen.refresh_panes = counted
        # The moment a frame goes out: App._display is where Textual hands each
        # composited update to the driver (private, but the only place that sees it).
        frames: list[tuple[float, object]] = []
        display = app._display

        def timed_display(screen, update) -> None:
            display(screen, update)
            if update is not None:
                frames.append((time.perf_counter(), app.focused))

        app._display = timed_display
        while app.state.status == "starting":
            await asyncio.sleep(0.05)
        start_redraws, start = redraws, time.perf_counter()
        while app.state.status == "running" and time.perf_counter() - start < 5:
            await asyncio.sleep(0.05)
        redraw_hz = (redraws - start_redraws) / (time.perf_counter() - start)
        latencies = []
        for _ in range(presses):
            # tab posted as the driver would, timed until a frame shows the new focus;
            # Pilot.press is not used because it waits for the process to go idle
            before, seen = app.focused, len(frames)
            t0 = time.perf_counter()
            app.post_message(events.Key("tab", None))
            while not any(focus is not before for _, focus in frames[seen:]):
                await asyncio.sleep(0.0005)
            shown = next(t for t, focus in frames[seen:] if focus is not before)
            latencies.append(shown - t0)
            await asyncio.sleep(0.1)
        if app.state.status != "running":
            raise SystemExit("training ended before the measurements did: raise --steps")
        while app.state.status not in ("finished", "error", "stopped"):
            await asyncio.sleep(0.1)
        sps = app.state.stats["sps"]
        await pilot.press("q")
    latencies.sort()
    return {"sps": sps, "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))], "redraw_hz": redraw_hz}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cartpole-reinforce-baseline")
    parser.add_argument("--steps", type=int, default=600_000)  # outlasts the measurements
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
