"""Seconds and steps for a preset to solve CartPole-v1, over several seeds; optionally
side by side against another checkout of pgtui.

    python benchmarks/solve_cartpole.py --preset cartpole-ppo --seeds 0 1 2
    python benchmarks/solve_cartpole.py --preset cartpole-ppo --against ../pgtui-before --repeats 3

Each run is a fresh `pgtui train --until-solved --json` process, so the figures include
nothing but training (the summary's wall_s excludes start-up). With ``--against DIR``
(the root of another checkout, e.g. a ``git worktree`` of the commit before a change)
every seed runs there and here in turn, ``--repeats`` times, and the median ratios
(here / there) of seconds to solve and of steps/s are printed: this machine's speed
drifts, so the two sides alternate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def solve(preset: str, seed: int, device: str, root: Path = HERE) -> dict:
    cmd = [sys.executable, "-m", "pgtui", "train", "--preset", preset, "--seed", str(seed),
           "--device", device, "--until-solved", "--json"]
    # that checkout's pgtui, not the installed one: -m puts the working directory first
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env,
                         cwd=root).stdout
    return json.loads(out.strip().splitlines()[-1])


def _line(r: dict) -> str:
    learned = r.get("solved_learned_step")  # older checkouts do not report it
    return (f"seed {r['seed']}: solved={r['solved']} step={r['solved_step']} "
            f"learned={learned if learned is not None else '-'} "
            f"episode={r['solved_episode']} wall_s={r['solved_wall_s']} sps={r['sps']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cartpole-ppo")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--against", type=lambda p: Path(p).resolve(), default=None,
                        help="root of another checkout to run side by side")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    if args.against is None:
        rows = [solve(args.preset, seed, args.device) for seed in args.seeds]
        for r in rows:
            print(_line(r))
        solved = [r for r in rows if r["solved"]]
        if solved:
            print(f"{args.preset}: solved {len(solved)}/{len(rows)}, median "
                  f"{statistics.median(r['solved_wall_s'] for r in solved):.1f} s, "
                  f"{statistics.median(r['solved_step'] for r in solved):.0f} steps")
        return
    seconds, speeds = [], []
    for _ in range(args.repeats):
        for seed in args.seeds:
            there = solve(args.preset, seed, args.device, args.against)
            here = solve(args.preset, seed, args.device)
            print(f"there {_line(there)}\nhere  {_line(here)}", flush=True)
            speeds.append(here["sps"] / there["sps"])
            if here["solved"] and there["solved"]:
                seconds.append(here["solved_wall_s"] / there["solved_wall_s"])
    print(f"{args.preset}, {len(speeds)} pairs: here / there, median seconds to solve "
          f"{statistics.median(seconds) if seconds else float('nan'):.3f}, "
          f"median steps/s {statistics.median(speeds):.3f}")


if __name__ == "__main__":
    main()
