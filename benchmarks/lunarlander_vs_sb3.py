"""Minutes to land: pgtui's `lunarlander-ppo` against Stable-Baselines3 PPO with
rl-zoo's LunarLander hyperparameters, on the same machine.

    pip install -e '.[bench,box2d]'
    python benchmarks/lunarlander_vs_sb3.py              # seed 0
    python benchmarks/lunarlander_vs_sb3.py --seeds 0 1

Each side runs in a fresh process, one after the other, until the mean of the last
100 episode returns reaches 200 (Gymnasium's threshold) or 1M steps (rl-zoo's budget).
Both time training only (SB3 from the start of ``learn``, pgtui the summary's
``solved_wall_s``) with one torch thread.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from sb3_until_solved import until_solved

SOLVED_AT = 200.0
STEP_CAP = 1_000_000


def run_sb3(seed: int) -> dict:
    """rl-zoo's hyperparams/ppo.yml for LunarLander: 16 envs x 1024 steps, batch 64,
    4 epochs, gamma 0.999, lambda 0.98, entropy 0.01."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    envs = make_vec_env("LunarLander-v3", n_envs=16, seed=seed)
    model = PPO("MlpPolicy", envs, n_steps=1024, batch_size=64, gae_lambda=0.98, gamma=0.999,
                n_epochs=4, ent_coef=0.01, seed=seed, device="cpu", verbose=0)

    callback = until_solved(SOLVED_AT)
    started = time.perf_counter()
    model.learn(total_timesteps=STEP_CAP, callback=callback)
    return {"solved": callback.solved_s is not None, "seconds": callback.solved_s,
            "steps": callback.solved_step, "ran_s": time.perf_counter() - started,
            "last100": sum(callback.returns) / max(len(callback.returns), 1)}


def run_pgtui(seed: int) -> dict:
    cmd = [sys.executable, "-m", "pgtui", "train", "--preset", "lunarlander-ppo", "--seed", str(seed),
           "--until-solved", "--json"]
    s = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True)
                   .stdout.strip().splitlines()[-1])
    return {"solved": s["solved"], "seconds": s["solved_wall_s"], "steps": s["solved_step"],
            "ran_s": s["wall_s"], "last100": s["last100_mean"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--one-sb3", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_sb3:
        print(json.dumps(run_sb3(args.seeds[0])))
        return
    for seed in args.seeds:
        ours = run_pgtui(seed)
        cmd = [sys.executable, __file__, "--one-sb3", "--seeds", str(seed)]
        theirs = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True)
                            .stdout.strip().splitlines()[-1])
        print(f"seed {seed}: pgtui {_fmt(ours)}   sb3 {_fmt(theirs)}", flush=True)


def _fmt(r: dict) -> str:
    if not r["solved"]:
        return f"not solved in {r['ran_s'] / 60:.1f} min (last-100 mean {r['last100']:.1f})"
    return f"{r['seconds'] / 60:.2f} min, {r['steps']:,} steps"


if __name__ == "__main__":
    main()
