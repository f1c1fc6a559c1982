"""A learning-rate sweep of CartPole PPO: pgtui's local engine against Stable-Baselines3
PPO driven by Ray Tune, the same 4 learning rates x 8 seeds for the same step budget,
on this machine. Also each engine's per-trial overhead.

    pip install -e '.[bench,ray]'
    python benchmarks/sweep_vs_sb3_ray.py                  # 4 lr x 8 seeds, 60k steps
    python benchmarks/sweep_vs_sb3_ray.py --seeds 2 --steps 20000   # a quick look

pgtui: `pgtui sweep --preset cartpole-ppo --grid lr=... --seeds 8 --max-steps N`, timed
from the command's start to its exit (process starts and imports included). SB3: one Tune
trial per (lr, seed), rl-zoo's CartPole PPO settings with that learning rate, reporting
to Tune after every rollout as pgtui's Ray trials report after every update, timed from
before ``ray.init`` to the end of ``Tuner.fit``. One torch thread per trial on both sides;
Ray gets every core.

Overhead: the same sweep with one update per trial (--max-steps 1) on each engine, its
wall time per trial; and what one ``tune.report`` costs inside a trial.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

LRS = (3e-4, 1e-3, 3e-3, 1e-2)


def sb3_trial(config: dict) -> None:
    import torch
    from ray import tune
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)

    class Report(BaseCallback):
        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            returns = [e["r"] for e in self.model.ep_info_buffer]
            tune.report({"mean_return": sum(returns) / len(returns) if returns else 0.0,
                         "steps": self.num_timesteps})

    envs = make_vec_env("CartPole-v1", n_envs=8, seed=config["seed"])
    model = PPO("MlpPolicy", envs, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                n_epochs=20, ent_coef=0.0, learning_rate=config["lr"], clip_range=0.2,
                seed=config["seed"], device="cpu", verbose=0)
    model.learn(total_timesteps=config["steps"], callback=Report())


def run_sb3_on_ray(seeds: int, steps: int) -> float:
    import ray
    from ray import tune

    start = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False)
    tuner = tune.Tuner(sb3_trial, param_space={
        "lr": tune.grid_search(list(LRS)), "seed": tune.grid_search(list(range(seeds))),
        "steps": steps}, run_config=tune.RunConfig(verbose=0, storage_path="/tmp/pgtui-bench-ray"))
    results = tuner.fit()
    wall = time.perf_counter() - start
    ray.shutdown()
    assert results.num_errors == 0, "an SB3 trial failed"
    return wall


def run_pgtui(seeds: int, steps: int, engine: str = "local") -> float:
    start = time.perf_counter()
    done = subprocess.run(["pgtui", "sweep", "--preset", "cartpole-ppo", "--grid",
                           "lr=" + ",".join(f"{lr:g}" for lr in LRS), "--seeds", str(seeds),
                           "--max-steps", str(steps), "--engine", engine, "--json"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"pgtui sweep failed: {done.stderr.strip()}")
    points = json.loads(done.stdout.strip().splitlines()[-1])["points"]
    print(f"  pgtui {engine}: " + ", ".join(f"lr {p['lr']:g}: {p['final_mean']:.0f}" for p in points))
    return wall


def report_cost(calls: int = 2000) -> float:
    """Seconds per tune.report inside a trial."""
    import ray
    from ray import tune

    def reporter(config: dict) -> None:
        start = time.perf_counter()
        for i in range(calls):
            tune.report({"i": i, "x": 1.0})
        tune.report({"i": calls, "per_call": (time.perf_counter() - start) / calls})

    ray.init(include_dashboard=False, log_to_driver=False)
    results = tune.Tuner(reporter, run_config=tune.RunConfig(
        verbose=0, storage_path="/tmp/pgtui-bench-ray")).fit()
    ray.shutdown()
    return results[0].metrics["per_call"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    trials = len(LRS) * args.seeds
    print(f"{len(LRS)} lr x {args.seeds} seeds = {trials} trials of {args.steps} steps, "
          f"{os.cpu_count()} cores")
    pgtui = run_pgtui(args.seeds, args.steps)
    print(f"pgtui local engine: {pgtui:.1f} s")
    sb3 = run_sb3_on_ray(args.seeds, args.steps)
    print(f"SB3 PPO on Ray Tune: {sb3:.1f} s")
    print(f"ratio pgtui / (SB3 + Ray Tune): {pgtui / sb3:.3f}")
    if args.skip_overhead:
        return
    print("per-trial overhead (one update per trial, 8 points x 1 seed):")
    for engine in ("local", "ray"):
        start = time.perf_counter()
        done = subprocess.run(["pgtui", "sweep", "--preset", "cartpole-ppo", "--grid",
                               "lr=1e-4,2e-4,3e-4,4e-4,5e-4,6e-4,7e-4,8e-4", "--seeds", "1",
                               "--max-steps", "1", "--engine", engine, "--json"],
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        assert done.returncode == 0, done.stderr
        print(f"  {engine}: {wall:.1f} s for 8 trials ({wall / 8:.2f} s a trial, "
              f"{os.cpu_count()} at once)")
    print(f"  tune.report: {report_cost() * 1e3:.2f} ms a call")


if __name__ == "__main__":
    main()
