"""Wall time of a whole race against one run of the same budget.

    python benchmarks/compare_speed.py                       # variance-baseline, 2 x 5 seeds

Times, as a user meets them (process start to exit, start-up included): one
`pgtui train` of the preset's first variant, seed 0, and `pgtui compare` of every
variant x seed, alternating, ``--repeats`` times. Prints each pair and the ratio of the
medians (goal: the race within 3x one run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def timed(args: list[str]) -> tuple[float, dict]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pgtui", *args], capture_output=True, text=True,
                         check=True).stdout
    return time.perf_counter() - start, json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="variance-baseline")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-steps", type=int, help="override every run's total_steps")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    budget = ["--max-steps", str(args.max_steps)] if args.max_steps else []

    from pgtui.preset_files import load_preset

    first = load_preset(args.preset).variants[0]
    overrides = [f"--set={k}={json.dumps(v)}" for k, v in first.items() if k != "name"]
    ones, races = [], []
    for _ in range(args.repeats):
        one_s, one = timed(["train", "--preset", args.preset, *overrides, "--seed", "0", "--json",
                            *budget])
        race_s, race = timed(["compare", "--preset", args.preset, "--seeds", str(args.seeds),
                              "--json", *budget])
        ones.append(one_s)
        races.append(race_s)
        print(f"one run ({first['name']}, seed 0, {one['global_step']} steps, {one['wall_s']:.1f} s "
              f"training): {one_s:.1f} s   race ({len(race['variants'])} variants x {args.seeds} "
              f"seeds): {race_s:.1f} s   ratio {race_s / one_s:.2f}", flush=True)
    ratio = statistics.median(races) / statistics.median(ones)
    print(f"median race / median one run: {ratio:.2f}x (goal <= 3x)")


if __name__ == "__main__":
    main()
