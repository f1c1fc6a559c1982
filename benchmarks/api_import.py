"""`import pgtui` stays quick: the API loads on first use (torch with it).

    python benchmarks/api_import.py [--repeats 7]

Each import runs in a fresh process; the figure is the import's own time, measured
inside it (the interpreter's start aside), median over the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

TIMED = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def seconds(module: str, repeats: int) -> float:
    runs = [float(subprocess.run([sys.executable, "-c", TIMED.format(module=module)], capture_output=True,
                                 text=True, check=True).stdout) for _ in range(repeats)]
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    for module in ("pgtui", "pgtui.cli", "pgtui.api", "torch"):
        print(f"import {module}: median {seconds(module, args.repeats):.3f} s")


if __name__ == "__main__":
    main()
