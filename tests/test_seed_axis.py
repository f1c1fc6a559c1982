"""Seeds as an axis: a seed trained beside others in one Trainer trains as it would alone.

Every case runs 6 updates of three seeds together and of each seed alone, and compares
every update's figures and the final weights and optimizer state of each seed, in
float64 (``numerics.py``): the batched products and the single seed's round differently
in float32, by the CPU's kernels. Planted bugs show how far a real difference lands.
"""

import math

import pytest
import torch
from devices import DEVICES
from numerics import GAP, float64, gap, tensor_gap

from pgtui.preset_files import load_preset
from pgtui.rl.events import UpdateFinished
from pgtui.rl.optim import RowOptimizer
from pgtui.rl.race.spec import variant_configs
from pgtui.rl.race.variant import VariantRun
from pgtui.rl.seeding import SeedStreams
from pgtui.rl.trainer import Trainer

pytestmark = pytest.mark.numerics

SEEDS = (0, 1, 2)
UPDATES = 6
WALL = ("wall_s", "sps")


def _records(events):
    return [{k: v for k, v in e.stats.items() if k not in WALL}
            for e in events if isinstance(e, UpdateFinished)]


def _train_both_ways(config, plant=None):
    """The seeds trained together (with a bug ``plant``-ed into that run alone, where
    given: a function of a ``MonkeyPatch``) and each alone, in float64."""
    together_events = [[] for _ in SEEDS]
    with float64(), pytest.MonkeyPatch.context() as patch:
        if plant is not None:
            plant(patch)
        together = Trainer(config, [e.append for e in together_events], seeds=SEEDS)
        together.run(max_updates=UPDATES)
    alone, alone_events = [], []
    with float64():
        for s in SEEDS:
            events = []
            trainer = Trainer(config.replace(seed=s), events.append)
            trainer.run(max_updates=UPDATES)
            alone.append(trainer)
            alone_events.append(events)
    return together, together_events, alone, alone_events


def _widest_gap(together, together_events, alone, alone_events) -> tuple[float, str]:
    """The largest ``gap`` between a seed trained together and alone, over every update's
    figures and the final weights, and where it is."""
    widest = (0.0, "nowhere")
    for s, trainer in enumerate(alone):
        mine, theirs = _records(together_events[s]), _records(alone_events[s])
        assert len(mine) == len(theirs) == UPDATES
        for update, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            assert a.keys() == b.keys()
            for key in a:
                widest = max(widest, (gap(a[key], b[key]), f"seed {s}, update {update}: {key}"))
        rows = together.nets.rows[s], trainer.nets.rows[0]
        widest = max(widest, (tensor_gap(*rows), f"seed {s}: final weights"))
    return widest


CASES = {
    # PPO with clipping active and early stops: each seed stops its epochs on its own
    "ppo-target-kl": ("cartpole-ppo", {"target_kl": 0.02, "update_epochs": 8, "num_envs": 8}),
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
    widest, where = _widest_gap(together, together_events, alone, alone_events)
    assert widest < GAP, f"{where}: {widest:.1e}"
    for s, trainer in enumerate(alone):
        assert together.optimizer.steps[s] == trainer.optimizer.steps[0]
    if case == "ppo-target-kl":  # some seed did stop early, and not all at the same epoch
        stops = [[r["early_stop"] for r in _records(e)] for e in alone_events]
        assert any(1.0 in s for s in stops) and len({tuple(s) for s in stops}) > 1


def _seed_1_resets_as_seed_0(patch):
    """Seed 1's envs start from seed 0's stream."""
    real = SeedStreams.env_reset_seed
    patch.setattr(SeedStreams, "env_reset_seed",
                  lambda self, envs: real(SeedStreams(SEEDS[0]) if self.seed == SEEDS[1] else self, envs))


def _seed_1_one_step_behind(patch):
    """Seed 1's weights skip the run's first optimizer step: they lag one step behind."""
    real, skipped = RowOptimizer.step, []

    def step(self, stepping):
        if not skipped:
            stepping = stepping.clone()
            stepping[1] = False
            skipped.append(True)
        real(self, stepping)
    patch.setattr(RowOptimizer, "step", step)


@pytest.mark.parametrize("plant", [_seed_1_resets_as_seed_0, _seed_1_one_step_behind])
@pytest.mark.parametrize("case", ["ppo-target-kl", "reinforce-value", "sac"])
def test_a_planted_bug_in_the_seed_axis_shows_far_beyond_the_tolerance(case, plant):
    preset, overrides = CASES[case]
    config = load_preset(preset).replace(total_steps=10**9, **overrides)
    widest, where = _widest_gap(*_train_both_ways(config, plant))
    assert widest > 1e5 * GAP, f"{where}: {widest:.1e}"


def test_a_seed_that_diverges_goes_back_to_its_weights_and_the_others_go_on():
    _, configs = variant_configs(load_preset("cartpole-ppo").replace(
        anneal_lr=False, total_steps=10**9), 3)[0]
    reports = []
    with float64():
        race = VariantRun("ppo", configs, reports.append)
        trainer = race.trainer
        before = trainer.nets.rows.clone()
        trainer.optimizer.set_lr(1, math.inf)  # its first step makes its weights inf or nan
        race.run(max_updates=2)
        alone = Trainer(configs[2].replace(anneal_lr=False))
        alone.run(max_updates=2)
    assert [s.status for s in reports[-1].seeds] == ["finished", "diverged", "finished"]
    assert torch.equal(trainer.nets.rows[1], before[1])
    assert trainer.optimizer.steps[1] == 0 and not trainer.optimizer.exp_avg[1].any()
    assert [run.update for run in trainer.runs] == [2, 0, 2]
    assert tensor_gap(trainer.nets.rows[2], alone.nets.rows[0]) < GAP
