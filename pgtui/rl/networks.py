"""The seeds' networks as rows of one tensor, evaluated as one batched network.

A run has S seeds (S = 1 for a single run). Row s of ``SeedNets.rows`` (S, P) holds
seed s's actor parameters, then its critic's, in ``ActorCritic.named_parameters()``
order. It is one leaf tensor: one backward pass fills every seed's gradient, one norm
per row clips it and one optimizer step moves every seed (``optim.py``). A forward
pass splits the rows into layers (one ``split``; its backward is one ``cat``) and runs
each Linear as one ``baddbmm`` over the seeds. Autograd differentiates all of it.

Measured against the alternatives (64x64 MLP, 256 samples a seed, one thread):
``vmap(functional_call)`` costs the same at 8 seeds and 1.5-2x more at one; an
``nn.Module`` for one seed costs the same as a row of one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .policies import ActorCritic, TabularCritic, TabularSoftmaxActor

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def log_prob_entropy(head: torch.Tensor, actions: torch.Tensor,
                     log_std: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(log pi(a|s), entropy of pi(.|s)) from an actor's output: softmax logits when
    ``log_std`` is None, else a diagonal Gaussian's mean (``log_std`` broadcasts
    against it). Written on the tensors: a ``torch.distributions`` object per call cost
    more than the network's forward pass (``tests/test_networks.py`` compares them)."""
    if log_std is None:
        logp_all = head.log_softmax(-1)
        logp = logp_all.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        return logp, -(logp_all.exp() * logp_all).sum(-1)
    log_std = log_std.expand_as(head)
    z = (actions - head) / log_std.exp()
    logp = -0.5 * z**2 - log_std - _HALF_LOG_2PI  # independent dimensions: summed
    return logp.sum(-1), (0.5 + _HALF_LOG_2PI + log_std).sum(-1)


@dataclass(frozen=True)
class Layout:
    """What a module's parameters are, in order: names, shapes, and how they compute."""

    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]
    tabular: bool  # one parameter that is the output itself (softmax logits, or V)
    relu: bool  # hidden activation of an MLP, else tanh
    log_std: int | None  # which parameter is a Gaussian actor's log-std

    @classmethod
    def of(cls, module: nn.Module, prefix: str) -> Layout:
        named = list(module.named_parameters())
        tabular = isinstance(module, (TabularSoftmaxActor, TabularCritic))
        relu = any(isinstance(m, nn.ReLU) for m in module.modules())
        return cls(tuple(f"{prefix}.{n}" for n, _ in named), tuple(p.shape for _, p in named),
                   tabular, relu, next((i for i, (n, _) in enumerate(named) if n == "log_std"), None))

    @property
    def sizes(self) -> list[int]:
        return [s.numel() for s in self.shapes]


