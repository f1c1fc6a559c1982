"""Seeded, small-budget runs that must actually learn CartPole."""

import json

from cli_helpers import run_pgtui

from pgtui.metrics import read_metrics
from pgtui.preset_files import load_preset
from pgtui.rl.events import Evaluated, UpdateFinished
from pgtui.rl.trainer import Trainer

RANDOM_POLICY_RETURN = 22  # CartPole-v1 under uniformly random actions, about


def test_reinforce_with_value_baseline_learns(tmp_path):
    result = run_pgtui("train", "--preset", "cartpole-reinforce-baseline", "--max-steps",
                       "120000", "--seed", "0", "--out", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    returns = [r["episodic_return"] for r in read_metrics(tmp_path / "metrics.jsonl")
               if r["type"] == "episode"]
    first = sum(returns[:100]) / 100
    assert first < 2 * RANDOM_POLICY_RETURN
    assert summary["last100_mean"] >= 120, summary
    assert summary["last100_mean"] > 4 * first


def test_ppo_solves_cartpole():
    trainer = Trainer(load_preset("cartpole-ppo").replace(seed=1, total_steps=250_000))
    assert trainer.run(until_solved=True) == "solved"
    assert trainer.runs[0].last100_mean >= 475


def test_the_entropy_bonus_keeps_a_reinforce_policy_wider():
    """ent_coef weighs each step's entropy as its policy term: 0.1 holds REINFORCE's
    entropy visibly higher after 40 updates (mean of 3 seeds; with the bonus as a
    per-step mean the gap was about a quarter of this)."""
    config = load_preset("cartpole-reinforce-baseline").replace(lr=3e-3, episodes_per_update=8)
    entropy = {}
    for ent_coef in (0.0, 0.1):
        events = []
        Trainer(config.replace(ent_coef=ent_coef), events.append, seeds=[0, 1, 2]).run(max_updates=40)
        last = [e.stats["entropy"] for e in events if isinstance(e, UpdateFinished) and e.update == 40]
        assert len(last) == 3
        entropy[ent_coef] = sum(last) / 3
    assert entropy[0.1] > entropy[0.0] + 0.03, entropy


def test_dqn_learns_cartpole():
    """cartpole-dqn, seed 3, at most 30k steps: its greedy policy reaches 300 (seed 3
    solved at 10k steps when the preset was tuned) and training returns climb well
    above random even under epsilon's noise."""
    events = []
    trainer = Trainer(load_preset("cartpole-dqn").replace(seed=3, total_steps=30_000), events.append)
    trainer.run(until_solved=True)
    evaluations = [e.mean_return for e in events if isinstance(e, Evaluated)]
    assert evaluations and max(evaluations) >= 300, evaluations
    assert trainer.runs[0].last100_mean > 3 * RANDOM_POLICY_RETURN
