"""The lessons' variance exercises, measured (seeded; figures in benchmarks/README.md).

    python benchmarks/variance_exercises.py

1. The optimal constant baseline against the mean and value baselines: the trace of the
   per-episode gradient covariance of each, on the same batches, after 30 updates of
   REINFORCE with the value baseline (so the critic has fitted the returns); with the
   whole-episode return (where b* is the optimal constant) and with reward-to-go (where
   V(s_t) is the lesson's optimal baseline), gamma 1.
2. Each estimator's cosine to the true gradient on the chain (`chain-estimators`, paired
   against no baseline on the same batches), through `pgtui compare`.
3. The variance slopes of `variance-horizon` and `variance-reward-scale`, through
   `pgtui compare`.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import torch

from pgtui.config import Config
from pgtui.rl.algos import diagnostics
from pgtui.rl.algos.reinforce import episode_returns, episode_score_terms, reinforce_advantages
from pgtui.rl.algos.samples import pack
from pgtui.rl.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ("mean", "value", "optimal")


def paired_variances(env: str, episodes: int, batches: int, return_mode: str, **overrides
                     ) -> dict[str, float]:
    """Summed grad var of each baseline over the same batches of 4 seeds."""
    config = Config(env=env, algo="reinforce", gamma=1.0, return_mode=return_mode, baseline="value",
                    normalize_advantage=False, num_envs=16, diag_every=0, lr=1e-3,
                    critic_lr_scale=10.0, episodes_per_update=16, **overrides)
    seeds = [0, 1, 2, 3]
    trainer = Trainer(config, seeds=seeds)
    for _ in range(30):  # the policy moves and the critic fits its returns
        trainer.step()
    nets, totals = trainer.nets, dict.fromkeys(BASELINES, 0.0)
    for _ in range(batches):
        batch = trainer.collector.episodes(nets, episodes, seeds)
        samples = pack(batch, episode_returns(batch, config), batch.episode_ids)
        returns, ids = samples.targets
        K = int(batch.num_episodes.max())
        params = nets.select(seeds)
        terms = lambda R: episode_score_terms(nets, params, samples, ids, K, R)  # noqa: B023, E731
        with torch.no_grad():
            values = nets.values(samples.obs, params)  # the critic as initialized
        index, mask = diagnostics.episode_groups(ids, samples.mask, K)
        for baseline in BASELINES:
            weights = reinforce_advantages(returns, values, samples, ids, K,
                                           dataclasses.replace(config, baseline=baseline), terms)
            for s in diagnostics.measure(nets, params, samples, weights, index, mask):
                totals[baseline] += s["grad_var"]
    return totals


def compare(preset: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "pgtui", "compare", "--preset", preset, "--json"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    print("1. grad var on the same batches, relative to the mean baseline (after 30 updates)")
    dialogue = {"hidden_sizes": [64, 64], "activation": "tanh"}
    for env, episodes, batches, extra in (("CartPole-v1", 32, 20, {}), ("CartPole-v1", 256, 4, {}),
                                          ("pgtui/Chain-v0", 32, 20, {}),
                                          ("pgtui/Dialogue-v0", 32, 20, dialogue)):
        for mode in ("full", "reward_to_go"):
            totals = paired_variances(env, episodes, batches, mode, **extra)
            ratios = ", ".join(f"{b} {totals[b] / totals['mean']:.3f}" for b in BASELINES)
            print(f"   {env}, {mode}, {episodes} episodes x {batches} batches x 4 seeds: {ratios}",
                  flush=True)
    chain = compare("chain-estimators")
    print("2. cosine to the true gradient on the chain (mean over updates and 3 seeds)")
    for v in chain["variants"]:
        print(f"   {v['name']}: {v['true_grad_cosine']:.3f} (none on the same batches: "
              f"{v['true_grad_cosine_ref']:.3f})")
    print("3. variance slopes")
    for preset in ("variance-horizon", "variance-reward-scale"):
        for fit in compare(preset)["slopes"]:
            print(f"   {preset}: grad var ~ {fit['key']}^{fit['slope']:.2f} ± {fit['slope_se']:.2f} "
                  f"over {', '.join(fit['variants'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
