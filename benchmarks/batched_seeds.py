"""Several seeds of one preset in one process, against one seed alone.

    python benchmarks/batched_seeds.py --preset cartpole-ppo --seeds 8 --updates 60

Both sides train the same number of updates per seed in this process: one ``Trainer``
alone, and a ``SeedGroup`` of N seeds as a race runs them (rollouts in lockstep with
one stacked forward pass, CartPole's envs stepped as one, one stacked update for all
seeds), alternating ``--repeats`` times. Prints each pair and the median ratio (the
speed issue's goal: 8 seeds within 2x one seed), and once the group run one seed after
another. Each side runs on the torch threads pgtui gives it (one seed 1, a one-variant
race ``race_threads(1)``); ``--threads`` sets both; ``--device`` their device.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from pgtui.config import load_preset
from pgtui.rl.group import SeedGroup
from pgtui.rl.race import variant_configs
from pgtui.rl.remote import race_threads
from pgtui.rl.trainer import Trainer


def _one_seed(config, updates: int) -> float:
    start = time.perf_counter()
    Trainer(config).run(max_updates=updates)
    return time.perf_counter() - start


def _group(config, seeds: int, updates: int, lockstep: bool) -> float:
    _, configs = variant_configs(config, seeds)[0]
    group = SeedGroup("seeds", configs, lambda report: None, lockstep=lockstep)
    start = time.perf_counter()
    group.run(max_updates=updates)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cartpole-ppo")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--updates", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for both sides (default: as pgtui runs each)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    # as pgtui runs them: a single run on one thread, a one-variant race on race_threads(1)
    one_threads = args.threads or 1
    race = args.threads or race_threads(1)
    config = load_preset(args.preset).replace(total_steps=10**9, device=args.device)
    torch.set_num_threads(one_threads)
    Trainer(config.replace(seed=99)).run(max_updates=3)  # warm up torch's first calls
    sequential = _group(config, args.seeds, args.updates, lockstep=False)
    ratios = []
    for _ in range(args.repeats):  # alternating: this machine's speed drifts
        torch.set_num_threads(one_threads)
        one = _one_seed(config, args.updates)
        torch.set_num_threads(race)
        together = _group(config, args.seeds, args.updates, lockstep=True)
        ratios.append(together / one)
        print(f"one seed {one:.2f} s, {args.seeds} seeds in lockstep {together:.2f} s: "
              f"{together / one:.2f}x", flush=True)
    print(f"{args.preset} on {args.device}, {args.updates} updates a seed, "
          f"threads {one_threads} (one seed) and {race} (race): {args.seeds} seeds in lockstep take a median "
          f"{statistics.median(ratios):.2f}x one seed's time (goal <= 2x); one after "
          f"another {sequential:.2f} s ({sequential / one:.2f}x the last one seed)")
if __name__ == "__main__":
    main()
