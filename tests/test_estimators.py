"""The REINFORCE estimator against an exactly computable gradient, and the noise meters.

On a 3-armed bandit with a softmax policy, J(theta) = sum_a pi_a mu_a and
grad J = pi * (mu - J) exactly. The mean of many batch estimates must match it for
every baseline, and a baseline must cut the variance.
"""

import pytest
import torch

from pgtui.config import Config
from pgtui.rl.algorithms import leave_one_out_mean, reinforce_loss
from pgtui.rl.diagnostics import episode_groups, gradient_noise, group_gradients
from pgtui.rl.policies import (
    ActorCritic,
    CategoricalActor,
    GaussianActor,
    TabularCritic,
    TabularSoftmaxActor,
)
from pgtui.rl.rollout import Batch

MU = torch.tensor([1.0, 2.0, 4.0])
NOISE = 1.0
THETA = [0.5, -0.3, 0.1]
K = 8  # episodes per batch
REPLICATES = 2000


def exact_gradient():
    pi = torch.softmax(torch.tensor(THETA), 0)
    return pi * (MU - (pi * MU).sum()), float((pi * MU).sum())


def bandit_batch(policy, gen):
    pi = torch.softmax(policy.actor.theta.detach(), 0)
    actions = torch.multinomial(pi, K, replacement=True, generator=gen)
    rewards = MU[actions] + NOISE * torch.randn(K, generator=gen)
    ones = torch.ones(1, K, dtype=torch.bool)
    return Batch(obs=torch.zeros(1, K, 1), actions=actions[None], rewards=rewards[None],
                 terminated=ones, dones=ones, valid=ones,
                 episode_ids=torch.arange(K)[None], num_episodes=K)


def estimates(baseline):
    _, J = exact_gradient()
    policy = ActorCritic(TabularSoftmaxActor(3, THETA), TabularCritic())
    with torch.no_grad():
        policy.critic.v.fill_(J)  # the value baseline: V(s) = J, the optimal constant
    config = Config(baseline=baseline, normalize_advantage=False, gamma=1.0)
    gen = torch.Generator().manual_seed(123)
    out = []
    for _ in range(REPLICATES):
        _, parts = reinforce_loss(policy, bandit_batch(policy, gen), config)
        (grad,) = torch.autograd.grad(-parts["policy_loss"], policy.actor.theta)
        out.append(grad)
    return torch.stack(out)


@pytest.fixture(scope="module")
def samples():
    return {b: estimates(b) for b in ("none", "mean", "value")}


@pytest.mark.parametrize("baseline", ["none", "mean", "value"])
def test_every_baseline_keeps_the_expected_gradient(samples, baseline):
    exact, _ = exact_gradient()
    g = samples[baseline]
    stderr = g.std(0) / REPLICATES**0.5
    assert ((g.mean(0) - exact).abs() < 4 * stderr).all(), (g.mean(0), exact)
    assert torch.cosine_similarity(g.mean(0), exact, dim=0) > 0.99


@pytest.mark.parametrize("baseline", ["mean", "value"])
def test_a_baseline_cuts_the_variance(samples, baseline):
    trace_var = {b: float(g.var(0).sum()) for b, g in samples.items()}
    assert trace_var[baseline] < 0.5 * trace_var["none"], trace_var


def test_leave_one_out_mean_by_hand():
    returns = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    ids = torch.tensor([[0, 0, 1, 2]])
    valid = torch.ones_like(ids, dtype=torch.bool)
    out = leave_one_out_mean(returns, ids, valid, 3)
    assert out[0].tolist() == pytest.approx([3.5, 3.5, 7 / 3, 2.0])


def test_gradient_noise_by_hand():
    g = torch.tensor([[1.0, 0.0], [3.0, 0.0], [2.0, 3.0]])
    # mean (2, 1); squared deviations 2 + 2 + 4 = 8 over K-1 = 2 -> 4; signal 5; snr 5/(4/3)
    out = gradient_noise(g)
    assert out["grad_var"] == pytest.approx(4.0)
    assert out["grad_snr"] == pytest.approx(3.75)


@pytest.mark.parametrize("make_actor", [
    lambda: CategoricalActor(3, 2, [5], "tanh"),  # the stacked pass (stacked_mlp.py)
    lambda: CategoricalActor(3, 2, [5, 4], "relu"),
    lambda: _gaussian_with_log_std([0.3, -0.5]),
    lambda: TabularSoftmaxActor(2, [0.2, -0.1]),  # the torch.func fallback
])
def test_group_gradients_match_one_backward_per_episode(make_actor):
    torch.manual_seed(0)
    actor = make_actor()
    ids = torch.tensor([0, 1, 0, 2, 1, 1])
    obs, w = torch.randn(6, 3), torch.randn(6)
    actions = torch.tensor([0, 1, 1, 0, 0, 1]) if actor.discrete else torch.randn(6, 2)
    index, mask = episode_groups(ids, 3)
    weights = torch.where(mask, w[index], torch.zeros(()))
    fast = group_gradients(actor, obs[index], actions[index], weights)
    for k in range(3):
        sel = ids == k
        logp, _ = actor(obs[sel], actions[sel])
        grads = torch.autograd.grad(-(logp * w[sel]).sum(), list(actor.parameters()))
        slow = torch.cat([g.reshape(-1) for g in grads])
        assert torch.allclose(fast[k], slow, atol=1e-6)


def _gaussian_with_log_std(log_std: list[float]) -> GaussianActor:
    actor = GaussianActor(3, 2, [5], "tanh")
    with torch.no_grad():
        actor.log_std.copy_(torch.tensor(log_std))
    return actor


def test_a_reference_estimator_measured_in_the_same_pass_matches_its_own_measurement():
    from pgtui.rl.diagnostics import measure

    torch.manual_seed(1)
    actor = CategoricalActor(3, 2, [5], "tanh")
    ids = torch.tensor([0, 1, 0, 2, 1, 1, 2, 0])
    obs, actions = torch.randn(8, 3), torch.randint(0, 2, (8,))
    own, ref = torch.randn(8), torch.randn(8) * 5
    index, mask = episode_groups(ids, 3)
    both = measure(actor, obs, actions, own, index, mask, reference=ref)
    assert both["grad_var"] == pytest.approx(measure(actor, obs, actions, own, index, mask)["grad_var"])
    assert both["grad_var_ref"] == pytest.approx(measure(actor, obs, actions, ref, index, mask)["grad_var"])
