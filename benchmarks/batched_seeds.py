"""Several seeds of one preset in one process, against one seed alone.

    python benchmarks/batched_seeds.py --preset cartpole-ppo --seeds 8 --updates 60

Both sides train the same number of updates per seed in this process: one ``Trainer``
alone, then a ``SeedGroup`` of N seeds, first one seed after another, then as a race
runs them: rollouts in lockstep with one stacked forward pass, and (PPO) one stacked
update for all seeds. Prints the wall times and their ratio (the speed issue's goal:
8 seeds within 2x one seed). ``--threads`` sets torch's threads for both sides,
``--device`` their torch device.
"""

from __future__ import annotations

import argparse
import time

import torch

from pgtui.config import load_preset
from pgtui.rl.group import SeedGroup
from pgtui.rl.race import variant_configs
from pgtui.rl.trainer import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cartpole-ppo")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--updates", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_preset(args.preset).replace(total_steps=10**9, device=args.device)
    Trainer(config.replace(seed=99)).run(max_updates=3)  # warm up torch's first calls
    start = time.perf_counter()
    Trainer(config).run(max_updates=args.updates)
    one = time.perf_counter() - start
    timings = {}
    for lockstep in (False, True):
        _, configs = variant_configs(config, args.seeds)[0]
        group = SeedGroup("seeds", configs, lambda report: None, lockstep=lockstep)
        start = time.perf_counter()
        group.run(max_updates=args.updates)
        timings[lockstep] = time.perf_counter() - start
    print(f"{args.preset} on {args.device}, {args.updates} updates a seed, {args.threads} thread(s): "
          f"one seed {one:.2f} s; "
          f"{args.seeds} seeds one after another {timings[False]:.2f} s "
          f"({timings[False] / one:.2f}x), in lockstep {timings[True]:.2f} s "
          f"({timings[True] / one:.2f}x; goal <= 2x)")


if __name__ == "__main__":
    main()
