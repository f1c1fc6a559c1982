"""Where a cartpole-ppo update's time goes: cProfile over updates of one seed.

    python benchmarks/ppo_profile.py                 # 100 updates of cartpole-ppo, seed 0
    python benchmarks/ppo_profile.py --updates 200 --preset cartpole-ppo
    python benchmarks/ppo_profile.py --set lr=3e-3 --set num_minibatches=2   # other settings

Trains `--updates` updates (after 5 untimed ones) in one process, one torch thread,
under cProfile, and prints the cumulative seconds of each part of an update: the rollout
(acting, the env, the bookkeeping), the PPO update (the minibatch steps: forward, loss,
backward, clip and Adam), and the rest. cProfile adds its own cost to every Python
call, so the parts' shares matter more than their seconds.

Then, without the profiler, on the last rollout: the aten ops one `ppo_update` runs
(`torch.profiler`, top-level ops) and its time, the best of 15 blocks of 10. To compare
two checkouts, run the script from each in turn (`PYTHONPATH=<checkout>`), alternating.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import torch

from pgtui.assignments import apply_assignments
from pgtui.preset_files import load_preset
from pgtui.rl.algos import actor_critic
from pgtui.rl.trainer import Trainer

# (label, file suffix, function name): cumulative time of each; parts nest as indented
PARTS = [
    ("update, all in", "trainer.py", "step"),
    ("  rollout", "rollout.py", "steps"),
    ("    acting (actor forward and sample)", "rollout.py", "_act"),
    ("    env step and bookkeeping", "rollout.py", "_step"),
    ("  PPO update", "actor_critic.py", "ppo_update"),
    ("    forward passes", "networks.py", "evaluate"),
    ("    loss", "actor_critic.py", "actor_critic_loss"),
    ("    backward, clip and Adam", "optim.py", "descend"),
    ("      backward", "_tensor.py", "backward"),
    ("      clip", "optim.py", "clip"),
    ("      Adam", "optim.py", "step"),
    ("    GAE and packing", "actor_critic.py", "rollout_samples"),
    ("    gradient diagnostics", "actor_critic.py", "rollout_noise"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="cartpole-ppo")
    parser.add_argument("--updates", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting (a TOML value)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = apply_assignments(load_preset(args.preset), args.set).replace(
        seed=args.seed, total_steps=10**9)
    trainer = Trainer(config)
    trainer.run(max_updates=5)
    profiler = cProfile.Profile()
    profiler.enable()
    trainer.run(max_updates=5 + args.updates)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    minibatch_steps = args.updates * config.update_epochs * config.num_minibatches
    print(f"{args.preset}, {args.updates} updates ({minibatch_steps} minibatch steps), cProfile:")
    print(f"{'part':<42} {'seconds':>8} {'calls':>7} {'ms a call':>10}")
    for label, suffix, name in PARTS:
        hits = [(v[1], v[3]) for (path, _, fn), v in stats.items()
                if fn == name and path.endswith(suffix)]
        calls, seconds = sum(c for c, _ in hits), sum(s for _, s in hits)
        print(f"{label:<42} {seconds:8.2f} {calls:7d} {1e3 * seconds / max(calls, 1):10.2f}")
    ops, ms = update_cost(trainer)
    print(f"one ppo_update on the last rollout: {ops} aten ops, {ms:.2f} ms (best of 15 x 10)")


def update_cost(trainer: Trainer) -> tuple[int, float]:
    """(top-level aten ops, milliseconds) of one ``ppo_update`` on the trainer's last
    rollout; the updates move the weights, which does not change their cost."""
    from torch.profiler import ProfilerActivity, profile

    batch, generators = trainer.last_batch, [torch.Generator().manual_seed(0)]

    def update() -> None:
        actor_critic.ppo_update(trainer.nets, trainer.optimizer, batch, trainer.config, [None],
                              generators)

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        update()
    ops = sum(1 for event in prof.events() if event.cpu_parent is None)
    best = float("inf")
    for _ in range(15):
        start = time.perf_counter()
        for _ in range(10):
            update()
        best = min(best, (time.perf_counter() - start) / 10)
    return ops, 1e3 * best


if __name__ == "__main__":
    main()
