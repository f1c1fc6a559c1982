"""Seconds to solve CartPole-v1 with DQN: pgtui's `cartpole-dqn` against Stable-Baselines3.

    pip install -e '.[bench]'
    python benchmarks/dqn_vs_sb3.py --seeds 0 1 2 3 4

SB3 runs rl-zoo's CartPole-v1 DQN (lr 2.3e-3, batch 64, buffer 100k, learning_starts
1000, gamma 0.99, target_update_interval 10, train_freq 256, gradient_steps 128,
exploration_fraction 0.16, final eps 0.04, net [256, 256], one env). Both sides stop at
the first greedy evaluation (10 episodes every 2048 env steps, on an env of their own)
whose mean reaches 475, within 100k steps; evaluation time is not counted on either
side. Each run is a fresh process, the two sides alternating; one torch thread each.
The last line gives the median ratios pgtui / SB3 of seconds and of steps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from sb3_until_solved import until_greedy_eval

SOLVED_AT = 475.0
STEP_CAP = 100_000
EVAL_EVERY, EVAL_EPISODES = 2048, 10


def sb3_model(seed: int, library: str = "stable_baselines3"):
    """rl-zoo's CartPole-v1 DQN, in SB3 or in a library of its API (``sbx``)."""
    import importlib

    import gymnasium as gym

    return importlib.import_module(library).DQN(
        "MlpPolicy", gym.make("CartPole-v1"), learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
        learning_starts=1000, gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
        exploration_fraction=0.16, exploration_final_eps=0.04, policy_kwargs={"net_arch": [256, 256]},
        seed=seed, device="cpu", verbose=0)


def run_sb3(seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    model = sb3_model(seed)
    callback = until_greedy_eval("CartPole-v1", seed, SOLVED_AT, EVAL_EVERY, EVAL_EPISODES)
    model.learn(total_timesteps=STEP_CAP, callback=callback)
    return callback.result


def run_pgtui(seed: int) -> dict:
    cmd = [sys.executable, "-m", "pgtui", "train", "--preset", "cartpole-dqn", "--seed", str(seed),
           "--until-solved", "--json", "--set", f"eval_every={EVAL_EVERY}",
           "--set", f"eval_episodes={EVAL_EPISODES}", "--set", f"total_steps={STEP_CAP}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    s = json.loads(out.strip().splitlines()[-1])
    return {"solved": s["solved"], "seconds": s["solved_wall_s"], "steps": s["solved_step"],
            "by": s["solved_by"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--one-sb3", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_sb3 is not None:  # the child process of one SB3 run
        print(json.dumps(run_sb3(args.one_sb3)))
        return
    seconds, steps, solved = [], [], {"pgtui": 0, "sb3": 0}
    for seed in args.seeds:
        ours = run_pgtui(seed)
        cmd = [sys.executable, __file__, "--one-sb3", str(seed)]
        theirs = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True
                                           ).stdout.strip().splitlines()[-1])
        solved["pgtui"] += ours["solved"]
        solved["sb3"] += theirs["solved"]
        line = f"seed {seed}: pgtui {_fmt(ours)}   sb3 {_fmt(theirs)}"
        if ours["solved"] and theirs["solved"]:
            seconds.append(ours["seconds"] / theirs["seconds"])
            steps.append(ours["steps"] / theirs["steps"])
            line += f"   ratio {seconds[-1]:.2f} s, {steps[-1]:.2f} steps"
        print(line, flush=True)
    print(f"solved: pgtui {solved['pgtui']}/{len(args.seeds)}, sb3 {solved['sb3']}/{len(args.seeds)}; "
          f"median ratio pgtui/sb3: seconds "
          f"{statistics.median(seconds) if seconds else float('nan'):.2f}, steps "
          f"{statistics.median(steps) if steps else float('nan'):.2f}")


def _fmt(r: dict) -> str:
    if not r["solved"]:
        return "not solved"
    return f"{r['seconds']:6.2f} s {r['steps']:>6} steps" + (f" ({r['by']})" if r.get("by") else "")


if __name__ == "__main__":
    main()
