"""Seeds as an axis: a seed trained beside others in one Trainer trains as it would alone.

Every case runs 6 updates of three seeds together and of each seed alone, and compares
every update's figures and the final weights and optimizer state of each seed.
"""

import math

import pytest
import torch
from devices import DEVICES

from pgtui.presets import load_preset
from pgtui.rl.events import UpdateFinished
from pgtui.rl.race.spec import variant_configs
from pgtui.rl.race.variant import VariantRun
from pgtui.rl.trainer import Trainer

SEEDS = (0, 1, 2)
UPDATES = 6
WALL = ("wall_s", "sps")


def _records(events):
    return [{k: v for k, v in e.stats.items() if k not in WALL}
            for e in events if isinstance(e, UpdateFinished)]


def _train_both_ways(config):
    together_events = [[] for _ in SEEDS]
    together = Trainer(config, [e.append for e in together_events], seeds=SEEDS)
    together.run(max_updates=UPDATES)
    alone, alone_events = [], []
    for s in SEEDS:
        events = []
        trainer = Trainer(config.replace(seed=s), events.append)
        trainer.run(max_updates=UPDATES)
        alone.append(trainer)
        alone_events.append(events)
    return together, together_events, alone, alone_events


CASES = {
    # PPO with clipping active and early stops: each seed stops its epochs on its own
    "ppo-target-kl": ("cartpole-ppo", {"target_kl": 0.01, "update_epochs": 8, "num_envs": 8}),
    "ppo-gaussian": ("pendulum-ppo", {"num_envs": 4, "num_steps": 64, "ent_coef": 0.01}),
    "a2c": ("cartpole-a2c", {"ent_coef": 0.01}),
    "a2c-gaussian": ("pendulum-ppo", {"algo": "a2c", "num_envs": 4, "num_steps": 32}),
    "reinforce-value": ("cartpole-reinforce-baseline", {"num_envs": 8, "episodes_per_update": 8}),
    "reinforce-mean": ("cartpole-reinforce-baseline", {"baseline": "mean", "return_mode": "full",
                                                       "normalize_advantage": False,
                                                       "num_envs": 8, "episodes_per_update": 8}),
    "reinforce-none": ("cartpole-reinforce-baseline", {"baseline": "none", "max_grad_norm": 0.5,
                                                       "num_envs": 8, "episodes_per_update": 8}),
    "reinforce-gaussian": ("pendulum-ppo", {"algo": "reinforce", "num_envs": 2,
                                            "episodes_per_update": 2, "baseline": "value"}),
    # its own replay draws, epsilon coins, target copies; Double DQN's targets
    "dqn": ("cartpole-dqn", {"learning_starts": 100, "train_freq": 8, "gradient_steps": 4,
                             "num_envs": 4, "double_q": True, "target_update_interval": 64}),
    # its own replay draws and reparameterization noise, Polyak targets, a learned alpha;
    # the first updates act uniformly, then sample the squashed Gaussian
    "sac": ("pendulum-sac", {"learning_starts": 40, "train_freq": 16, "gradient_steps": 3,
                             "num_envs": 2, "batch_size": 32}),
    # groups of responses to one prompt, epochs with the ratio clipped, k3 to pi_ref
    "grpo": ("rlhf-dialogue", {"algo": "grpo", "kl_coef": 0.5, "update_epochs": 3,
                               "episodes_per_update": 16}),
    # each seed's own draws of labelled pairs, no env steps
    "dpo": ("rlhf-dialogue", {"algo": "dpo", "kl_coef": 0.5, "pairs_per_update": 16}),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES)
def test_a_seed_trained_with_others_equals_the_seed_trained_alone(case, device):
    preset, overrides = CASES[case]
    config = load_preset(preset).replace(total_steps=10**9, device=device, **overrides)
    together, together_events, alone, alone_events = _train_both_ways(config)
    for s, trainer in enumerate(alone):
        mine, theirs = _records(together_events[s]), _records(alone_events[s])
        assert len(mine) == len(theirs) == UPDATES
        for a, b in zip(mine, theirs, strict=True):
            assert a.keys() == b.keys()
            for key in a:
                # the baseline term's mean is zero in expectation: its norm is a sum that
                # cancels, and rounding that differs in the 5th digit shows in the 4th
                rel = 1e-3 if key == "baseline_se" else 1e-4
                assert a[key] == pytest.approx(b[key], rel=rel, abs=1e-5, nan_ok=True), key
        torch.testing.assert_close(together.nets.rows[s], trainer.nets.rows[0], rtol=1e-4, atol=1e-5)
        assert together.optimizer.steps[s] == trainer.optimizer.steps[0]
    if case == "ppo-target-kl":  # some seed did stop early, and not all at the same epoch
        stops = [[r["early_stop"] for r in _records(e)] for e in alone_events]
        assert any(1.0 in s for s in stops) and len({tuple(s) for s in stops}) > 1


def test_a_seed_that_diverges_goes_back_to_its_weights_and_the_others_go_on():
    _, configs = variant_configs(load_preset("cartpole-ppo").replace(
        anneal_lr=False, total_steps=10**9), 3)[0]
    reports = []
    race = VariantRun("ppo", configs, reports.append)
    trainer = race.trainer
    before = trainer.nets.rows.clone()
    trainer.optimizer.set_lr(1, math.inf)  # its first step makes its weights inf or nan
    race.run(max_updates=2)
    assert [s.state for s in reports[-1].seeds] == ["finished", "diverged", "finished"]
    assert torch.equal(trainer.nets.rows[1], before[1])
    assert trainer.optimizer.steps[1] == 0 and not trainer.optimizer.exp_avg[1].any()
    assert [run.update for run in trainer.runs] == [2, 0, 2]
    alone = Trainer(configs[2].replace(anneal_lr=False))
    alone.run(max_updates=2)
    torch.testing.assert_close(trainer.nets.rows[2], alone.nets.rows[0], rtol=1e-4, atol=1e-5)
