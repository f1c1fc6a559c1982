"""Actor and critic networks.

Actors map observations to a ``torch.distributions`` object: Categorical from logits
for Discrete actions, a diagonal Gaussian with a learned, state-independent log-std for
Box actions, and a tabular softmax (logits are the parameters) for the bandit of the
worked example. ``forward(obs, actions)`` returns (log-prob, entropy), so the same call
serves the update and ``torch.func`` per-group gradients.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Normal
from torch.nn import functional as F

from .envs import EnvInfo

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
_FUNCTIONS = {nn.Tanh: torch.tanh, nn.ReLU: torch.relu}


class MLP(nn.Sequential):
    """Linear layers and activations, called as functions: going through each module's
    ``__call__`` cost about as much as a 64x64 layer's arithmetic at these sizes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            if isinstance(layer, nn.Linear):
                x = F.linear(x, layer.weight, layer.bias)
            else:
                x = _FUNCTIONS[type(layer)](x)
        return x


def mlp(sizes: list[int], activation: str, out_gain: float) -> MLP:
    """Linear layers with orthogonal init; hidden gain sqrt(2), the last ``out_gain``."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        last = i == len(sizes) - 2
        linear = nn.Linear(fan_in, fan_out)
        nn.init.orthogonal_(linear.weight, out_gain if last else math.sqrt(2))
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if not last:
            layers.append(_ACTIVATIONS[activation]())
    return MLP(*layers)


class Actor(nn.Module):
    """Base class: subclasses define ``head(obs)`` (logits, or the Gaussian's mean) and
    ``distribution_from(head)``.

    The hot paths (acting, the losses) work on the head's tensor directly: building a
    ``torch.distributions`` object per call cost more than the network's forward pass.
    """

    discrete: bool

    def head(self, obs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def distribution_from(self, head: torch.Tensor) -> Distribution:
        raise NotImplementedError

    def distribution(self, obs: torch.Tensor) -> Distribution:
        return self.distribution_from(self.head(obs))

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log pi(a|s), entropy of pi(.|s)), one of each per row."""
        return log_prob_entropy(self.head(obs), actions,
                                None if self.discrete else self.log_std)

    def sample(self, obs: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(actions, head): sampled with a private generator so runs in one process never
        share RNG state; ``distribution_from(head)`` gives the distribution if needed."""
        head = self.head(obs)
        if self.discrete:  # inverse CDF: one uniform per row
            u = torch.rand(obs.shape[0], 1, generator=generator, device=obs.device)
            cdf = head.softmax(-1).cumsum(-1)
            action = (cdf < u).sum(-1).clamp_(max=cdf.shape[-1] - 1)
        else:
            noise = torch.randn(head.shape, generator=generator, device=obs.device)
            action = head + self.log_std.exp() * noise
        return action, head


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def log_prob_entropy(head: torch.Tensor, actions: torch.Tensor,
                     log_std: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(log pi(a|s), entropy) from an actor's head: softmax logits when ``log_std`` is
    None, else a diagonal Gaussian's mean (``log_std`` broadcasts against it)."""
    if log_std is None:
        logp, entropy, _ = categorical_terms(head, actions)
        return logp, entropy
    log_std = log_std.expand_as(head)
    z = (actions - head) / log_std.exp()
    logp = -0.5 * z**2 - log_std - _HALF_LOG_2PI  # independent dimensions: summed
    return logp.sum(-1), (0.5 + _HALF_LOG_2PI + log_std).sum(-1)


def categorical_terms(head: torch.Tensor, actions: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(log pi(a|s), entropy, log pi of every action) from softmax logits."""
    logp_all = head.log_softmax(-1)
    logp = logp_all.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
    return logp, -(logp_all.exp() * logp_all).sum(-1), logp_all


def head_gradient(head: torch.Tensor, actions: torch.Tensor, log_std: torch.Tensor | None,
                   logp_all: torch.Tensor | None, entropy: torch.Tensor,
                   grad_logp: torch.Tensor, grad_entropy: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``log_prob_entropy`` backwards, for losses written out by hand: d loss / d head
    (..., B, k), and for a Gaussian d loss / d log-std (..., d) summed over B, given the
    loss's derivatives in each sample's log pi(a|s) and entropy (..., B). A softmax head
    comes with the log-probabilities of all its actions (``categorical_terms``)."""
    if log_std is None:  # softmax: d log p_a = onehot(a) - p; d H = -p (log p + H)
        probs = logp_all.exp()
        grad = probs * (grad_entropy * entropy + grad_logp).unsqueeze(-1).neg()
        grad -= grad_entropy.unsqueeze(-1) * probs * logp_all
        grad.scatter_add_(-1, actions.unsqueeze(-1), grad_logp.unsqueeze(-1))
        return grad, None
    # Gaussian, z = (a - mean) / std: d log pi = z / std d mean + (z^2 - 1) d log-std;
    # the entropy depends on the log-std only, d H = 1 per dimension
    std = log_std.exp()
    z = (actions - head) / std
    grad_log_std = (grad_logp.unsqueeze(-1) * (z * z - 1)).sum(1) + grad_entropy.sum(1, keepdim=True)
    return grad_logp.unsqueeze(-1) * z / std, grad_log_std


class CategoricalActor(Actor):
    discrete = True

    def __init__(self, obs_dim: int, n_actions: int, hidden: list[int], activation: str) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, n_actions], activation, out_gain=0.01)

    def head(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)

    def distribution_from(self, head: torch.Tensor) -> Categorical:
        return Categorical(logits=head, validate_args=False)


class GaussianActor(Actor):
    discrete = False

    def __init__(self, obs_dim: int, act_dim: int, hidden: list[int], activation: str) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, act_dim], activation, out_gain=0.01)
        self.log_std = nn.Parameter(torch.zeros(act_dim))

    def head(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)

    def distribution_from(self, head: torch.Tensor) -> Normal:
        return Normal(head, self.log_std.exp().expand_as(head), validate_args=False)


