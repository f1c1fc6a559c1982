"""The REINFORCE estimator against an exactly computable gradient, and the noise meters.

On a 3-armed bandit with a softmax policy, J(theta) = sum_a pi_a mu_a and
grad J = pi * (mu - J) exactly. The mean of many batch estimates must match it for
every baseline, and a baseline must cut the variance.
"""

import pytest
import torch
from numerics import GAP, tensor_gap

from pgtui.config import Config
from pgtui.rl.algos.actor_critic import _ppo_stats, actor_critic_loss, rollout_noise
from pgtui.rl.algos.diagnostics import episode_groups, gradient_noise, group_gradients, measure, random_groups
from pgtui.rl.algos.reinforce import (
    episode_returns,
    leave_one_out_mean,
    optimal_baseline,
    reinforce_loss,
    start_groups,
)
from pgtui.rl.algos.returns import normalize
from pgtui.rl.algos.samples import Samples, pack
from pgtui.rl.networks import SeedNets
from pgtui.rl.policies import (
    ActorCritic,
    CategoricalActor,
    Critic,
    GaussianActor,
    TabularCritic,
    TabularSoftmaxActor,
)
from pgtui.rl.rollout import Batch

# the file's estimates are drawn once
pytestmark = [pytest.mark.xdist_group("estimators"), pytest.mark.numerics]

MU = torch.tensor([1.0, 2.0, 4.0])
NOISE = 1.0
THETA = [0.5, -0.3, 0.1]
K = 8  # episodes per batch
REPLICATES = 2000


def exact_gradient():
    pi = torch.softmax(torch.tensor(THETA), 0)
    return pi * (MU - (pi * MU).sum()), float((pi * MU).sum())


def bandit_batch(nets, gen):
    """K one-step episodes, one per env: (T, S, N) = (1, 1, K)."""
    pi = torch.softmax(nets.state_dict(0)["actor.theta"], 0)
    actions = torch.multinomial(pi, K, replacement=True, generator=gen)
    rewards = MU[actions] + NOISE * torch.randn(K, generator=gen)
    ones = torch.ones(1, 1, K, dtype=torch.bool)
    return Batch([0], obs=torch.zeros(1, 1, K, 1), actions=actions.view(1, 1, K),
                 rewards=rewards.view(1, 1, K), terminated=ones, dones=ones, valid=ones,
                 episode_ids=torch.arange(K).view(1, 1, K), num_episodes=torch.tensor([K]))


def estimates(baseline):
    _, J = exact_gradient()
    critic = TabularCritic()
    with torch.no_grad():
        critic.v.fill_(J)  # the value baseline: V(s) = J, the optimal constant
    nets = SeedNets([ActorCritic(TabularSoftmaxActor(3, THETA), critic)], torch.device("cpu"))
    config = Config(baseline=baseline, normalize_advantage=False, gamma=1.0)
    gen = torch.Generator().manual_seed(123)
    out = []
    for _ in range(REPLICATES):
        batch = bandit_batch(nets, gen)
        samples = pack(batch, episode_returns(batch, config), batch.episode_ids)
        _, parts = reinforce_loss(nets, nets.params, samples, *samples.targets,
                                  batch.num_episodes.float(), config)
        (grad,) = torch.autograd.grad(-parts["policy_loss"].sum(), nets.params[0])
        out.append(grad[0, 0])
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
    returns = torch.tensor([[1.0, 2.0, 3.0, 4.0, 9.0], [5.0, 7.0, 0.0, 0.0, 0.0]])
    ids = torch.tensor([[0, 0, 1, 2, 0], [0, 1, 0, 0, 0]])
    mask = torch.tensor([[True] * 4 + [False], [True, True, False, False, False]])
    out = leave_one_out_mean(returns, ids, mask, 3)  # two seeds: each keeps to its own episodes
    assert out[0, :4].tolist() == pytest.approx([3.5, 3.5, 7 / 3, 2.0])
    assert out[1, :2].tolist() == pytest.approx([7.0, 5.0])


def test_gradient_noise_by_hand():
    g = torch.tensor([[1.0, 0.0], [3.0, 0.0], [2.0, 3.0]])
    # mean (2, 1); squared deviations 2 + 2 + 4 = 8 over K-1 = 2 -> 4; signal 5; snr 5/(4/3)
    out = gradient_noise(g[None])[0]
    assert out["grad_var"] == pytest.approx(4.0)
    assert out["grad_snr"] == pytest.approx(3.75)


