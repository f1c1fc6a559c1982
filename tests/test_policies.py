"""The actors' fast paths agree with ``torch.distributions`` on the same numbers."""

import torch

from pgtui.rl.policies import CategoricalActor, GaussianActor


def test_categorical_log_prob_and_entropy_match_torch_distributions():
    torch.manual_seed(0)
    actor = CategoricalActor(obs_dim=4, n_actions=3, hidden=[16], activation="tanh")
    obs, actions = torch.randn(50, 4) * 3, torch.randint(0, 3, (50,))
    logp, entropy = actor(obs, actions)
    dist = actor.distribution(obs)
    torch.testing.assert_close(logp, dist.log_prob(actions))
    torch.testing.assert_close(entropy, dist.entropy())


def test_gaussian_log_prob_and_entropy_match_torch_distributions():
    torch.manual_seed(0)
    actor = GaussianActor(obs_dim=3, act_dim=2, hidden=[16], activation="tanh")
    with torch.no_grad():
        actor.log_std.copy_(torch.tensor([-0.7, 0.4]))
    obs, actions = torch.randn(50, 3), torch.randn(50, 2) * 2
    logp, entropy = actor(obs, actions)
    dist = actor.distribution(obs)
    torch.testing.assert_close(logp, dist.log_prob(actions).sum(-1))
    torch.testing.assert_close(entropy, dist.entropy().sum(-1))


def test_sampled_actions_follow_the_policy():
    actor = CategoricalActor(obs_dim=1, n_actions=3, hidden=[4], activation="tanh")
    with torch.no_grad():  # pi = softmax(0, log 2, log 5) = (1/8, 2/8, 5/8) in every state
        for p in actor.parameters():
            p.zero_()
        actor.net[-1].bias.copy_(torch.tensor([0.0, 2.0, 5.0]).log().nan_to_num(neginf=0.0))
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        actions, _ = actor.sample(torch.zeros(80_000, 1), generator)
    freq = torch.bincount(actions, minlength=3) / 80_000.0
    torch.testing.assert_close(freq, torch.tensor([1, 2, 5]) / 8.0, atol=0.006, rtol=0)
