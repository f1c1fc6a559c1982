"""Several seeds' rollouts in lockstep: one batched forward pass decides for all of them.

In a race every seed of a variant has the same network shapes, so their actors can run
as one stacked MLP: each ``Linear`` becomes one ``baddbmm`` over the seeds. Acting was
about half of a REINFORCE run's time, almost all of it per-call overhead of tiny
matrices, so one call for five seeds costs about what one seed did. Each seed still
samples from its own generator and steps its own envs; only the arithmetic is shared.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .policies import ActorCritic, CategoricalActor, GaussianActor
from .rollout import Batch, Collection, Decision

Layers = list[tuple[torch.Tensor, torch.Tensor] | nn.Module]


def _stack_mlp(nets: list[nn.Sequential]) -> Layers | None:
    """(weights (S, in, out), biases (S, 1, out)) per Linear, the module per activation."""
    layers: Layers = []
    for modules in zip(*nets, strict=True):
        first = modules[0]
        if isinstance(first, nn.Linear):
            if any(m.weight.shape != first.weight.shape for m in modules):
                return None
            layers.append((torch.stack([m.weight.T for m in modules]),
                           torch.stack([m.bias for m in modules]).unsqueeze(1)))
        elif all(type(m) is type(first) for m in modules):
            layers.append(first)
        else:
            return None
    return layers


def _forward(layers: Layers, x: torch.Tensor) -> torch.Tensor:
    for layer in layers:
        x = torch.baddbmm(layer[1], x, layer[0]) if isinstance(layer, tuple) else layer(x)
    return x


class StackedPolicy:
    """The policies of S seeds as one batched MLP, rebuilt after every update."""

    def __init__(self, policies: list[ActorCritic], actor: Layers) -> None:
        self.policies, self.actor = policies, actor
        self.discrete = isinstance(policies[0].actor, CategoricalActor)
        if not self.discrete:
            self.std = torch.stack([p.actor.log_std for p in policies]).exp().unsqueeze(1)

    @classmethod
    def build(cls, policies: list[ActorCritic]) -> StackedPolicy | None:
        """None when the policies cannot share a forward pass (tabular, mixed shapes)."""
        kinds = {type(p.actor) for p in policies}
        if len(kinds) != 1 or kinds.pop() not in (CategoricalActor, GaussianActor):
            return None
        with torch.no_grad():
            actor = _stack_mlp([p.actor.net for p in policies])
            return None if actor is None else cls(policies, actor)

    def decide(self, obs: torch.Tensor, rows: list[int],
               generators: list[torch.Generator]) -> list[Decision]:
        """Decisions for the seeds ``rows``; ``obs`` is (S, N, obs_dim), other rows unused.

        Each seed draws from its own generator exactly as ``Actor.sample`` does. The
        actions come back on the CPU, where the envs need them: one copy for all seeds.
        """
        every_seed = len(rows) == obs.shape[0]  # the usual case: no gather
        with torch.no_grad():
            head = _forward(self.actor, obs)
            if not every_seed:
                head = head[rows]
            if self.discrete:  # one uniform per env from each seed's generator, then one pass
                u = torch.stack([torch.rand(obs.shape[1], 1, generator=g, device=obs.device)
                                 for g in generators])
                cdf = head.softmax(-1).cumsum(-1)
                actions = (cdf < u).sum(-1).clamp_(max=cdf.shape[-1] - 1)
            else:
                noise = torch.stack([torch.randn(head.shape[1:], generator=g, device=obs.device)
                                     for g in generators])
                actions = head + (self.std if every_seed else self.std[rows]) * noise
        return list(zip(actions.cpu().unbind(0), head.unbind(0), strict=True))


def run_lockstep(collections: list[Collection], stacked: StackedPolicy,
                 generators: list[torch.Generator], on_error: Callable[[int, Exception], None]
                 ) -> tuple[dict[int, Batch], float]:
    """Drive every seed's collection to its end; returns {seed index: batch} and the
    seconds each seed is charged (the wall time shared out)."""
    start = time.perf_counter()
    pending, batches = {}, {}
    for i, collection in enumerate(collections):
        try:
            pending[i] = next(collection)
        except Exception as err:  # an env that fails on reset
            on_error(i, err)
    if not pending:
        return batches, 0.0
    template = next(iter(pending.values()))
    obs = np.zeros((len(collections), *template.shape), dtype=np.float32)
    device = stacked.actor[0][0].device
    while pending:
        rows = list(pending)
        for i in rows:
            obs[i] = pending[i]
        decisions = stacked.decide(torch.as_tensor(obs, device=device), rows,
                                   [generators[i] for i in rows])
        for i, decision in zip(rows, decisions, strict=True):
            try:
                pending[i] = collections[i].send(decision)
            except StopIteration as done:
                batches[i] = done.value
                del pending[i]
            except Exception as err:  # this seed's env failed; the others go on
                on_error(i, err)
                del pending[i]
    return batches, (time.perf_counter() - start) / len(collections)
