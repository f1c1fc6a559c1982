"""Several seeds of one preset in one process, against one seed alone.

    python benchmarks/batched_seeds.py --preset cartpole-ppo --seeds 8 --updates 60

Both sides train the same number of updates per seed in this process: one ``Trainer``
of one seed, and one ``Trainer`` of N seeds as a race's variant runs them (the seed
axis: one forward pass acts for every seed, CartPole's envs step as one, one backward
pass and one optimizer step update every seed), alternating ``--repeats`` times.
Prints each pair and the median ratio (the goal: 8 seeds within 2x one seed). Each
side runs on the torch threads pgtui gives it (one seed 1, a one-variant race
``race_threads(1)``); ``--threads`` sets both; ``--device`` their device.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from pgtui.preset_files import load_preset
from pgtui.processes import race_threads
from pgtui.rl.trainer import Trainer


def _timed(config, seeds: int, updates: int) -> float:
    trainer = Trainer(config, seeds=range(config.seed, config.seed + seeds))
    start = time.perf_counter()
    trainer.run(max_updates=updates)
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
    _timed(config.replace(seed=99), 1, 3)  # warm up torch's first calls
    ratios = []
    for _ in range(args.repeats):  # alternating: this machine's speed drifts
        torch.set_num_threads(one_threads)
        one = _timed(config, 1, args.updates)
        torch.set_num_threads(race)
        together = _timed(config, args.seeds, args.updates)
        ratios.append(together / one)
        print(f"one seed {one:.2f} s, {args.seeds} seeds {together:.2f} s: {together / one:.2f}x",
              flush=True)
    print(f"{args.preset} on {args.device}, {args.updates} updates a seed, threads {one_threads} "
          f"(one seed) and {race} (race): {args.seeds} seeds take a median "
          f"{statistics.median(ratios):.2f}x one seed's time (goal <= 2x)")


if __name__ == "__main__":
    main()
