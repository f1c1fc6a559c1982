"""The floor under a solved CartPole PPO run: its pure compute, with no bookkeeping.

    python benchmarks/ppo_floor.py                      # cartpole-ppo, seeds 0-4
    python benchmarks/ppo_floor.py --steps 60000        # a given number of env steps

For a run of `--steps` env steps with the preset's shape (num_envs x num_steps a
rollout, update_epochs x num_minibatches gradient steps an update, its network), time
three things alone, in plain torch and Gymnasium, one torch thread:

- the env: Gymnasium's vectorized CartPole stepped with random actions;
- the forward passes: the actor on each vector step's observations and one sample,
  and the critic once per rollout on all of them (as pgtui acts);
- the updates: every minibatch's PPO loss, backward and Adam step, on random data of
  the right shapes.

Their sum is the floor. Without --steps the script first runs `pgtui train
--until-solved` for each seed and takes its steps and its training seconds, so the last
lines say how far pgtui's wall time is from the floor of the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from torch import nn
from torch.nn import functional as F

from pgtui.preset_files import load_preset


def env_seconds(envs: int, vector_steps: int) -> float:
    env = CartPoleVectorEnv(num_envs=envs)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, size=(vector_steps, envs))
    start = time.perf_counter()
    for a in actions:
        env.step(a)
    return time.perf_counter() - start


def forward_seconds(config, vector_steps: int) -> float:
    actor, critic = _layers(config.hidden_sizes, 2), _layers(config.hidden_sizes, 1)
    obs = torch.randn(config.num_envs, 4)
    rollouts = max(1, vector_steps // config.num_steps)
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(vector_steps):
            torch.multinomial(torch.softmax(_forward(actor, obs), -1), 1)
        for _ in range(rollouts):
            _forward(critic, torch.randn(config.num_envs * config.num_steps, 4))
    return time.perf_counter() - start


def _layers(sizes: list[int], out: int) -> list[torch.Tensor]:
    """A ReLU MLP's weights and biases as plain leaf tensors."""
    params, last = [], 4
    for width in [*sizes, out]:
        params += [(torch.randn(width, last) / last**0.5).requires_grad_(),
                   torch.zeros(width, requires_grad=True)]
        last = width
    return params


def _forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    for i in range(0, len(params) - 2, 2):
        x = torch.relu(F.linear(x, params[i], params[i + 1]))
    return F.linear(x, params[-2], params[-1])


def update_seconds(config, updates: int) -> float:
    """Every minibatch step as lean as plain torch allows: raw tensors through
    ``F.linear``, one fused Adam, the two gradient-norm clips."""
    actor, critic = _layers(config.hidden_sizes, 2), _layers(config.hidden_sizes, 1)
    optimizer = torch.optim.Adam([*actor, *critic], lr=config.lr, fused=True)
    size = config.num_envs * config.num_steps // config.num_minibatches
    obs, actions = torch.randn(size, 4), torch.randint(0, 2, (size, 1))
    old_logp, adv, returns = torch.randn(size) - 1, torch.randn(size), torch.randn(size)
    start = time.perf_counter()
    for _ in range(updates * config.update_epochs * config.num_minibatches):
        logp = torch.log_softmax(_forward(actor, obs), -1).gather(1, actions).squeeze(1)
        ratio = (logp - old_logp).exp()
        clipped = ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef)
        policy = -torch.min(ratio * adv, clipped * adv).mean()
        value = (_forward(critic, obs).squeeze(1) - returns).pow(2).mean()
        loss = policy + config.vf_coef * value
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(actor, config.max_grad_norm, foreach=True)
        nn.utils.clip_grad_norm_(critic, config.max_grad_norm, foreach=True)
        optimizer.step()
    return time.perf_counter() - start


def solved_runs(preset: str, seeds: list[int]) -> list[dict]:
    runs = []
    for seed in seeds:
        out = subprocess.run(["pgtui", "train", "--preset", preset, "--seed", str(seed),
                              "--until-solved", "--json"], capture_output=True, text=True, check=True)
        summary = json.loads(out.stdout.strip().splitlines()[-1])
        if summary["solved"]:
            runs.append(summary)
    return runs


def floor(config, steps: int) -> dict[str, float]:
    vector_steps = steps // config.num_envs
    updates = steps // (config.num_envs * config.num_steps)
    parts = {"env": env_seconds(config.num_envs, vector_steps),
             "forward": forward_seconds(config, vector_steps),
             "updates": update_seconds(config, updates)}
    parts["floor"] = sum(parts.values())
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="cartpole-ppo")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, help="env steps (default: each seed's solve)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_preset(args.preset)
    if args.steps:
        parts = floor(config, args.steps)
        print(f"{args.steps} steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))
        return
    ratios = []
    for run in solved_runs(args.preset, args.seeds):
        parts = floor(config, run["solved_step"])
        ratios.append(run["solved_wall_s"] / parts["floor"])
        print(f"seed {run['seed']}: {run['solved_step']} steps, pgtui {run['solved_wall_s']:.2f} s; "
              + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())
              + f"; pgtui / floor {ratios[-1]:.2f}", flush=True)
    if not ratios:
        sys.exit("no seed solved")
    print(f"median pgtui / floor: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