class TabularSoftmaxActor(Actor):
    """pi(a) = softmax(theta)_a, whatever the observation (a bandit has one state)."""

    discrete = True

    def __init__(self, n_actions: int, init_theta: list[float] | None = None) -> None:
        super().__init__()
        theta = torch.tensor(init_theta, dtype=torch.float32) if init_theta else torch.zeros(n_actions)
        self.theta = nn.Parameter(theta)

    def head(self, obs: torch.Tensor) -> torch.Tensor:
        return self.theta.expand(*obs.shape[:-1], -1)

    def distribution_from(self, head: torch.Tensor) -> Categorical:
        return Categorical(logits=head, validate_args=False)


class Critic(nn.Module):
    def __init__(self, obs_dim: int, hidden: list[int], activation: str) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, 1], activation, out_gain=1.0)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)


class TabularCritic(nn.Module):
    """One learned number: the value of the bandit's only state."""

    def __init__(self) -> None:
        super().__init__()
        self.v = nn.Parameter(torch.zeros(()))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.v.expand(obs.shape[:-1])


class ActorCritic(nn.Module):
    """An actor and a separate critic (no shared trunk, so baselines never leak into pi)."""

    def __init__(self, actor: Actor, critic: nn.Module) -> None:
        super().__init__()
        self.actor, self.critic = actor, critic


def build_policy(info: EnvInfo, hidden: list[int], activation: str, tabular: bool,
                 init_theta: list[float] | None = None) -> ActorCritic:
    if tabular:
        if not info.discrete:
            raise ValueError("a tabular softmax policy needs a Discrete action space")
        return ActorCritic(TabularSoftmaxActor(info.act_dim, init_theta), TabularCritic())
    if info.discrete:
        actor: Actor = CategoricalActor(info.obs_dim, info.act_dim, hidden, activation)
    else:
        actor = GaussianActor(info.obs_dim, info.act_dim, hidden, activation)
    return ActorCritic(actor, Critic(info.obs_dim, hidden, activation))


def action_summary(actor: Actor, obs, device: torch.device | str = "cpu") -> tuple[float, ...]:
    """pi(.|obs) for a discrete actor, or (mean..., std...) for a Gaussian one."""
    with torch.no_grad():
        dist = actor.distribution(torch.as_tensor(obs, dtype=torch.float32, device=device)[None])
    if actor.discrete:
        return tuple(float(p) for p in dist.probs[0])
    return tuple(float(v) for v in torch.cat([dist.mean[0], dist.stddev[0]]))


def env_action(actor: Actor, obs, info: EnvInfo, generator: torch.Generator,
               device: torch.device | str = "cpu"):
    """One sampled env action for one observation; a Box action is clipped to bounds."""
    with torch.no_grad():
        action, _ = actor.sample(torch.as_tensor(obs, dtype=torch.float32, device=device)[None],
                                 generator)
    action = action[0].cpu().numpy()
    if not info.discrete:
        return action.clip(info.action_low, info.action_high)
    return int(action)
