"""The seeds' batched networks compute what each seed's own module would, and their
gradients land in each seed's row."""

import pytest
import torch
from devices import DEVICES
from torch.distributions import Categorical, Normal

from pgtui.rl.envs.registry import EnvInfo
from pgtui.rl.networks import SeedNets, log_prob_entropy
from pgtui.rl.policies import ActorCritic, build_policy

pytestmark = pytest.mark.numerics


def info(discrete: bool, obs_dim: int = 3, act_dim: int = 2) -> EnvInfo:
    return EnvInfo("test", obs_dim, discrete, act_dim, None, None, None, ())


def policies(discrete: bool, activation: str, seeds=(0, 1, 2), tabular=False) -> list[ActorCritic]:
    out = []
    for s in seeds:
        torch.manual_seed(s)
        policy = build_policy(info(discrete), [5, 4], activation, tabular=tabular,
                              init_theta=[0.3, -0.2] if tabular else None)
        with torch.no_grad():  # every parameter away from its init, so that none is zero
            for p in policy.parameters():
                p.add_(torch.randn_like(p) * 0.3)
        out.append(policy)
    return out


def own_forward(policy: ActorCritic, obs: torch.Tensor, actions: torch.Tensor):
    """One seed's log pi(a|s), entropy and V(s) through its own modules and torch.distributions."""
    actor, critic = policy.actor, policy.critic
    if hasattr(actor, "theta"):
        dist = Categorical(logits=actor.theta.expand(len(obs), -1))
        return dist.log_prob(actions), dist.entropy(), critic.v.expand(len(obs))
    head = actor.net(obs)
    if actor.discrete:
        dist = Categorical(logits=head)
        return dist.log_prob(actions), dist.entropy(), critic.net(obs).squeeze(-1)
    dist = Normal(head, actor.log_std.exp().expand_as(head))
    return (dist.log_prob(actions).sum(-1), dist.entropy().sum(-1), critic.net(obs).squeeze(-1))


@pytest.mark.usefixtures("in_float64")  # two paths: the batched products and each module's
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["categorical-tanh", "categorical-relu", "gaussian-tanh", "tabular"])
def test_the_batched_networks_and_their_gradients_equal_each_seeds_own(kind, device):
    discrete, tabular = kind != "gaussian-tanh", kind == "tabular"
    own = policies(discrete, kind.split("-")[-1] if not tabular else "tanh", tabular=tabular)
    nets = SeedNets(own, torch.device(device))
    obs = torch.randn(3, 7, 3)
    actions = torch.randint(0, 2, (3, 7)) if discrete else torch.randn(3, 7, 2)
    weights = torch.randn(3, 7, 3)
    logp, entropy, values = nets.evaluate(obs.to(device), actions.to(device))
    nets.zero_grad()
    (torch.stack([logp, entropy, values], -1) * weights.to(device)).sum().backward()
    for s, policy in enumerate(own):
        mine = own_forward(policy, obs[s], actions[s])
        for got, expected in zip((logp, entropy, values), mine, strict=True):
            torch.testing.assert_close(got[s].cpu(), expected)
        (torch.stack(mine, -1) * weights[s]).sum().backward()
        expected_grad = torch.cat([p.grad.reshape(-1) for p in policy.parameters()])
        torch.testing.assert_close(nets.grad[s].cpu(), expected_grad)  # in the seed's row
        assert nets.state_dict(s).keys() == policy.state_dict().keys()
        for name, value in policy.state_dict().items():
            torch.testing.assert_close(nets.state_dict(s)[name].cpu(), value)


def test_gradients_in_the_parameters_layout_flatten_in_a_rows_order():
    """A wide layer's weight computes as a view of W^T: ``as_rows`` puts its gradient
    back in the row's (out, in) order, as the backward pass fills ``grad``."""
    nets = SeedNets(policies(True, "relu"), torch.device("cpu"))
    assert {how for _, how in nets.actor.linear + nets.critic.linear} == {"wide", "thin", "dot"}
    logp, entropy, values = nets.evaluate(torch.randn(3, 7, 3), torch.randint(0, 2, (3, 7)))
    loss = (logp * 2 + entropy + values).sum()
    grads = torch.autograd.grad(loss, nets.params, retain_graph=True)
    nets.zero_grad()
    loss.backward()
    torch.testing.assert_close(nets.as_rows(list(grads)), nets.grad)
    actor = nets.as_rows(list(grads[:len(nets.actor.shapes)]))
    torch.testing.assert_close(actor, nets.grad[:, :nets.actor_size])


def test_log_prob_and_entropy_match_torch_distributions():
    torch.manual_seed(0)
    logits, actions = torch.randn(50, 3) * 3, torch.randint(0, 3, (50,))
    logp, entropy = log_prob_entropy(logits, actions, None)
    torch.testing.assert_close(logp, Categorical(logits=logits).log_prob(actions))
    torch.testing.assert_close(entropy, Categorical(logits=logits).entropy())
    mean, log_std, x = torch.randn(50, 2), torch.tensor([-0.7, 0.4]), torch.randn(50, 2) * 2
    logp, entropy = log_prob_entropy(mean, x, log_std)
    dist = Normal(mean, log_std.exp().expand_as(mean))
    torch.testing.assert_close(logp, dist.log_prob(x).sum(-1))
    torch.testing.assert_close(entropy, dist.entropy().sum(-1))


def test_sampled_actions_follow_the_policy_and_only_the_listed_seeds_draw():
    own = policies(True, "tanh", seeds=(0, 1))
    for policy in own:  # pi = softmax(0, log 2, log 5)... of a 2-action net: (1/3, 2/3)
        with torch.no_grad():
            for p in policy.actor.parameters():
                p.zero_()
            policy.actor.net[-1].bias.copy_(torch.tensor([1.0, 2.0]).log())
    nets = SeedNets(own, torch.device("cpu"))
    generators = [torch.Generator().manual_seed(3), torch.Generator().manual_seed(4)]
    untouched = generators[0].get_state()
    actions, head = nets.sample(torch.zeros(2, 60_000, 3), generators, [1])
    assert actions.shape == (1, 60_000) and head.shape == (2, 60_000, 2)
    freq = torch.bincount(actions[0], minlength=2) / 60_000.0
    torch.testing.assert_close(freq, torch.tensor([1, 2]) / 3.0, atol=0.006, rtol=0)
    assert torch.equal(generators[0].get_state(), untouched)


def test_a_state_dict_loads_into_its_seeds_row_only():
    own = policies(False, "tanh", seeds=(0, 1))
    nets = SeedNets(own, torch.device("cpu"))
    other = nets.state_dict(1)
    nets.load_state_dict(0, other)
    assert torch.equal(nets.rows[0], nets.rows[1])
    with pytest.raises(ValueError, match="shape"):
        nets.load_state_dict(0, {**other, "actor.log_std": torch.zeros(5)})
