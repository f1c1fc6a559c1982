"""The lessons' claim on CartPole itself: a learned value baseline keeps the expected
policy gradient and cuts its variance.

The policy's weights are fixed. A critic is fitted to reward-to-go returns on one pool
of episodes; on a second, independent pool every episode's gradient is computed with
and without the baseline (the same episodes for both, so the comparison is paired),
with the same per-episode gradients the playground's grad_var meter uses.
"""

import torch
from torch.nn.functional import cosine_similarity

from pgtui.config import Config
from pgtui.rl.algos.diagnostics import episode_groups, gradient_noise, group_gradients
from pgtui.rl.algos.reinforce import episode_returns, reinforce_advantages
from pgtui.rl.algos.samples import pack
from pgtui.rl.envs.registry import describe, make_vec_env
from pgtui.rl.networks import SeedNets
from pgtui.rl.policies import build_policy
from pgtui.rl.rollout import Collector


def episode_pool(nets, info, envs, episodes, seed):
    collector = Collector([envs], info, torch.device("cpu"), [torch.Generator().manual_seed(seed)],
                          reset_seeds=[seed])
    return collector.episodes(nets, episodes, [0])


def fit_critic(nets, batch, config, steps=400):
    samples = pack(batch, episode_returns(batch, config))
    obs, target = samples.obs, samples.targets[0]
    critic = nets.params[len(nets.actor.shapes):]
    optimizer = torch.optim.Adam(critic, lr=1e-2)
    for _ in range(steps):
        loss = ((nets.values(obs) - target) ** 2).mean()
        nets.zero_grad()
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def per_episode_gradients(nets, batch, config):
    samples = pack(batch, episode_returns(batch, config), batch.episode_ids)
    returns, ids = samples.targets
    with torch.no_grad():
        values = nets.values(samples.obs)
    num = int(batch.num_episodes[0])
    weights = reinforce_advantages(returns, values, samples, ids, num, config)
    index, mask = (x[0] for x in episode_groups(ids, samples.mask, num))
    w = torch.where(mask, weights[0][index], torch.zeros(()))
    params = [p.detach().expand(num, *p.shape[1:]) for p in nets.params]
    return group_gradients(nets, params, samples.obs[0][index], samples.actions[0][index], w)


def _noise(g):
    return gradient_noise(g[None])[0]["grad_var"]


def test_value_baseline_keeps_the_mean_gradient_and_cuts_the_variance():
    torch.manual_seed(7)
    envs = make_vec_env("CartPole-v1", 64)
    info = describe(envs)
    nets = SeedNets([build_policy(info, [32, 32], "tanh", tabular=False)], torch.device("cpu"))
    none = Config(algo="reinforce", baseline="none", normalize_advantage=False, gamma=0.99)
    value = Config(algo="reinforce", baseline="value", normalize_advantage=False, gamma=0.99)

    fit_critic(nets, episode_pool(nets, info, envs, 1500, seed=1), none)
    test_pool = episode_pool(nets, info, envs, 3000, seed=2)
    g_none = per_episode_gradients(nets, test_pool, none)
    g_value = per_episode_gradients(nets, test_pool, value)
    envs.close()

    assert g_none.shape == g_value.shape and g_none.shape[0] == 3000
    # the same expected gradient: the sample means point the same way and agree in length
    mean_none, mean_value = g_none.mean(0), g_value.mean(0)
    assert cosine_similarity(mean_none, mean_value, dim=0) > 0.97
    assert abs(mean_value.norm() / mean_none.norm() - 1) < 0.1
    # ... from an estimator with a far smaller total variance (the grad_var meter)
    var_none, var_value = _noise(g_none), _noise(g_value)
    assert var_value < var_none / 2  # 2.7x here
    # significant, not luck: every one of 10 disjoint blocks of 300 episodes agrees
    for block_none, block_value in zip(g_none.split(300), g_value.split(300), strict=True):
        assert _noise(block_value) < _noise(block_none) / 2
