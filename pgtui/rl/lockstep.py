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

from .joint_envs import JointCartPole
from .policies import ActorCritic, CategoricalActor, Critic, GaussianActor
from .rollout import Batch, Collection, Collector, Decision, account_step, steps_batch

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
    """The policies of S seeds as one batched MLP, rebuilt after every update; the
    critics too when they are MLPs of one shape."""

    def __init__(self, policies: list[ActorCritic], actor: Layers,
                 critic: Layers | None = None) -> None:
        self.policies, self.actor, self.critic = policies, actor, critic
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
            if actor is None:
                return None
            critic = None
            if all(type(p.critic) is Critic for p in policies):
                critic = _stack_mlp([p.critic.net for p in policies])
            return cls(policies, actor, critic)

    def act(self, obs: torch.Tensor, generators: list[torch.Generator]
            ) -> tuple[torch.Tensor, torch.Tensor]:
        """(actions (S, N), heads (S, N, k)) for ``obs`` (S, N, obs_dim), each seed
        drawing from its own generator exactly as ``Actor.sample`` does."""
        with torch.no_grad():
            head = _forward(self.actor, obs)
            return self._sample(head, self.std if not self.discrete else None, generators), head

    def values(self, obs: torch.Tensor) -> torch.Tensor:
        """V(s) (S, M) of every seed's critic on its ``obs`` (S, M, obs_dim)."""
        with torch.no_grad():
            return _forward(self.critic, obs).squeeze(-1)

    def decide(self, obs: torch.Tensor, rows: list[int],
               generators: list[torch.Generator]) -> list[Decision]:
        """Decisions for the seeds ``rows``; ``obs`` is (S, N, obs_dim), other rows unused.
        The actions come back on the CPU, where the envs need them: one copy for all."""
        if len(rows) == obs.shape[0]:  # the usual case: no gather
            actions, head = self.act(obs, generators)
        else:
            with torch.no_grad():
                head = _forward(self.actor, obs)[rows]
                std = None if self.discrete else self.std[rows]
                actions = self._sample(head, std, generators)
        return list(zip(actions.cpu().unbind(0), head.unbind(0), strict=True))

    def _sample(self, head: torch.Tensor, std: torch.Tensor | None,
                generators: list[torch.Generator]) -> torch.Tensor:
        if self.discrete:  # one uniform per env from each seed's generator, then one pass
            u = torch.stack([torch.rand(head.shape[1], 1, generator=g, device=head.device)
                             for g in generators])
            cdf = head.softmax(-1).cumsum(-1)
            return (cdf < u).sum(-1).clamp_(max=cdf.shape[-1] - 1)
        noise = torch.stack([torch.randn(head.shape[1:], generator=g, device=head.device)
                             for g in generators])
        return head + std * noise


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


def collect_steps_jointly(collectors: list[Collector], stacked: StackedPolicy,
                          joint: JointCartPole, num_steps: int) -> list[Batch]:
    """``Collector.steps(num_steps)`` of every seed at once, each seed's batch as its own
    collector would make it: per step one forward pass, one call of the envs' physics
    (``joint``) and one pass of bookkeeping over all S x N envs; one critic pass at the
    end. Each collector's running state (observations, episodes) is taken in and given
    back. Needs ``stacked.critic`` and discrete actions (CartPole's)."""
    S, T, N = len(collectors), num_steps, collectors[0].num_envs
    device = collectors[0].device
    obs = np.stack([c.obs for c in collectors])
    obs_buf = np.empty((S, T + 1, N, obs.shape[-1]), dtype=np.float32)
    resetting = np.stack([c.resetting for c in collectors])
    ep_return = np.stack([c.ep_return for c in collectors])
    ep_length = np.stack([c.ep_length for c in collectors])
    actions = np.empty((S, T, N), dtype=np.int64)
    rewards = np.empty((S, T, N), dtype=np.float32)
    terminated, dones, valid = (np.empty((S, T, N), dtype=bool) for _ in range(3))
    generators = [c.generator for c in collectors]
    joint.gather()
    try:
        for t in range(T):
            obs_buf[:, t] = obs
            action, head = stacked.act(torch.as_tensor(obs, device=device), generators)
            for s, c in enumerate(collectors):
                c.maybe_snapshot(obs[s], head[s])
            actions[:, t] = action.cpu().numpy()
            obs, rewards[:, t], term, trunc = joint.step(actions[:, t])
            step = account_step(rewards[:, t], term, trunc, resetting, ep_return, ep_length)
            for s, ret, length in zip(step.ended[0], step.ended_returns, step.ended_lengths,
                                      strict=True):
                collectors[s].finished.append((ret, length))
            terminated[:, t], dones[:, t], valid[:, t] = step.terminated, step.dones, step.valid
            resetting = step.final
    finally:
        joint.scatter()
    obs_buf[:, T] = obs
    all_obs = torch.as_tensor(obs_buf, device=device)
    values = stacked.values(all_obs.view(S, -1, obs.shape[-1])).view(S, T + 1, N)
    batches = []
    for s, c in enumerate(collectors):
        c.obs, c.resetting = obs[s].copy(), resetting[s].copy()
        c.ep_return, c.ep_length = ep_return[s].copy(), ep_length[s].copy()
        c.env_steps += T * N
        batches.append(steps_batch(all_obs[s], values[s], actions[s], rewards[s],
                                   terminated[s], dones[s], valid[s]))
    return batches