class SeedNets:
    """S seeds' actors and critics of one architecture (see the module docstring)."""

    def __init__(self, policies: list[ActorCritic], device: torch.device) -> None:
        template = policies[0]
        self.actor = Layout.of(template.actor, "actor")
        self.critic = Layout.of(template.critic, "critic")
        self.discrete = template.actor.discrete
        self.actor_size = sum(self.actor.sizes)
        with torch.no_grad():
            rows = torch.stack([torch.cat([p.reshape(-1) for p in policy.parameters()])
                                for policy in policies])
        self.rows = rows.to(device).requires_grad_()

    @property
    def num_seeds(self) -> int:
        return self.rows.shape[0]

    # -- forward passes: ``rows`` defaults to every seed's; (S, B, ...) in and out -------

    def _params(self, rows: torch.Tensor | None) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        rows = self.rows if rows is None else rows
        pieces = rows.split(self.actor.sizes + self.critic.sizes, 1)
        shaped = [p.view(rows.shape[0], *shape)
                  for p, shape in zip(pieces, self.actor.shapes + self.critic.shapes, strict=True)]
        n = len(self.actor.shapes)
        return shaped[:n], shaped[n:]

    @staticmethod
    def _apply(layout: Layout, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        if layout.tabular:  # the parameter is the output, whatever the observation
            out = params[0]
            return out.unsqueeze(1).expand(out.shape[0], x.shape[1], *out.shape[1:])
        layers = [p for i, p in enumerate(params) if i != layout.log_std]
        last = len(layers) - 2
        for k in range(0, len(layers), 2):
            x = torch.baddbmm(layers[k + 1].unsqueeze(1), x, layers[k].mT)
            if k < last:
                x = x.relu() if layout.relu else x.tanh()
        return x

    def head(self, obs: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """The actor's output (S, B, k): softmax logits, or a Gaussian's mean."""
        return self._apply(self.actor, self._params(rows)[0], obs)

    def std(self, rows: torch.Tensor | None = None) -> torch.Tensor:
        """A Gaussian actor's standard deviation (S, 1, d)."""
        return self._params(rows)[0][self.actor.log_std].exp().unsqueeze(1)

    def values(self, obs: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """V(s) (S, B)."""
        out = self._apply(self.critic, self._params(rows)[1], obs)
        return out if self.critic.tabular else out.squeeze(-1)

    def evaluate(self, obs: torch.Tensor, actions: torch.Tensor, rows: torch.Tensor | None = None,
                 critic: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(log pi(a|s), entropy of pi(.|s), V(s) or None), each (S, B)."""
        actor_params, critic_params = self._params(rows)
        head = self._apply(self.actor, actor_params, obs)
        log_std = None if self.discrete else actor_params[self.actor.log_std].unsqueeze(1)
        logp, entropy = log_prob_entropy(head, actions, log_std)
        if not critic:
            return logp, entropy, None
        values = self._apply(self.critic, critic_params, obs)
        return logp, entropy, values if self.critic.tabular else values.squeeze(-1)

    @torch.no_grad()
    def sample(self, obs: torch.Tensor, generators: list[torch.Generator],
               seeds: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(actions (len(seeds), N[, d]), heads (S, N, k)) for ``obs`` (S, N, obs_dim).

        Only the seeds listed draw, each from its own generator (one uniform per env for
        discrete actions, by the inverse CDF; one normal per dimension otherwise)."""
        head = self.head(obs)
        mine = head if len(seeds) == head.shape[0] else head[seeds]
        n = obs.shape[1]
        if self.discrete:
            u = torch.stack([torch.rand(n, 1, generator=generators[s], device=obs.device)
                             for s in seeds])
            cdf = mine.softmax(-1).cumsum(-1)
            return (cdf < u).sum(-1).clamp_(max=cdf.shape[-1] - 1), head
        noise = torch.stack([torch.randn(mine.shape[1:], generator=generators[s],
                                         device=obs.device) for s in seeds])
        std = self.std()
        return mine + (std if len(seeds) == head.shape[0] else std[seeds]) * noise, head

    @torch.no_grad()
    def summary(self, seed: int, obs, head: torch.Tensor | None = None) -> tuple[float, ...]:
        """pi(.|obs) for discrete actions, or (mean..., std...) for a Gaussian."""
        if head is None:
            x = torch.as_tensor(obs, dtype=torch.float32, device=self.rows.device)
            head = self.head(x.reshape(1, 1, -1).expand(self.num_seeds, 1, -1))[seed, 0]
        if self.discrete:
            return tuple(head.softmax(-1).tolist())
        return tuple(torch.cat([head, self.std()[seed, 0]]).tolist())

    @torch.no_grad()
    def value(self, seed: int, obs) -> float:
        x = torch.as_tensor(obs, dtype=torch.float32, device=self.rows.device)
        return float(self.values(x.reshape(1, 1, -1).expand(self.num_seeds, 1, -1))[seed, 0])

    # -- one seed as an ``ActorCritic`` state dict (checkpoints, watch mode) ------------

    def state_dict(self, seed: int) -> dict[str, torch.Tensor]:
        pieces = self.rows[seed].detach().split(self.actor.sizes + self.critic.sizes)
        names = self.actor.names + self.critic.names
        shapes = self.actor.shapes + self.critic.shapes
        return {n: p.view(s).clone() for n, p, s in zip(names, pieces, shapes, strict=True)}

    def load_state_dict(self, seed: int, state: dict[str, torch.Tensor]) -> None:
        names = self.actor.names + self.critic.names
        if set(state) != set(names):
            raise ValueError(f"the saved policy has parameters {sorted(state)}, this run {sorted(names)}")
        shapes = self.actor.shapes + self.critic.shapes
        for name, shape in zip(names, shapes, strict=True):
            if state[name].shape != shape:
                raise ValueError(f"{name} has shape {tuple(state[name].shape)}, this run {tuple(shape)}")
        with torch.no_grad():
            self.rows[seed] = torch.cat([state[n].reshape(-1) for n in names]).to(self.rows.device)
