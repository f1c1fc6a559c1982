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
from pgtui.rl.algorithms import reinforce_weights
from pgtui.rl.diagnostics import episode_groups, gradient_noise, group_gradients
from pgtui.rl.envs import describe, make_vec_env
from pgtui.rl.policies import build_policy
from pgtui.rl.rollout import Collector


def episode_pool(policy, info, envs, episodes, seed):
    collector = Collector(envs, info, policy, torch.device("cpu"),
                          torch.Generator().manual_seed(seed), seed=seed)
    with torch.no_grad():
        return collector.collect_episodes(episodes)


def fit_critic(policy, batch, config, steps=400):
    returns, _ = reinforce_weights(batch, torch.zeros_like(batch.rewards), config)
    obs, target = batch.obs[batch.valid], returns[batch.valid]
    optimizer = torch.optim.Adam(policy.critic.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = ((policy.critic(obs) - target) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def per_episode_gradients(policy, batch, config):
    with torch.no_grad():
        values = policy.critic(batch.obs)
    _, weights = reinforce_weights(batch, values, config)
    valid = batch.valid
    index, mask = episode_groups(batch.episode_ids[valid], batch.num_episodes)
    w = torch.where(mask, weights[valid][index], torch.zeros(()))
    return group_gradients(policy.actor, batch.obs[valid][index], batch.actions[valid][index], w)


def test_value_baseline_keeps_the_mean_gradient_and_cuts_the_variance():
    torch.manual_seed(7)
    envs = make_vec_env("CartPole-v1", 64)
    info = describe(envs)
    policy = build_policy(info, [32, 32], "tanh", tabular=False)
    none = Config(algo="reinforce", baseline="none", normalize_advantage=False, gamma=0.99)
    value = Config(algo="reinforce", baseline="value", normalize_advantage=False, gamma=0.99)

    fit_critic(policy, episode_pool(policy, info, envs, 1500, seed=1), none)
    test_pool = episode_pool(policy, info, envs, 3000, seed=2)
    g_none = per_episode_gradients(policy, test_pool, none)
    g_value = per_episode_gradients(policy, test_pool, value)
    envs.close()

    assert g_none.shape == g_value.shape and g_none.shape[0] == 3000
    # the same expected gradient: the sample means point the same way and agree in length
    mean_none, mean_value = g_none.mean(0), g_value.mean(0)
    assert cosine_similarity(mean_none, mean_value, dim=0) > 0.97
    assert abs(mean_value.norm() / mean_none.norm() - 1) < 0.1
    # ... from an estimator with a far smaller total variance (the grad_var meter)
    var_none = gradient_noise(g_none)["grad_var"]
    var_value = gradient_noise(g_value)["grad_var"]
    assert var_value < var_none / 2  # 2.7x here
    # significant, not luck: every one of 10 disjoint blocks of 300 episodes agrees
    for block_none, block_value in zip(g_none.split(300), g_value.split(300), strict=True):
        assert gradient_noise(block_value)["grad_var"] < gradient_noise(block_none)["grad_var"] / 2
