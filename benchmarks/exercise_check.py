"""The REINFORCE exercise's two targets: `pgtui exercise check` on a correct answer in
under 10 s, and a saved answer training from the next update.

    python benchmarks/exercise_check.py [--repeats 5] [--saves 5]

The check runs as a user runs it (`pgtui exercise check FILE`, a fresh process each
time, wall clock, import included). The reload: a trainer on the exercise preset trains
the answer in a thread; the file is saved while an update is in flight, and the update
whose figures come from the new version is counted from the one in flight at the save.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pgtui.exercises.reinforce import answer
from pgtui.preset_files import load_preset
from pgtui.rl.events import CodeReloaded, UpdateFinished
from pgtui.rl.trainer import Trainer

PGTUI = [sys.executable, "-m", "pgtui"]


def check_seconds(path: Path, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run([*PGTUI, "exercise", "check", str(path)], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"check failed on pgtui's answer:\n{done.stdout}{done.stderr}")
    return times


def reload_lags(path: Path, saves: int) -> list[tuple[int, float]]:
    """(updates from the one in flight at the save to the first of the new version,
    seconds from the save to that update's end), per save."""
    events: list = []
    config = load_preset("exercise-reinforce").replace(algo=str(path))
    trainer = Trainer(config, events.append)
    stop = threading.Event()
    thread = threading.Thread(target=trainer.run, args=(stop,), daemon=True)
    thread.start()
    lags = []
    text = path.read_text()
    for version in range(2, saves + 2):
        time.sleep(0.7)  # mid-update, somewhere
        in_flight = trainer.update + 1
        path.write_text(text + f"\n# save {version}\n")
        saved = time.perf_counter()
        while not any(isinstance(e, CodeReloaded) and e.version == version for e in events):
            time.sleep(0.005)
        reloaded = next(e for e in events if isinstance(e, CodeReloaded) and e.version == version)
        while not any(isinstance(e, UpdateFinished) and e.update == reloaded.update for e in events):
            time.sleep(0.005)
        lags.append((reloaded.update - in_flight, time.perf_counter() - saved))
    stop.set()
    thread.join()
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--saves", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reinforce.py"
        shutil.copyfile(answer.__file__, path)
        times = check_seconds(path, args.repeats)
        print(f"check on a correct answer: median {statistics.median(times):.2f} s, max {max(times):.2f} s "
              f"over {len(times)} runs (target < 10 s)")
        lags = reload_lags(path, args.saves)
        print("reload: updates after the one in flight at the save: "
              f"{[u for u, _ in lags]} (target: 0 or 1, within one update); "
              "seconds to the end of the new version's first update: median "
              f"{statistics.median(s for _, s in lags):.2f}")


if __name__ == "__main__":
    main()
