"""Several seeds' rollouts in lockstep: one batched forward pass decides for all of them.

In a race every seed of a variant has the same network shapes, so their actors can run
as one stacked MLP: each ``Linear`` becomes one ``baddbmm`` over the seeds. Acting was
about half of a REINFORCE run's time, almost all of it per-call overhead of tiny
matrices, so one call for five seeds costs about what one seed did. Each seed still
samples from its own generator. On Gymnasium's CartPole the seeds' envs also step as
one (``joint_envs.py``) and one pass keeps every seed's books
(``collect_steps_jointly``, ``collect_episodes_jointly``); elsewhere each seed steps
its own envs (``run_lockstep``). Either way a seed's batch is what it would collect
alone (``tests/test_joint_envs.py``, ``tests/test_lockstep.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from .joint_envs import JointCartPole
from .policies import ActorCritic, CategoricalActor, Critic, GaussianActor
from .rollout import (
    Batch,
    Collection,
    Collector,
    Decision,
    EpisodeBook,
    account_step,
    steps_batch,
)
from .stacked_mlp import NetLayout, layer_views, mlp_forward, net_layout

if TYPE_CHECKING:
    from .stacked import StackedUpdate

class _Rows:
    """One module (actor or critic) of every seed: its parameters as rows (S, P), its
    layers as views of them."""

    def __init__(self, rows: torch.Tensor, layout: NetLayout) -> None:
        self.rows, self.layout = rows, layout
        self.layers = layer_views(rows, layout)

    @classmethod
    def stack(cls, modules: list[nn.Module]) -> _Rows | None:
        """None unless the modules are MLPs of one layout."""
        layouts = [net_layout(m) for m in modules]
        if layouts[0] is None or any(lay != layouts[0] for lay in layouts):
            return None
        with torch.no_grad():
            return cls(torch.stack([torch.cat([p.reshape(-1) for p in m.parameters()])
                                    for m in modules]), layouts[0])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return mlp_forward(self.layers, x, self.layout.relu)[0]


class StackedPolicy:
    """The policies of S seeds as one batched MLP (each ``Linear`` one ``baddbmm``), the
    critics too when they are MLPs of one layout. Built each round: from a stacked
    update's rows, which are the seeds' own parameters, or else as a copy."""

    def __init__(self, policies: list[ActorCritic], actor: _Rows, critic: _Rows | None) -> None:
        self.policies, self.actor, self.critic = policies, actor, critic
        self.discrete = isinstance(policies[0].actor, CategoricalActor)
        if not self.discrete:
            self.std = actor.rows[:, actor.layout.log_std].exp().unsqueeze(1)

    @classmethod
    def build(cls, policies: list[ActorCritic], learner: StackedUpdate | None = None
              ) -> StackedPolicy | None:
        """None when the policies cannot share a forward pass (tabular, mixed shapes)."""
        if learner is not None:
            return cls(policies, _Rows(learner.actor.param.data, learner.actor.net),
                       _Rows(learner.critic.param.data, learner.critic.net))
        kinds = {type(p.actor) for p in policies}
        if len(kinds) != 1 or kinds.pop() not in (CategoricalActor, GaussianActor):
            return None
        actor = _Rows.stack([p.actor for p in policies])
        if actor is None:
            return None
        critic = None
        if all(type(p.critic) is Critic for p in policies):
            critic = _Rows.stack([p.critic for p in policies])
        return cls(policies, actor, critic)

    def act(self, obs: torch.Tensor, generators: list[torch.Generator],
            rows: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(actions of the seeds ``rows`` (default: all), (len(rows), N); heads of every
        seed, (S, N, k)) for ``obs`` (S, N, obs_dim). Each of those seeds draws from its
        own generator (``generators``, one per row) exactly as ``Actor.sample`` does."""
        with torch.no_grad():
            head = self.actor(obs)
            std = None if self.discrete else self.std
            if rows is None:
                return self._sample(head, std, generators), head
            return self._sample(head[rows], None if std is None else std[rows], generators), head

    def values(self, obs: torch.Tensor) -> torch.Tensor:
        """V(s) (S, M) of every seed's critic on its ``obs`` (S, M, obs_dim)."""
        with torch.no_grad():
            return self.critic(obs).squeeze(-1)

    def decide(self, obs: torch.Tensor, rows: list[int],
               generators: list[torch.Generator]) -> list[Decision]:
        """Decisions for the seeds ``rows``; ``obs`` is (S, N, obs_dim), other rows unused.
        The actions come back on the CPU, where the envs need them: one copy for all."""
        every_seed = len(rows) == obs.shape[0]  # the usual case: no gather
        actions, head = self.act(obs, generators, None if every_seed else rows)
        if not every_seed:
            head = head[rows]
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
    device = stacked.actor.rows.device
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
        c.settle(obs[s], resetting[s], ep_return[s], ep_length[s], T)
        batches.append(steps_batch(all_obs[s], values[s], actions[s], rewards[s],
                                   terminated[s], dones[s], valid[s]))
    return batches


def collect_episodes_jointly(collectors: list[Collector], stacked: StackedPolicy,
                             joint: JointCartPole, num_episodes: int,
                             max_steps: int = 100_000) -> list[Batch]:
    """``Collector.episodes(num_episodes)`` of every seed at once, each seed's batch as
    its own collector would make it: per step one forward pass, one call of the envs'
    physics and one pass of bookkeeping (``EpisodeBook``) over all S x N envs. A seed
    whose episodes are all in stops there: no more draws from its generators, its envs
    keep the state they had (``JointCartPole.freeze``). Needs discrete actions."""
    S, N = len(collectors), collectors[0].num_envs
    device = collectors[0].device
    for c in collectors:
        c.begin_episodes()
    joint.gather()
    obs = np.stack([c.obs for c in collectors])
    resetting = np.zeros((S, N), dtype=bool)
    ep_return, ep_length = np.zeros((S, N)), np.zeros((S, N), dtype=np.int64)
    book = EpisodeBook(num_episodes, S, N)
    active, taken = np.ones(S, dtype=bool), np.zeros(S, dtype=np.int64)
    ends: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # a seed's counts, episode_of at its end
    try:
        while active.any():
            book.assign(resetting)
            rows = np.flatnonzero(active).tolist()
            picked, head = stacked.act(torch.as_tensor(obs, device=device),
                                       [collectors[s].generator for s in rows], rows)
            actions = np.zeros((S, N), dtype=np.int64)
            actions[rows] = picked.cpu().numpy()
            for s in rows:
                collectors[s].maybe_snapshot(obs[s], head[s])
            book.before_step(obs, actions, resetting)
            obs, reward, term, trunc = joint.step(actions)
            step = account_step(reward, term, trunc, resetting, ep_return, ep_length, book.counts)
            # a stopped seed has no episode left in its batch (counts all False): none of
            # its envs' endings count here
            for s, ret, length in zip(step.ended[0], step.ended_returns, step.ended_lengths,
                                      strict=True):
                collectors[s].finished.append((ret, length))
            book.after_step(reward, step.terminated, step.dones, step.valid, step.final)
            resetting = step.final
            taken[active] += 1
            for s in np.flatnonzero(active & ((book.ended >= num_episodes) | (taken >= max_steps))):
                active[s] = False
                joint.freeze(s)
                collectors[s].settle(obs[s], resetting[s], ep_return[s], ep_length[s],
                                     int(taken[s]))
                ends[s] = book.counts[s].copy(), book.episode_of[s].copy()
    finally:
        joint.scatter()
    return [book.batch(s, int(taken[s]), device, *ends[s]) for s in range(S)]