def _nets(actor) -> SeedNets:
    critic = TabularCritic() if isinstance(actor, TabularSoftmaxActor) else Critic(3, [4], "tanh")
    return SeedNets([ActorCritic(actor, critic)], torch.device("cpu"))


def _actor_gradient(nets, obs, actions, w):
    """One backward pass of -sum w log pi into a copy of the seed's row: the slow way,
    in the row's own order."""
    rows = nets.rows.detach().clone().requires_grad_()
    logp, _, _ = nets.evaluate(obs[None], actions[None], nets.views_of(rows))
    (grad,) = torch.autograd.grad(-(logp[0] * w).sum(), rows)
    return grad[0, :nets.actor_size]


@pytest.mark.usefixtures("in_float64")  # two paths: one batched pass and a backward per group
@pytest.mark.parametrize("make_actor", [
    lambda: CategoricalActor(3, 2, [5], "tanh"),
    lambda: CategoricalActor(3, 2, [5, 4], "relu"),
    lambda: _gaussian_with_log_std([0.3, -0.5]),
    lambda: TabularSoftmaxActor(2, [0.2, -0.1]),
])
def test_group_gradients_match_one_backward_per_episode(make_actor):
    torch.manual_seed(0)
    actor = make_actor()
    nets = _nets(actor)
    ids = torch.tensor([[0, 1, 0, 2, 1, 1]])
    obs, w = torch.randn(6, 3), torch.randn(6)
    actions = torch.tensor([0, 1, 1, 0, 0, 1]) if actor.discrete else torch.randn(6, 2)
    index, mask = episode_groups(ids, torch.ones_like(ids, dtype=torch.bool), 3)
    index, mask = index[0], mask[0]
    weights = torch.where(mask, w[index], torch.zeros(()))
    fast = group_gradients(nets, [p.detach().expand(3, *p.shape[1:]) for p in nets.params],
                           obs[index], actions[index], weights)
    for k in range(3):
        sel = ids[0] == k
        assert tensor_gap(fast[k], _actor_gradient(nets, obs[sel], actions[sel], w[sel])) < GAP


def _gaussian_with_log_std(log_std: list[float]) -> GaussianActor:
    actor = GaussianActor(3, 2, [5], "tanh")
    with torch.no_grad():
        actor.log_std.copy_(torch.tensor(log_std))
    return actor


@pytest.mark.usefixtures("in_float64")
def test_the_diagnostics_match_a_brute_force_loop_over_seeds_and_groups():
    """``measure`` for two seeds with different episodes, and a paired reference
    estimator in the same pass, against one backward pass per (seed, episode)."""
    torch.manual_seed(1)
    own = []
    for s in range(2):
        torch.manual_seed(s)
        own.append(ActorCritic(CategoricalActor(3, 2, [5], "tanh"), Critic(3, [4], "tanh")))
    nets = SeedNets(own, torch.device("cpu"))
    ids = torch.tensor([[0, 1, 0, 2, 1, 1, 2, 0], [0, 0, 1, 1, 0, 0, 0, 0]])
    mask = torch.tensor([[True] * 8, [True] * 4 + [False] * 4])  # seed 1: two episodes
    obs, actions = torch.randn(2, 8, 3), torch.randint(0, 2, (2, 8))
    own_w, ref_w = torch.randn(2, 8), torch.randn(2, 8) * 5

    class Steps:
        pass

    samples = Steps()
    samples.obs, samples.actions = obs, actions
    index, group_mask = episode_groups(ids, mask, 3)
    stats = measure(nets, nets.params, samples, own_w, index, group_mask, reference=ref_w)
    for s, groups in ((0, 3), (1, 2)):
        single = SeedNets([own[s]], torch.device("cpu"))
        for weights, key in ((own_w, "grad_var"), (ref_w, "grad_var_ref")):
            slow = torch.stack([_actor_gradient(single, obs[s][(ids[s] == k) & mask[s]],
                                                actions[s][(ids[s] == k) & mask[s]],
                                                weights[s][(ids[s] == k) & mask[s]])
                                for k in range(groups)])
            mean = slow.mean(0)
            expected = float(((slow - mean) ** 2).sum() / (groups - 1))
            assert stats[s][key] == pytest.approx(expected, rel=GAP)


