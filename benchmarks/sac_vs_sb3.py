"""Seconds to solve Pendulum-v1 with SAC: pgtui's `pendulum-sac` against Stable-Baselines3.

    pip install -e '.[bench]'
    python benchmarks/sac_vs_sb3.py --seeds 0 1 2 3 4

SB3 runs rl-zoo's Pendulum-v1 SAC (its hyperparams/sac.yml: 20k steps, learning_rate
1e-3, SB3's defaults otherwise: net [256, 256], batch 256, buffer 1M, learning_starts
100, tau 0.005, gamma 0.99, train_freq 1, gradient_steps 1, ent_coef auto). Both sides
stop at the first greedy evaluation (10 episodes of the mean action every 1,000 env
steps, on an env of their own) whose mean reaches -200, within 20k steps; evaluation
time is not counted on either side. Each run is a fresh process, the two sides
alternating; one torch thread each. ``--preset`` and ``--set`` change pgtui's side (a
preset for another env: ``--env``, ``--solved-at``, ``--steps``, and SB3 keeps its
defaults there with ``--sb3-lr``). The last line gives the median ratios pgtui / SB3.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from sb3_until_solved import until_greedy_eval

EVAL_EVERY, EVAL_EPISODES = 1000, 10


def sb3_model(seed: int, env_id: str = "Pendulum-v1", lr: float = 1e-3, library: str = "stable_baselines3"):
    """rl-zoo's Pendulum-v1 SAC (SB3's defaults but the lr), in SB3 or in a library of
    its API (``sbx``)."""
    import importlib

    import gymnasium as gym

    return importlib.import_module(library).SAC("MlpPolicy", gym.make(env_id), learning_rate=lr, seed=seed,
                                                device="cpu", verbose=0)


def run_sb3(seed: int, env_id: str, solved_at: float, steps: int, lr: float) -> dict:
    import torch

    torch.set_num_threads(1)
    model = sb3_model(seed, env_id, lr)
    callback = until_greedy_eval(env_id, seed, solved_at, EVAL_EVERY, EVAL_EPISODES)
    model.learn(total_timesteps=steps, callback=callback)
    return callback.result


def run_pgtui(seed: int, preset: str, sets: list[str], solved_at: float, steps: int) -> dict:
    cmd = [sys.executable, "-m", "pgtui", "train", "--preset", preset, "--seed", str(seed),
           "--until-solved", "--json", "--set", f"eval_every={EVAL_EVERY}",
           "--set", f"eval_episodes={EVAL_EPISODES}", "--set", f"total_steps={steps}",
           "--set", f"solved_threshold={solved_at}"]
    for s in sets:
        cmd += ["--set", s]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    s = json.loads(out.strip().splitlines()[-1])
    return {"solved": s["solved"], "seconds": s["solved_wall_s"], "steps": s["solved_step"],
            "by": s["solved_by"], "wall_s": s["wall_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--preset", default="pendulum-sac")
    parser.add_argument("--set", action="append", default=[], help="pgtui's side: key=value")
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--solved-at", type=float, default=-200.0)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--sb3-lr", type=float, default=1e-3)
    parser.add_argument("--skip-sb3", action="store_true", help="pgtui's side alone")
    parser.add_argument("--one-sb3", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_sb3 is not None:  # the child process of one SB3 run
        print(json.dumps(run_sb3(args.one_sb3, args.env, args.solved_at, args.steps, args.sb3_lr)))
        return
    seconds, steps, solved = [], [], {"pgtui": 0, "sb3": 0}
    for seed in args.seeds:
        ours = run_pgtui(seed, args.preset, args.set, args.solved_at, args.steps)
        solved["pgtui"] += ours["solved"]
        line = f"seed {seed}: pgtui {_fmt(ours)}"
        if not args.skip_sb3:
            cmd = [sys.executable, __file__, "--one-sb3", str(seed), "--env", args.env,
                   "--solved-at", str(args.solved_at), "--steps", str(args.steps),
                   "--sb3-lr", str(args.sb3_lr)]
            theirs = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True
                                               ).stdout.strip().splitlines()[-1])
            solved["sb3"] += theirs["solved"]
            line += f"   sb3 {_fmt(theirs)}"
            if ours["solved"] and theirs["solved"]:
                seconds.append(ours["seconds"] / theirs["seconds"])
                steps.append(ours["steps"] / theirs["steps"])
                line += f"   ratio {seconds[-1]:.2f} s, {steps[-1]:.2f} steps"
        print(line, flush=True)
    n = len(args.seeds)
    print(f"solved: pgtui {solved['pgtui']}/{n}, sb3 {solved['sb3']}/{n}; median ratio pgtui/sb3: "
          f"seconds {statistics.median(seconds) if seconds else float('nan'):.2f}, steps "
          f"{statistics.median(steps) if steps else float('nan'):.2f}")


def _fmt(r: dict) -> str:
    if not r["solved"]:
        return "not solved"
    return f"{r['seconds']:6.2f} s {r['steps']:>6} steps"


if __name__ == "__main__":
    main()
