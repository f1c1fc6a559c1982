"""The seeds' networks as rows of one tensor, evaluated as one batched network.

A run has S seeds (S = 1 for a single run). Row s of ``SeedNets.rows`` (S, P) holds
seed s's actor parameters, then its critic's, in ``ActorCritic.named_parameters()``
order; row s of ``SeedNets.grad`` holds their gradients. Each parameter of every seed
is one leaf tensor of shape (S, ...), a view of ``rows`` whose ``.grad`` is a view of
``grad``: a backward pass fills ``grad`` in place, so one norm per row clips a seed's
gradient and one optimizer step over the rows moves every seed (``optim.py``). A
forward pass runs each Linear as one ``baddbmm`` over the seeds. Autograd
differentiates all of it; nothing is derived by hand.

Measured (64x64 MLP, 256 samples a seed, one thread, fwd + bwd): these leaves cost
what an ``nn.Module`` does for one seed (0.99x); splitting one (S, P) leaf into layers
on every call cost 1.13x, ``vmap(functional_call)`` 1.5-2x at one seed and the same at
eight.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from .floats import as_float
from .policies import ActorCritic, TabularCritic, TabularSoftmaxActor

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)

# a seed's parameter is a strided view of the rows, and so is its gradient, by design
warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout contract")


def categorical_log_prob(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log pi(a|s) of a softmax policy from its logits (..., A) and actions (...)."""
    return logits.log_softmax(-1).gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)


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
    """What a module's parameters are, in order, and how they compute."""

    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]  # as in the module (and a checkpoint)
    views: tuple[tuple[int, ...], ...]  # each parameter of S seeds is viewed as (S, *view)
    linear: tuple[tuple[int, str], ...]  # an MLP's weights in order (each one's bias follows
    # it) and how each layer multiplies (``SeedNets._apply``)
    relu: bool  # hidden activation of an MLP, else tanh
    log_std: int | None  # a Gaussian actor's log-std
    tabular: bool  # one parameter that is the output itself (softmax logits, or V)
    ensemble: int = 1  # k MLPs of one shape side by side (SAC's twin critics)

    @classmethod
    def of(cls, module: nn.Module, prefix: str) -> Layout:
        named = list(module.named_parameters())
        names = [n for n, _ in named]
        k = getattr(module, "ensemble", 1)
        if k > 1:  # every weight (k, out, in) seen as (k, in, out), but a last one of one
            # output (a dot product, as for one critic); every bias (k, out) as (k, 1, out)
            linear = tuple((i, "dot" if p.shape[1] == 1 else "wide")
                           for i, (n, p) in enumerate(named) if n.endswith(".weight"))
            views = tuple((-1, *p.shape) if p.dim() == 3 and p.shape[1] > 1 else tuple(p.shape)
                          if p.dim() == 3 else (p.shape[0], 1, p.shape[1]) for _, p in named)
            return cls(tuple(f"{prefix}.{n}" for n in names), tuple(p.shape for _, p in named),
                       views, linear, any(isinstance(m, nn.ReLU) for m in module.modules()),
                       None, False, k)
        linear = tuple((i, "dot" if p.shape[0] == 1 else "thin" if p.shape[0] < p.shape[1] else "wide")
                       for i, (n, p) in enumerate(named) if n.endswith(".weight"))
        how = dict(linear)
        # each layer's parameters enter its product as they are, with no transpose op (each
        # would cost an op forward and a node backward): a wide layer's weight as (in, out),
        # a thin layer's bias as a column; other biases, log-std and tabular outputs
        # broadcast over the batch as (1, ...)
        views = tuple((-1, *p.shape) if how.get(i) == "wide" else tuple(p.shape) if i in how
                      else (p.shape[0], 1) if how.get(i - 1) == "thin" else (1, *p.shape)
                      for i, (_, p) in enumerate(named))
        return cls(tuple(f"{prefix}.{n}" for n in names), tuple(p.shape for _, p in named),
                   views, linear, any(isinstance(m, nn.ReLU) for m in module.modules()),
                   names.index("log_std") if "log_std" in names else None,
                   isinstance(module, (TabularSoftmaxActor, TabularCritic)))


