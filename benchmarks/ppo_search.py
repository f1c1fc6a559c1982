"""The search behind cartpole-ppo's settings: `pgtui sweep` over PPO's knobs.

    python benchmarks/ppo_search.py --stage 1       # envs, epochs, minibatches (lr 3e-3)
    python benchmarks/ppo_search.py --stage 2       # rollout length, epochs, lr
    python benchmarks/ppo_search.py --stage 3       # lr, epochs, minibatches at high lr
    python benchmarks/ppo_search.py --stage confirm # the choice and its neighbours, 16 seeds

Each point trains seeds 0..n-1 of `cartpole-ppo` with the point's settings for 100k
steps (the lr annealed over them, as the preset and rl-zoo do). The table is sorted by
median steps to solve (steps learned from); a point counts only if every seed solves.
`grad steps` is the minibatch steps a median run takes to solve, the cost that steps
alone hide: a point that saves env steps with many more gradient steps is slower.
`batched s` is the median training seconds of the point's seeds trained together, so it
compares points with one another, not with a single run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

from pgtui.assignments import apply_assignments
from pgtui.config import Config
from pgtui.preset_files import load_preset

# stage: (seeds, fixed settings, grid); each stage pins the previous stage's choice
STAGES = {
    "1": (5, ["lr=3e-3", "num_steps=16"],
          ["num_envs=8,16,32", "update_epochs=4,10", "num_minibatches=1,2,4"]),
    "2": (5, ["num_envs=32", "num_minibatches=2"],
          ["num_steps=8,16", "update_epochs=4,8", "lr=3e-3,5e-3,8e-3"]),
    "3": (8, ["num_envs=32", "num_steps=16"],
          ["update_epochs=4,6", "num_minibatches=2,3", "lr=1e-2,1.5e-2,2.5e-2"]),
    "confirm": (16, ["num_envs=32", "num_steps=16", "update_epochs=4", "num_minibatches=3"],
                ["lr=2e-2,2.5e-2,3e-2"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", choices=sorted(STAGES), default="1")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="fix another key for every point")
    args = parser.parse_args()
    seeds, fixed, grids = STAGES[args.stage]
    with tempfile.TemporaryDirectory() as out:
        cmd = ["pgtui", "sweep", "--preset", "cartpole-ppo", "--seeds", str(seeds),
               "--max-steps", str(args.steps), "--out", out, "--json"]
        for grid in grids:
            cmd += ["--grid", grid]
        for assignment in [*fixed, *args.set]:
            cmd += ["--set", assignment]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(done.stderr.strip())
    points = json.loads(done.stdout.strip().splitlines()[-1])["points"]
    config = apply_assignments(load_preset("cartpole-ppo"), [*fixed, *args.set])  # unswept keys
    keys = [g.partition("=")[0] for g in grids]
    inf = float("inf")
    points.sort(key=lambda p: (p["solved"] < p["seeds"], p["median_solve_step"] or inf))
    print(" ".join(f"{k:>15}" for k in keys) + "  solved  median steps  grad steps  batched s  final")
    for p in points:
        steps = p["median_solve_step"]
        grad = "—" if steps is None else f"{steps * _grad_steps_per_env_step(p, config):.0f}"
        secs = "—" if p["median_solve_seconds"] is None else f"{p['median_solve_seconds']:.2f}"
        print(" ".join(f"{p[k]!s:>15}" for k in keys)
              + f"  {p['solved']:>2}/{p['seeds']:<2}  {'—' if steps is None else f'{steps:.0f}':>12}"
              + f"  {grad:>10}  {secs:>9}  {p['final_mean']:.0f}")


def _grad_steps_per_env_step(point: dict, config: Config) -> float:
    """Minibatch steps per env step at a grid point (its swept keys, else ``config``'s)."""
    def knob(key: str) -> float:
        return float(point.get(key, getattr(config, key)))
    return (knob("update_epochs") * knob("num_minibatches")
            / (knob("num_envs") * knob("num_steps")))


if __name__ == "__main__":
    main()
