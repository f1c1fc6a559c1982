"""Actor and critic networks: their architecture and initial weights.

Actors: softmax logits for Discrete actions, a diagonal Gaussian's mean with a learned,
state-independent log-std for Box actions, a tabular softmax (the logits are the
parameters) for the bandit of the worked example, and SAC's tanh-squashed Gaussian
(mean and log-std both from the network) beside twin Q(s, a) critics. A run does not call these modules:
it stacks their parameters as its seeds' rows and evaluates them all at once
(``networks.py``). They define what a row holds and how it starts, and their
``state_dict`` layout is a checkpoint's.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from ..config import Config
from .envs.registry import EnvInfo

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def mlp(sizes: list[int], activation: str, out_gain: float) -> nn.Sequential:
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
    return nn.Sequential(*layers)


class CategoricalActor(nn.Module):
    discrete = True

    def __init__(self, obs_dim: int, n_actions: int, hidden: list[int], activation: str) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, n_actions], activation, out_gain=0.01)


class QNetwork(nn.Module):
    """DQN's network, in the actor's place: Q(s, a) for each action."""

    discrete = True

    def __init__(self, obs_dim: int, n_actions: int, hidden: list[int], activation: str) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, n_actions], activation, out_gain=1.0)


class GaussianActor(nn.Module):
    discrete = False

    def __init__(self, obs_dim: int, act_dim: int, hidden: list[int], activation: str) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, act_dim], activation, out_gain=0.01)
        self.log_std = nn.Parameter(torch.zeros(act_dim))


class SquashedGaussianActor(nn.Module):
    """SAC's actor: one MLP whose output is a Gaussian's mean and log-std, (mean, log_std)
    per action dimension; the action is tanh of a draw, scaled to the env's bounds. It
    also holds log alpha, the entropy temperature (alpha = 1 at the start), which steps
    with the policy whose entropy it prices."""

    discrete = False

    def __init__(self, obs_dim: int, act_dim: int, hidden: list[int], activation: str) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, 2 * act_dim], activation, out_gain=0.01)
        self.log_alpha = nn.Parameter(torch.zeros(1))


class EnsembleLinear(nn.Module):
    """``k`` Linear layers of one shape side by side: weight (k, out, in), bias (k, out)."""

    def __init__(self, k: int, fan_in: int, fan_out: int, gain: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(k, fan_out, fan_in))
        self.bias = nn.Parameter(torch.zeros(k, fan_out))
        for w in self.weight.data:
            nn.init.orthogonal_(w, gain)


class TwinQ(nn.Module):
    """SAC's two critics Q1(s, a), Q2(s, a), one ensemble of width 2: each layer of both
    is one batched product (``networks.SeedNets.q_values``)."""

    ensemble = 2

    def __init__(self, obs_dim: int, act_dim: int, hidden: list[int], activation: str) -> None:
        super().__init__()
        sizes = [obs_dim + act_dim, *hidden, 1]
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            last = i == len(sizes) - 2
            layers.append(EnsembleLinear(self.ensemble, fan_in, fan_out, 1.0 if last else math.sqrt(2)))
            if not last:
                layers.append(_ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)


class TabularSoftmaxActor(nn.Module):
    """pi(a) = softmax(theta)_a, whatever the observation (a bandit has one state)."""

    discrete = True

    def __init__(self, n_actions: int, init_theta: list[float] | None = None) -> None:
        super().__init__()
        theta = torch.tensor(init_theta) if init_theta else torch.zeros(n_actions)
        self.theta = nn.Parameter(theta)


class Critic(nn.Module):
    def __init__(self, obs_dim: int, hidden: list[int], activation: str) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, 1], activation, out_gain=1.0)


class TabularCritic(nn.Module):
    """One learned number: the value of the bandit's only state."""

    def __init__(self) -> None:
        super().__init__()
        self.v = nn.Parameter(torch.zeros(()))


class ActorCritic(nn.Module):
    """An actor and a separate critic (no shared trunk, so baselines never leak into pi)."""

    def __init__(self, actor: nn.Module, critic: nn.Module) -> None:
        super().__init__()
        self.actor, self.critic = actor, critic


#: what a learner's networks are: an actor and V(s) ("actor_critic"), DQN's Q-network
#: ("q"), or SAC's squashed Gaussian and twin Q(s, a) ("squashed")
NETWORKS = ("actor_critic", "q", "squashed")


def build_policy(info: EnvInfo, hidden: list[int], activation: str, tabular: bool,
                 init_theta: list[float] | None = None, networks: str = "actor_critic") -> ActorCritic:
    """An actor and a critic; for ``networks = "q"`` (DQN) a Q-network and an unused
    one-number critic, so that the rows hold nothing the optimizer would step for nought."""
    if networks == "squashed":
        if info.discrete:
            raise ValueError("a squashed Gaussian needs a Box action space")
        return ActorCritic(SquashedGaussianActor(info.obs_dim, info.act_dim, hidden, activation),
                           TwinQ(info.obs_dim, info.act_dim, hidden, activation))
    if networks == "q":
        if not info.discrete:
            raise ValueError("a Q-network needs a Discrete action space")
        return ActorCritic(QNetwork(info.obs_dim, info.act_dim, hidden, activation), TabularCritic())
    if tabular:
        if not info.discrete:
            raise ValueError("a tabular softmax policy needs a Discrete action space")
        return ActorCritic(TabularSoftmaxActor(info.act_dim, init_theta), TabularCritic())
    if info.discrete:
        actor: nn.Module = CategoricalActor(info.obs_dim, info.act_dim, hidden, activation)
    else:
        actor = GaussianActor(info.obs_dim, info.act_dim, hidden, activation)
    return ActorCritic(actor, Critic(info.obs_dim, hidden, activation))


def policy_for(config: Config, info: EnvInfo, networks: str) -> ActorCritic:
    """The architecture ``config`` asks for, on ``info``'s spaces (initialized from torch's
    global generator: seed it first)."""
    return build_policy(info, config.hidden_sizes, config.activation, tabular=config.policy == "tabular",
                        init_theta=config.init_theta, networks=networks)


def seeded_policies(config: Config, info: EnvInfo, init_seeds: list[int], networks: str
                    ) -> list[ActorCritic]:
    """One policy per seed, each initialized from its own seed (torch's global generator
    is left as it was)."""
    policies = []
    for seed in init_seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            policies.append(policy_for(config, info, networks))
    return policies