def _viewed(data: torch.Tensor, view: tuple[int, ...]) -> torch.Tensor:
    """One parameter of S seeds, columns ``data`` (S, n) of the rows, as it computes: a
    leading -1 marks a weight (out, in) seen transposed, as (in, out)."""
    S = data.shape[0]
    return data.view(S, *view[1:]).mT if view[0] == -1 else data.view(S, *view)


class SeedNets:
    """S seeds' actors and critics of one architecture (see the module docstring)."""

    def __init__(self, policies: list[ActorCritic], device: torch.device) -> None:
        template = policies[0]
        self.actor = Layout.of(template.actor, "actor")
        self.critic = Layout.of(template.critic, "critic")
        self.discrete = template.actor.discrete
        sizes = [s.numel() for s in self.actor.shapes + self.critic.shapes]
        self._sizes = sizes
        self.actor_size = sum(sizes[:len(self.actor.shapes)])
        with torch.no_grad():
            self.rows = torch.stack([torch.cat([p.reshape(-1) for p in policy.parameters()])
                                     for policy in policies]).to(device)
        self.grad = torch.zeros_like(self.rows)
        self.params: list[torch.Tensor] = []
        for data, grad, view in zip(self.rows.split(sizes, 1), self.grad.split(sizes, 1),
                                    self.actor.views + self.critic.views, strict=True):
            leaf = _viewed(data, view).requires_grad_()
            leaf.grad = _viewed(grad, view)  # autograd adds into it in place
            self.params.append(leaf)

    def views_of(self, rows: torch.Tensor) -> list[torch.Tensor]:
        """Parameters laid out as ``params`` over other rows of the same shape (DQN's
        target network): views, so updating ``rows`` in place updates them."""
        return [_viewed(data, view) for data, view in
                zip(rows.split(self._sizes, 1), self.actor.views + self.critic.views, strict=True)]

    def as_rows(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        """Per-parameter tensors laid out as ``params`` (each (G, ...): their gradients,
        say), the actor's first, flattened in a row's order (G, n)."""
        views = self.actor.views + self.critic.views
        return torch.cat([(t.mT if view[0] == -1 else t).reshape(t.shape[0], -1)
                          for t, view in zip(tensors, views, strict=False)], 1)

    @property
    def num_seeds(self) -> int:
        return self.rows.shape[0]

    def select(self, seeds: list[int], params: list[torch.Tensor] | None = None
               ) -> list[torch.Tensor]:
        """The parameters of ``seeds`` (S', ...), differentiable into ``grad``; or of
        other ``params`` laid out alike (a target network's)."""
        params = self.params if params is None else params
        return params if len(seeds) == self.num_seeds else [p[seeds] for p in params]

    def zero_grad(self) -> None:
        self.grad.zero_()

    # -- forward passes: ``params`` default to every seed's; (S, B, ...) in and out ----

    def _split(self, params: list[torch.Tensor] | None
               ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        params = self.params if params is None else params
        n = len(self.actor.shapes)
        return params[:n], params[n:]

    @staticmethod
    def _apply(layout: Layout, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        if layout.tabular:  # the parameter is the output, whatever the observation
            out = params[0]  # contiguous: a softmax over the stride-0 expansion took 100x longer
            return out.expand(out.shape[0], x.shape[1], *out.shape[2:]).contiguous()
        if layout.ensemble > 1:  # (S, B, in) -> the k members' (S k, B, in)
            params = [p.flatten(0, 1) for p in params]
            x = x.unsqueeze(1).expand(-1, layout.ensemble, -1, -1).flatten(0, 1)
        last = layout.linear[-1][0]
        for k, how in layout.linear:
            weight, bias = params[k], params[k + 1]
            if how == "dot":  # one output (a critic's): the bmm of one seed (a gemv) rounds
                # unlike that of several; a product and a sum round alike
                x = (x * weight).sum(-1, keepdim=True) + bias
            elif how == "thin":  # fewer outputs than inputs: W x^T, whose weight gradient
                # autograd takes in the fast layout (1.5x on 8 seeds' backward)
                x = torch.baddbmm(bias, weight, x.mT).mT
            else:  # the weight is viewed as W^T (``Layout.of``)
                x = torch.baddbmm(bias, x, weight)
            if k != last:
                x = x.relu() if layout.relu else x.tanh()
        return x

    def head(self, obs: torch.Tensor, params: list[torch.Tensor] | None = None) -> torch.Tensor:
        """The actor's output (S, B, k): softmax logits, or a Gaussian's mean."""
        return self._apply(self.actor, self._split(params)[0], obs)

    def std(self, params: list[torch.Tensor] | None = None) -> torch.Tensor:
        """A Gaussian actor's standard deviation (S, 1, d)."""
        return self._split(params)[0][self.actor.log_std].exp()

    def q_values(self, obs: torch.Tensor, actions: torch.Tensor,
                 critic: list[torch.Tensor] | None = None) -> torch.Tensor:
        """An ensemble critic's Q_j(s, a) (S, k, B) (SAC's twins: k = 2); ``critic``: the
        critic's parameters alone (default every seed's)."""
        critic = self._split(None)[1] if critic is None else critic
        out = self._apply(self.critic, critic, torch.cat([obs, actions], -1))
        return out.view(obs.shape[0], self.critic.ensemble, obs.shape[1])

    def critic_params(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        """The critic's part of ``params`` laid out as ``params``."""
        return self._split(params)[1]

    def critic_views_of(self, rows: torch.Tensor) -> list[torch.Tensor]:
        """The critic's parameters over rows (S, critic columns) holding only its columns
        (SAC's target critics): views, so updating ``rows`` in place updates them."""
        n = len(self.actor.shapes)
        return [_viewed(data, view) for data, view in
                zip(rows.split(self._sizes[n:], 1), self.critic.views, strict=True)]

    def values(self, obs: torch.Tensor, params: list[torch.Tensor] | None = None) -> torch.Tensor:
        """V(s) (S, B)."""
        out = self._apply(self.critic, self._split(params)[1], obs)
        return out if self.critic.tabular else out.squeeze(-1)

    def evaluate(self, obs: torch.Tensor, actions: torch.Tensor, params: list[torch.Tensor] | None = None,
                 critic: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(log pi(a|s), entropy of pi(.|s), V(s) or None), each (S, B)."""
        actor_params, critic_params = self._split(params)
        head = self._apply(self.actor, actor_params, obs)
        log_std = None if self.discrete else actor_params[self.actor.log_std]
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
                             for s in seeds]) if len(seeds) > 1 else \
                torch.rand(1, n, 1, generator=generators[seeds[0]], device=obs.device)
            cdf = mine.softmax(-1).cumsum(-1)
            return (cdf < u).sum(-1).clamp_(max=cdf.shape[-1] - 1), head
        noise = torch.stack([torch.randn(mine.shape[1:], generator=generators[s],
                                         device=obs.device) for s in seeds])
        std = self.std()
        return mine + (std if len(seeds) == head.shape[0] else std[seeds]) * noise, head

    @torch.no_grad()
    def head_at(self, seed: int, obs) -> torch.Tensor:
        """Seed ``seed``'s actor output at one observation."""
        x = as_float(obs, self.rows.device)
        return self.head(x.reshape(1, 1, -1).expand(self.num_seeds, 1, -1))[seed, 0]

    @torch.no_grad()
    def summary(self, seed: int, head: torch.Tensor) -> tuple[float, ...]:
        """pi(.|s) of seed ``seed``'s output ``head`` at s for discrete actions, or
        (mean..., std...) for a Gaussian."""
        if self.discrete:
            return tuple(head.softmax(-1).tolist())
        return tuple(torch.cat([head, self.std()[seed, 0]]).tolist())

    @torch.no_grad()
    def value(self, seed: int, obs) -> float:
        x = as_float(obs, self.rows.device)
        return float(self.values(x.reshape(1, 1, -1).expand(self.num_seeds, 1, -1))[seed, 0])

    # -- one seed as an ``ActorCritic`` state dict (checkpoints, watch mode) ------------

    def state_dict(self, seed: int) -> dict[str, torch.Tensor]:
        pieces = self.rows[seed].split(self._sizes)
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
