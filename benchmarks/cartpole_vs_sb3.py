"""Seconds to solve CartPole-v1: pgtui's presets against Stable-Baselines3, side by side.

    pip install -e '.[bench]'
    python benchmarks/cartpole_vs_sb3.py                 # PPO and A2C, seeds 0 1 2
    python benchmarks/cartpole_vs_sb3.py --algos ppo --seeds 0 1 2 3 4

For each seed the two sides run alternately, each in a fresh process, until the mean of
the last 100 episode returns reaches 475 (or the step cap). SB3 uses the rl-zoo
hyperparameters for CartPole-v1. Both sides time training only: SB3 from the start of
``learn`` (model built), pgtui the summary's ``solved_wall_s``. Both run one torch thread
(the default for pgtui; SB3 is set to it, which is also its faster setting here).
The last lines give, per algorithm, the median ratio pgtui / SB3 of seconds to solve.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from sb3_until_solved import until_solved

SOLVED_AT = 475.0
STEP_CAP = 1_000_000
PRESETS = {"ppo": "cartpole-ppo", "a2c": "cartpole-a2c"}
ZOO_BUDGETS = {"ppo": 100_000, "a2c": 500_000}  # rl-zoo's (its lr schedules anneal over them)


def sb3_model(algo: str, seed: int, library: str = "stable_baselines3"):
    """rl-zoo's CartPole-v1 settings (hyperparams/ppo.yml, a2c.yml), in SB3 or in a
    library of its API (``sbx``: SB3's algorithms in JAX; PPO only)."""
    import importlib

    from stable_baselines3.common.env_util import make_vec_env

    algos = importlib.import_module(library)
    envs = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    if algo == "ppo":
        def linear(start: float):
            return lambda progress_remaining: progress_remaining * start

        return algos.PPO("MlpPolicy", envs, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                         n_epochs=20, ent_coef=0.0, learning_rate=linear(1e-3), clip_range=linear(0.2),
                         seed=seed, device="cpu", verbose=0)
    return algos.A2C("MlpPolicy", envs, ent_coef=0.0, seed=seed, device="cpu", verbose=0)


def run_sb3(algo: str, seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    model = sb3_model(algo, seed)

    callback = until_solved(SOLVED_AT)
    model.learn(total_timesteps=min(ZOO_BUDGETS[algo], STEP_CAP), callback=callback)
    return {"solved": callback.solved_s is not None, "seconds": callback.solved_s,
            "steps": callback.solved_step}


def run_pgtui(algo: str, seed: int) -> dict:
    cmd = [sys.executable, "-m", "pgtui", "train", "--preset", PRESETS[algo], "--seed", str(seed),
           "--until-solved", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    s = json.loads(out.strip().splitlines()[-1])
    return {"solved": s["solved"], "seconds": s["solved_wall_s"], "steps": s["solved_step"]}


def in_subprocess(side: str, algo: str, seed: int) -> dict:
    if side == "pgtui":
        return run_pgtui(algo, seed)
    cmd = [sys.executable, __file__, "--one-sb3", algo, "--seeds", str(seed)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", nargs="+", choices=sorted(PRESETS), default=["ppo", "a2c"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--one-sb3", choices=sorted(PRESETS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_sb3:  # the child process of one SB3 run
        print(json.dumps(run_sb3(args.one_sb3, args.seeds[0])))
        return
    summary = []
    for algo in args.algos:
        ratios, solved = [], 0
        for seed in args.seeds:
            ours = in_subprocess("pgtui", algo, seed)
            theirs = in_subprocess("sb3", algo, seed)
            solved += ours["solved"]
            line = (f"{algo} seed {seed}: pgtui {_fmt(ours)}   sb3 {_fmt(theirs)}")
            if ours["solved"] and theirs["solved"]:
                ratios.append(ours["seconds"] / theirs["seconds"])
                line += f"   ratio {ratios[-1]:.2f}"
            print(line, flush=True)
        median = f"{statistics.median(ratios):.2f}" if ratios else "n/a"
        summary.append(f"{algo}: pgtui solved {solved}/{len(args.seeds)}; "
                       f"median ratio pgtui/sb3 {median}")
    print("\n".join(summary))


def _fmt(r: dict) -> str:
    if not r["solved"]:
        return "not solved"
    return f"{r['seconds']:5.2f} s {r['steps']:>7} steps"


if __name__ == "__main__":
    main()
