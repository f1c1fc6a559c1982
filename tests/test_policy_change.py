"""The policy change of an update: KL(pi_before || pi_after) on the update's own states,
for every algorithm, and DQN's greedy flips."""

import math

import pytest
import torch

from pgtui.preset_files import load_preset
from pgtui.rl.algos.interface import policy_kl
from pgtui.rl.algos.returns import masked_mean
from pgtui.rl.events import UpdateFinished
from pgtui.rl.trainer import Trainer

pytestmark = pytest.mark.numerics  # figures against an independent computation

PRESETS = {  # each algorithm, learning from its first update
    "reinforce": ("cartpole-reinforce-baseline", {"num_envs": 4, "episodes_per_update": 4}),
    "a2c": ("cartpole-a2c", {}),
    "ppo": ("cartpole-ppo", {}),
    "ppo-gaussian": ("pendulum-ppo", {"num_steps": 64}),
    "dqn": ("cartpole-dqn", {"learning_starts": 0, "train_freq": 4, "gradient_steps": 4}),
    "sac": ("pendulum-sac", {"learning_starts": 0, "train_freq": 8}),
}


def test_the_kl_of_two_policies_by_hand():
    half, skewed = torch.tensor([0.5, 0.5]).log(), torch.tensor([0.75, 0.25]).log()
    # 0.5 ln(0.5 / 0.75) + 0.5 ln(0.5 / 0.25) = 0.5 ln(4 / 3)
    assert policy_kl(half, skewed, discrete=True).item() == pytest.approx(0.5 * math.log(4 / 3))
    assert policy_kl(half, half, discrete=True).item() == 0.0
    # N(0, 1) against N(1, 2^2), (mean, log-std): ln 2 + (1 + 1) / (2 * 4) - 1/2
    kl = policy_kl(torch.tensor([0.0, 0.0]), torch.tensor([1.0, math.log(2.0)]), discrete=False)
    assert kl.item() == pytest.approx(math.log(2) + 0.25 - 0.5)
    # a mean over the kept states only; of none, undefined (a boolean mask as a float one)
    means = masked_mean(torch.tensor([[1.0, 3.0, 100.0], [5.0, 6.0, 7.0]]),
                        torch.tensor([[True, True, False], [False, False, False]]))
    assert means[0].item() == 2.0 and math.isnan(means[1].item())


@pytest.mark.parametrize("algo", PRESETS)
def test_an_update_at_lr_zero_changes_no_policy(algo):
    preset, overrides = PRESETS[algo]
    events = []
    trainer = Trainer(load_preset(preset).replace(total_steps=10**6, anneal_lr=False, **overrides),
                      events.append)
    trainer.optimizer.set_lr(slice(None), 0.0)
    trainer.run(max_updates=3)
    stats = [e.stats for e in events if isinstance(e, UpdateFinished)]
    assert len(stats) == 3 and all(s["policy_kl"] == 0.0 for s in stats)
    if algo == "dqn":
        assert all(s["greedy_flips"] == 0.0 for s in stats)


@pytest.mark.parametrize("algo", PRESETS)
def test_the_policy_kl_is_the_kl_between_the_policies_before_and_after_on_the_batch(algo):
    preset, overrides = PRESETS[algo]
    events = []
    trainer = Trainer(load_preset(preset).replace(total_steps=10**6, **overrides), events.append)
    trainer.run(max_updates=2)
    before = trainer.nets.rows.clone()
    trainer.step()
    stats = [e.stats for e in events if isinstance(e, UpdateFinished)][-1]
    after = trainer.nets.rows.clone()
    batch, nets = trainer.last_batch, trainer.nets
    obs = batch.obs[:, 0][batch.valid[:, 0]]  # seed 0's real steps
    views = []
    for rows in (before, after):
        with torch.no_grad():
            nets.rows.copy_(rows)
        views.append(trainer.learner.policy_view(obs.unsqueeze(0), [0])[0].double())
    if algo == "dqn":  # epsilon-greedy at the same epsilon, and the argmax flips
        from pgtui.rl.algos.dqn import behaviour_probs, epsilon

        eps = epsilon(trainer.config, trainer.global_step)
        p, q = (behaviour_probs(v, eps) for v in views)
        kl = (p * (p.log() - q.log())).sum(-1).mean()
        flips = (views[0].argmax(-1) != views[1].argmax(-1)).float().mean()
        assert stats["greedy_flips"] == pytest.approx(flips.item(), abs=1e-6)
    elif nets.discrete:  # logits
        p, q = views[0].softmax(-1), views[1].softmax(-1)
        kl = (p * (p.log() - q.log())).sum(-1).mean()
    else:
        (m1, s1), (m2, s2) = (v.chunk(2, -1) for v in views)
        dist = [torch.distributions.Normal(m, s.exp()) for m, s in ((m1, s1), (m2, s2))]
        kl = torch.distributions.kl_divergence(*dist).sum(-1).mean()
    assert stats["policy_kl"] > 0
    assert stats["policy_kl"] == pytest.approx(kl.item(), rel=1e-4, abs=1e-9)