def test_reinforce_weighs_each_steps_entropy_as_its_policy_term():
    """Two episodes, of 3 steps and 1: the bonus is ent_coef * (3 + 1) * H / K with
    K = 2, twice the per-step mean. Before, it was the mean, one episode length weaker
    than the policy term it pulls against."""
    nets = SeedNets([ActorCritic(TabularSoftmaxActor(3, THETA), TabularCritic())],
                    torch.device("cpu"))
    valid = torch.tensor([[True, True], [True, False], [True, False]]).view(3, 1, 2)
    ends = torch.tensor([[False, True], [False, True], [True, True]]).view(3, 1, 2)
    batch = Batch([0], obs=torch.zeros(3, 1, 2, 1), actions=torch.tensor([0, 1, 2, 0, 1, 0]).view(3, 1, 2),
                  rewards=torch.ones(3, 1, 2), terminated=ends & valid, dones=ends, valid=valid,
                  episode_ids=torch.tensor([0, 1, 0, -1, 0, -1]).view(3, 1, 2),
                  num_episodes=torch.tensor([2]))
    pi = torch.softmax(torch.tensor(THETA), 0)
    H = float(-(pi * pi.log()).sum())
    losses = {}
    for c in (0.0, 0.3):
        config = Config(baseline="none", normalize_advantage=False, gamma=1.0, ent_coef=c, vf_coef=0.0)
        samples = pack(batch, episode_returns(batch, config), batch.episode_ids)
        losses[c], parts = reinforce_loss(nets, nets.params, samples, *samples.targets,
                                          batch.num_episodes.float(), config)
    assert float((losses[0.3] - losses[0.0]).detach()) == pytest.approx(-0.3 * 4 * H / 2, rel=1e-6)
    assert float(parts["entropy"].detach()) == pytest.approx(H, rel=1e-6)  # the figure shown: per step


@pytest.mark.usefixtures("in_float64")
@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_rollout_diagnostics_measure_the_gradient_the_update_takes(algo):
    """PPO normalizes each minibatch's advantages, A2C the whole rollout's: each
    diagnostic group's gradient is the policy loss's gradient on that slice as the
    update normalizes it (PPO: its first step, where the ratio is 1)."""
    torch.manual_seed(3)
    nets = SeedNets([ActorCritic(CategoricalActor(3, 2, [5], "tanh"), Critic(3, [4], "tanh"))],
                    torch.device("cpu"))
    n = 64
    obs, actions, adv = torch.randn(1, n, 3), torch.randint(0, 2, (1, n)), 3 + 2 * torch.randn(1, n)
    samples = Samples(torch.ones(1, n, dtype=torch.bool), torch.tensor([n]), True, obs, actions,
                      [adv, adv, adv])
    config = Config(algo=algo, normalize_advantage=True, ent_coef=0.0, vf_coef=0.0)
    stats = rollout_noise(nets, nets.params, samples, config, [torch.Generator().manual_seed(9)])
    index, _ = random_groups(samples.count, [torch.Generator().manual_seed(9)])
    whole = normalize(adv, None)[0]
    grads = []
    for group in index[0]:
        params = [p.detach().clone().requires_grad_() for p in nets.params]
        logp, entropy, values = nets.evaluate(obs[:, group], actions[:, group], params)
        a = normalize(adv[:, group], None) if algo == "ppo" else whole[group].unsqueeze(0)
        old = logp.detach() if algo == "ppo" else None
        _, _, parts = actor_critic_loss(logp, entropy, values, a, values.detach(), None, config, old)
        actor = params[:len(nets.actor.shapes)]
        grads.append(torch.cat([g.flatten() for g in torch.autograd.grad(parts[0, 0], actor)]))
    slow = torch.stack(grads)
    expected = float(((slow - slow.mean(0)) ** 2).sum() / (len(slow) - 1))
    assert stats[0]["grad_var"] == pytest.approx(expected, rel=GAP)


