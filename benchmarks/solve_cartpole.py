"""Seconds and steps for a preset to solve CartPole-v1, over several seeds.

    python benchmarks/solve_cartpole.py --preset cartpole-ppo --seeds 0 1 2

Each seed runs in a fresh `pgtui train --until-solved --json` process, so the figures
include nothing but training (the summary's wall_s excludes start-up).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys


def solve(preset: str, seed: int, device: str) -> dict:
    cmd = [sys.executable, "-m", "pgtui", "train", "--preset", preset, "--seed", str(seed),
           "--device", device, "--until-solved", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cartpole-ppo")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    rows = [solve(args.preset, seed, args.device) for seed in args.seeds]
    for r in rows:
        print(f"seed {r['seed']}: solved={r['solved']} step={r['solved_step']} "
              f"episode={r['solved_episode']} wall_s={r['solved_wall_s']} sps={r['sps']}")
    solved = [r for r in rows if r["solved"]]
    if solved:
        print(f"{args.preset}: solved {len(solved)}/{len(rows)}, median "
              f"{statistics.median(r['solved_wall_s'] for r in solved):.1f} s, "
              f"{statistics.median(r['solved_step'] for r in solved):.0f} steps")


if __name__ == "__main__":
    main()
