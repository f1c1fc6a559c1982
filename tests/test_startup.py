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


@pytest.mark.parametrize("module", ["pgtui.cli", "pgtui.compare", "pgtui.ui.app"])
def test_the_front_ends_import_without_torch(module):
    assert _run(f"import sys, {module}; print('torch' in sys.modules)") == "False"


def test_the_screen_process_stays_without_torch_while_a_run_trains_plays_and_races():
    out = _run("""
        import asyncio, sys
        from pgtui.config import load_preset
        from pgtui.ui.app import PlaygroundApp

        async def main():
            app = PlaygroundApp(load_preset("cartpole-ppo"), "cartpole-ppo")
            async with app.run_test(size=(100, 30)) as pilot:
                for _ in range(300):
                    await asyncio.sleep(0.1)
                    if app.state.episodes > 0:
                        break
                await pilot.press("w")  # watch mode plays the policy: in a process of its own
                await asyncio.sleep(4)
                await pilot.press("w")
                app.open_compare(load_preset("entropy-exploration"), "entropy-exploration")
                await asyncio.sleep(3)
                trained = app.state.episodes > 0
                await pilot.press("q")
            print(trained, "torch" in sys.modules)

        asyncio.run(main())
    """)
    assert out.splitlines()[-1] == "True False"
