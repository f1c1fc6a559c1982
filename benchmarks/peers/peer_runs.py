"""One run of a peer until solved, printed as JSON: Stable-Baselines3, SBX (SB3 in JAX) or
the PureJaxRL-style PPO (``jax_ppo.py``). Runs in the peers' environment, one process a
run (``peers.py`` starts it):

    .venv-peers/bin/python benchmarks/peers/peer_runs.py --task cartpole-ppo --side sbx --seed 0

Every side runs one thread: torch's and XLA's (set before jax is imported). The
settings are rl-zoo's for SB3 and SBX (the same numbers on both), PureJaxRL's for its
loop; models are built off the clock, the JIT compile of SBX and of the JAX loop is on it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: sb3_until_solved

from sb3_until_solved import until_greedy_eval, until_solved

# (solve rule, threshold, step cap); the rules are pgtui's presets' own
TASKS = {
    "cartpole-ppo": ("last-100", 475.0, 100_000),  # rl-zoo's budget, over which its lr anneals
    "pendulum-sac": ("greedy every 1000 x 10", -200.0, 20_000),
    "cartpole-dqn": ("greedy every 2048 x 10", 475.0, 100_000),
}


def _linear(start: float):
    return lambda progress_remaining: progress_remaining * start


def model(task: str, side: str, seed: int):
    """rl-zoo's settings for ``task`` in SB3 or in SBX."""
    import gymnasium as gym

    if side == "sb3":
        from stable_baselines3 import DQN, PPO, SAC
    else:
        from sbx import DQN, PPO, SAC
    if task == "cartpole-ppo":
        from stable_baselines3.common.env_util import make_vec_env

        return PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=8, seed=seed), n_steps=32, batch_size=256,
                   gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0, learning_rate=_linear(1e-3),
                   clip_range=_linear(0.2) if side == "sb3" else 0.2, seed=seed, verbose=0,
                   **({"device": "cpu"} if side == "sb3" else {}))
    if task == "pendulum-sac":
        return SAC("MlpPolicy", gym.make("Pendulum-v1"), learning_rate=1e-3, seed=seed, verbose=0,
                   **({"device": "cpu"} if side == "sb3" else {}))
    return DQN("MlpPolicy", gym.make("CartPole-v1"), learning_rate=2.3e-3, batch_size=64,
               buffer_size=100_000, learning_starts=1000, gamma=0.99, target_update_interval=10,
               train_freq=256, gradient_steps=128, exploration_fraction=0.16, exploration_final_eps=0.04,
               policy_kwargs={"net_arch": [256, 256]}, seed=seed, verbose=0,
               **({"device": "cpu"} if side == "sb3" else {}))


def run(task: str, side: str, seed: int) -> dict:
    rule, threshold, cap = TASKS[task]
    if side == "jax":
        if task != "cartpole-ppo":
            raise SystemExit("the JAX loop is PPO on CartPole only")
        from jax_ppo import time_to_solve

        return time_to_solve(seed, threshold)
    import torch

    torch.set_num_threads(1)
    agent = model(task, side, seed)
    if rule == "last-100":
        callback = until_solved(threshold)
        agent.learn(total_timesteps=cap, callback=callback)
        return {"solved": callback.solved_s is not None, "seconds": callback.solved_s,
                "steps": callback.solved_step}
    every = 1000 if task == "pendulum-sac" else 2048
    callback = until_greedy_eval("Pendulum-v1" if task == "pendulum-sac" else "CartPole-v1", seed,
                                 threshold, every, 10)
    agent.learn(total_timesteps=cap, callback=callback)
    return {key: callback.result[key] for key in ("solved", "seconds", "steps")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=TASKS, required=True)
    parser.add_argument("--side", choices=("sb3", "sbx", "jax"), required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()
    print(json.dumps(run(args.task, args.side, args.seed)))


if __name__ == "__main__":
    main()
