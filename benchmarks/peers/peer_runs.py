"""One run of a peer until solved, printed as JSON: Stable-Baselines3, SBX (SB3 in JAX) or
the PureJaxRL-style PPO (``jax_ppo.py``). Runs in the peers' environment, one process a
run (``peers.py`` starts it):

    .venv-peers/bin/python benchmarks/peers/peer_runs.py --task cartpole-ppo --side sbx --seed 0

Every side runs one thread: torch's and XLA's (set before jax is imported). SB3 and SBX
take rl-zoo's settings, built by the SB3 benchmarks' own ``sb3_model`` (the same
numbers on both); the JAX loop takes PureJaxRL's. Models are built off the clock, the
JIT compile of SBX and of the JAX loop is on it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the SB3 scripts

import cartpole_vs_sb3
import dqn_vs_sb3
import sac_vs_sb3
from sb3_until_solved import until_greedy_eval, until_solved

# each task as pgtui's preset solves it: its threshold, the greedy evaluation's period
# (None: the last 100 training episodes instead) and the peers' step budget
TASKS = {
    "cartpole-ppo": {"threshold": 475.0, "eval_every": None, "steps": cartpole_vs_sb3.ZOO_BUDGETS["ppo"]},
    "pendulum-sac": {"threshold": -200.0, "eval_every": sac_vs_sb3.EVAL_EVERY, "steps": 20_000},
    "cartpole-dqn": {"threshold": dqn_vs_sb3.SOLVED_AT, "eval_every": dqn_vs_sb3.EVAL_EVERY,
                     "steps": dqn_vs_sb3.STEP_CAP},
}
ENVS = {"cartpole-ppo": "CartPole-v1", "pendulum-sac": "Pendulum-v1", "cartpole-dqn": "CartPole-v1"}
EVAL_EPISODES = 10


def model(task: str, library: str, seed: int):
    if task == "cartpole-ppo":
        return cartpole_vs_sb3.sb3_model("ppo", seed, library)
    if task == "pendulum-sac":
        return sac_vs_sb3.sb3_model(seed, library=library)
    return dqn_vs_sb3.sb3_model(seed, library)


def run(task: str, side: str, seed: int) -> dict:
    rules = TASKS[task]
    if side == "jax":
        if task != "cartpole-ppo":
            raise SystemExit("the JAX loop is PPO on CartPole only")
        from jax_ppo import time_to_solve

        return time_to_solve(seed, rules["threshold"])
    import torch

    torch.set_num_threads(1)
    agent = model(task, "stable_baselines3" if side == "sb3" else "sbx", seed)
    if rules["eval_every"] is None:
        callback = until_solved(rules["threshold"])
        agent.learn(total_timesteps=rules["steps"], callback=callback)
        return {"solved": callback.solved_s is not None, "seconds": callback.solved_s,
                "steps": callback.solved_step}
    callback = until_greedy_eval(ENVS[task], seed, rules["threshold"], rules["eval_every"], EVAL_EPISODES)
    agent.learn(total_timesteps=rules["steps"], callback=callback)
    return {key: callback.result[key] for key in ("solved", "seconds", "steps")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=TASKS, required=True)
    parser.add_argument("--side", choices=("sb3", "sbx", "jax"), required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()
    os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    print(json.dumps(run(args.task, args.side, args.seed)))


if __name__ == "__main__":
    main()
