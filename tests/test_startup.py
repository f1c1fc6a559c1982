"""The processes that do not train never import torch: its import takes seconds, and
the screen and ``pgtui compare`` start their training processes before paying it."""

import subprocess
import sys
import textwrap

import pytest


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("module", ["pgtui.cli", "pgtui.commands.compare", "pgtui.ui.app"])
def test_the_front_ends_import_without_torch(module):
    assert _run(f"import sys, {module}; print('torch' in sys.modules)") == "False"


def test_the_screen_process_stays_without_torch_while_a_run_trains_plays_and_races():
    out = _run("""
        import asyncio, sys
        from pgtui.preset_files import load_preset
        from pgtui.ui.app import PlaygroundApp
        from pgtui.ui.messages import WatchFrame

        async def until(predicate):
            for _ in range(1200):
                if predicate():
                    return True
                await asyncio.sleep(0.05)
            return False

        async def main():
            app = PlaygroundApp(load_preset("cartpole-ppo"), "cartpole-ppo")
            frames = []
            hook = lambda message: isinstance(message, WatchFrame) and frames.append(message)
            async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
                trained = await until(lambda: app.state.episodes > 0)
                await pilot.press("w")  # watch mode plays the policy: in a process of its own
                played = await until(lambda: len(frames) > 0)
                await pilot.press("w")
                app.open_race(load_preset("variance-baseline"), "variance-baseline")
                raced = await until(lambda: any(v.seeds for v in app.screen.variants.values()))
                await pilot.press("q")
            print(trained and played and raced, "torch" in sys.modules)

        asyncio.run(main())
    """)
    assert out.splitlines()[-1] == "True False"
