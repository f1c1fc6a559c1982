"""The search behind cartpole-ppo's settings: `pgtui sweep` over PPO's knobs, 5 seeds a point.

    python benchmarks/ppo_search.py                 # stage 1: envs, epochs, minibatches
    python benchmarks/ppo_search.py --stage 2       # stage 2: lr, gamma, lambda around the best

Each point trains seeds 0-4 of `cartpole-ppo` with the point's settings for a fixed
budget; the table is sorted by median steps to solve (steps learned from), then by the
median training seconds (a point's seeds train together, so seconds compare points with
one another, not with a single run). A point counts only if all 5 seeds solve.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

STAGES = {
    1: ["num_envs=8,16,32", "update_epochs=4,10", "num_minibatches=1,2,4"],
    2: ["lr=1e-3,2e-3,3e-3", "gamma=0.98,0.99", "gae_lambda=0.8,0.95"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", type=int, choices=sorted(STAGES), default=1)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="fix a key for every point (e.g. the stage-1 winner)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        cmd = ["pgtui", "sweep", "--preset", "cartpole-ppo", "--seeds", "5", "--max-steps",
               str(args.steps), "--out", out, "--json"]
        for grid in STAGES[args.stage]:
            cmd += ["--grid", grid]
        for assignment in args.set:
            cmd += ["--set", assignment]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(done.stderr.strip())
    points = json.loads(done.stdout.strip().splitlines()[-1])["points"]
    keys = [g.partition("=")[0] for g in STAGES[args.stage]]
    inf = float("inf")
    points.sort(key=lambda p: (p["solved"] < p["seeds"], p["median_solve_step"] or inf,
                               p["median_solve_seconds"] or inf))
    print(" ".join(f"{k:>15}" for k in keys) + "  solved  median steps  median s  final")
    for p in points:
        steps = "—" if p["median_solve_step"] is None else f"{p['median_solve_step']:.0f}"
        secs = "—" if p["median_solve_seconds"] is None else f"{p['median_solve_seconds']:.2f}"
        print(" ".join(f"{p[k]!s:>15}" for k in keys)
              + f"  {p['solved']}/{p['seeds']}  {steps:>12}  {secs:>8}  {p['final_mean']:.0f}")


if __name__ == "__main__":
    main()