def test_ppo_reports_approx_kl_over_each_seeds_last_epoch():
    """Two epochs of one minibatch of 4 samples; seed 1 stopped after the first. The
    first epoch's log-ratios of seed 0 are 0 (the policy has not moved yet): a mean over
    every epoch would halve what its last epoch measured."""
    x1 = torch.tensor([0.1, -0.2, 0.3, 0.0])
    k3 = lambda x: float(((x.exp() - 1) - x).mean())  # noqa: E731
    ones, none = torch.ones(4, dtype=torch.bool), torch.zeros(4, dtype=torch.bool)
    records = [
        (torch.zeros(2, 3), torch.stack([torch.zeros(4), x1 / 2]), torch.stack([ones, ones]),
         torch.ones(2, 2), torch.tensor([True, True]), 0),
        (torch.zeros(2, 3), torch.stack([x1, torch.zeros(4)]), torch.stack([ones, none]),
         torch.ones(2, 2), torch.tensor([True, False]), 1),
    ]
    samples = Samples(torch.ones(2, 4, dtype=torch.bool), torch.tensor([4, 4]), True,
                      torch.zeros(2, 4, 1), torch.zeros(2, 4), [])
    stats = _ppo_stats(records, [True, False], torch.zeros(2, 4), torch.ones(2, 4), samples, 0.2)
    assert stats[0]["approx_kl"] == pytest.approx(k3(x1))
    assert stats[1]["approx_kl"] == pytest.approx(k3(x1 / 2))  # its last epoch: the first
    assert stats[0]["early_stop"] == 0.0 and stats[1]["early_stop"] == 1.0


def test_leave_one_out_mean_keeps_to_episodes_that_began_in_the_same_state():
    # episodes 0 and 2 began in one state, 1 in another: 0 and 2 are each other's
    # baseline; 1, alone in its state, takes the mean of every other episode
    returns = torch.tensor([[1.0, 1.0, 4.0, 10.0]])
    ids = torch.tensor([[0, 0, 1, 2]])
    mask = torch.ones_like(ids, dtype=torch.bool)
    obs = torch.tensor([[[0.0], [0.5], [1.0], [0.0]]])
    groups = start_groups(obs, ids, mask, 3)
    assert groups[0, 0] == groups[0, 2] != groups[0, 1]
    out = leave_one_out_mean(returns, ids, mask, 3, groups)
    assert out.tolist() == [[10.0, 10.0, 4.0, 1.0]]  # 1: (1 + 1 + 10) / 3 = 4


def test_optimal_baseline_by_hand_leaves_each_episode_out():
    # three episodes, interleaved steps; |v|^2 = 1, 2, 3 and u . v = 10, 40, 120 (the
    # whole return G = 10, 20, 40 on every step gives u . v = G |v|^2)
    ids = torch.tensor([[0, 1, 0, 2, 2]])
    mask = torch.ones_like(ids, dtype=torch.bool)
    terms = torch.tensor([[[10.0, 1.0], [40.0, 2.0], [120.0, 3.0]]])
    b = optimal_baseline(ids, mask, terms)
    # 0: (40 + 120) / 5 = 32; 1: (10 + 120) / 4 = 32.5; 2: (10 + 40) / 3
    assert b[0].tolist() == pytest.approx([32.0, 32.5, 32.0, 50 / 3, 50 / 3])


def test_episode_score_terms_by_autograd_episode_by_episode():
    from pgtui.rl.algos.reinforce import episode_score_terms
    from pgtui.rl.trainer import Trainer

    config = Config(env="CartPole-v1", algo="reinforce", num_envs=4, episodes_per_update=6)
    trainer = Trainer(config, seeds=[0, 1])
    batch = trainer.collector.episodes(trainer.nets, 6, [0, 1])
    nets = trainer.nets
    samples = pack(batch, episode_returns(batch, config), batch.episode_ids)
    returns, ids = samples.targets
    K = int(batch.num_episodes.max())
    terms = episode_score_terms(nets, nets.select([0, 1]), samples, ids, K, returns)
    A = len(nets.actor.shapes)
    for s in range(2):
        for k in range(int(batch.num_episodes[s])):
            steps = samples.mask[s] & (ids[s] == k)
            flat = []
            for weights in (torch.ones(int(steps.sum())), returns[s, steps]):
                copies = [p[s:s + 1].detach().clone().requires_grad_() for p in nets.params]
                logp, _, _ = nets.evaluate(samples.obs[s:s + 1, steps],
                                           samples.actions[s:s + 1, steps], copies, critic=False)
                grads = torch.autograd.grad((logp[0] * weights).sum(), copies[:A])
                flat.append(torch.cat([g.reshape(-1) for g in grads]))
            v, u = flat
            assert float(terms[s, k, 0]) == pytest.approx(float(u @ v), rel=1e-4)
            assert float(terms[s, k, 1]) == pytest.approx(float(v @ v), rel=1e-4)
