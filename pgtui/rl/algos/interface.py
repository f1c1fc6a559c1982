"""What the trainer knows of an algorithm: one ``Learner`` per run, built from the run's
shared parts, asked what to collect and how to update the seeds' rows from it. A learner
of the user's own subclasses it too (``algo = "path/to/file.py:Class"``; see
``examples/vpg.py``): everything such a file needs is importable from here.

``Learner`` is written for a policy (an actor, perhaps a critic): the policy-gradient
families override ``collect`` and ``update`` and keep the rest; a value-based family
(DQN, whose network reads as Q(s, .)) also overrides how its output is shown. The live
settings an algorithm reads are declared beside the config's fields
(``live=True``, ``algos=`` and ``task=``, read by ``config.used_by``), so the screen knows
them without importing torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch.distributions import Categorical, Normal, kl_divergence

from ...config import Config
from ..envs.registry import EnvInfo
from ..events import DiscretePolicy, GaussianPolicy, PolicyView
from ..floats import as_float
from ..networks import SeedNets
from ..optim import RowOptimizer, descend
from ..rollout import Batch, Collector, Shaping
from ..seed_run import SeedRun
from ..seeding import SeedStreams
from ..task import TaskHook
from .exact_gradient import expected_return
from .returns import masked_mean
from .samples import Stats
from .spec import AlgoSpec


def policy_kl(before: torch.Tensor, after: torch.Tensor, discrete: bool) -> torch.Tensor:
    """KL(pi_before || pi_after) per state, in float64 (a small KL is a difference of near
    equals): from logits or log-probabilities (..., A), or a diagonal Gaussian's (mean...,
    log-std...) summed over its dimensions."""
    before, after = before.double(), after.double()
    checks = {"validate_args": False}  # a diverged update's NaN is reported, not raised here
    if discrete:
        return kl_divergence(Categorical(logits=before, **checks), Categorical(logits=after, **checks))
    (m1, s1), (m2, s2) = before.chunk(2, -1), after.chunk(2, -1)
    return kl_divergence(Normal(m1, s1.exp(), **checks), Normal(m2, s2.exp(), **checks)).sum(-1)


@dataclass
class Parts:
    """The run's pieces a learner is built from and works on."""

    nets: SeedNets
    optimizer: RowOptimizer
    collector: Collector
    runs: list[SeedRun]  # each seed's generators
    streams: list[SeedStreams]
    config: Callable[[], Config]  # the live config, as of now
    tabular: Any = None  # the env's published model (``exact_gradient.TabularModel``), or None
    reference: dict[str, Any] | None = None  # a race's reference estimator settings
    task: TaskHook = TaskHook()  # what the run's task adds (a reference policy, preference data)

    def every_env(self) -> list[gym.Env]:
        """Every env of the run, training and evaluation (a task's live settings reach
        them all)."""
        return [*self.collector.envs.envs, *(r.evaluator.envs for r in self.runs if r.evaluator is not None)]

    def diagnosing(self, seeds: list[int]) -> list[torch.Generator | None]:
        """Per seed, the generator of this update's gradient diagnostics, or None where
        they are not due (every ``diag_every`` updates). Each is seeded per update apart
        from the run's own, so that measuring never changes the run."""
        every = self.config().diag_every
        return [torch.Generator().manual_seed(self.runs[i].streams.diagnostics(self.runs[i].update))
                if every > 0 and self.runs[i].update % every == 0 else None for i in seeds]


class Learner:
    """One algorithm's side of a run; subclasses override what they do differently: at
    least ``collect`` and ``update``."""

    #: how pgtui shows a learner of the user's own (its settings, titles, placeholders);
    #: pgtui's own are in ``ALGORITHMS``
    spec: ClassVar[AlgoSpec | None] = None

    #: the network's output is Q(s, .) (one value per action), not a policy
    q_network: ClassVar[bool] = False
    #: the networks a run of it builds (``policies.NETWORKS``)
    networks: ClassVar[str] = "actor_critic"
    #: watch mode plays the greedy action (DQN's argmax, SAC's mean action), not a sample
    plays_greedy: ClassVar[bool] = False
    #: figures that must stay finite, or the update is undone as diverged
    watched: ClassVar[tuple[str, ...]] = ("policy_loss", "value_loss", "grad_norm", "critic_grad_norm")

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        parts.collector.shaping = self.shaping()

    def shaping(self) -> Shaping | None:
        """What the collector adds to each reward: the task's shaping (the dialogue's KL
        penalty to its reference policy); None for a learner whose loss holds the policy
        near the reference itself."""
        return self.parts.task.shaping(self.parts.config)

    def task_figures(self, batch: Batch) -> Stats | None:
        """The task's figures of the policy that collected ``batch``, before its update
        (None: the task has none)."""
        return self.parts.task.measure(self.parts.nets, batch)

    @classmethod
    def check(cls, config: Config, envs: gym.vector.VectorEnv, task: TaskHook) -> str | None:
        """Why this algorithm cannot learn with ``config`` on ``envs`` of ``task``, or None."""
        return None

    @staticmethod
    def greedy(head: torch.Tensor, info: EnvInfo) -> np.ndarray:
        """The env actions a greedy evaluation takes for actor outputs ``head`` (..., k):
        the argmax of logits or Q values, or a Gaussian's mean within the bounds."""
        if info.discrete:
            return head.argmax(-1).cpu().numpy()
        return head.cpu().numpy().clip(info.action_low, info.action_high)

    def collect(self, config: Config, seeds: list[int]) -> Batch | None:
        """One rollout of ``seeds`` (None: no seed finished one)."""
        raise NotImplementedError

    def update(self, batch: Batch, config: Config) -> Stats:
        """Step the batch's seeds' rows; per seed its figures (``Parts.diagnosing``
        says which seeds measure their gradient's noise this update)."""
        raise NotImplementedError

    def descend(self, loss: torch.Tensor, seeds: list[int], max_grad_norm: float = 0.0) -> torch.Tensor:
        """One optimizer step of each of ``seeds``' rows on its own loss (S,): backward,
        clip each network's gradient to ``max_grad_norm`` (0: no clipping), step. Returns
        each seed's actor gradient norm before clipping (S,); a seed whose gradient is not
        finite does not step."""
        stepping = torch.ones(len(seeds), dtype=torch.bool, device=loss.device)
        return descend(self.parts.nets, self.parts.optimizer, loss, seeds, max_grad_norm, stepping)[:, 0]

    def step_alone(self, config: Config, seeds: list[int]) -> bool:
        """The playground's single step, where it needs no rollout; False: collect and
        update as usual."""
        return False

    @staticmethod
    def head_summary(nets: SeedNets, seed: int, head: torch.Tensor, info: EnvInfo) -> tuple[float, ...]:
        """What the policy pane shows of seed ``seed``'s output ``head`` at one
        observation: pi(.|s), or a Gaussian's (mean..., std...)."""
        return nets.summary(seed, head)

    def summary(self, head: torch.Tensor) -> tuple[float, ...]:
        """``head_summary`` of seed 0's output at one observation."""
        return self.head_summary(self.parts.nets, 0, head, self.parts.collector.info)

    def table(self, head: torch.Tensor) -> torch.Tensor:
        """Seed 0's output over a tabular env's states, as the drawing shows it."""
        return head.softmax(-1)

    @torch.no_grad()
    def policy_table(self) -> tuple[tuple[float, ...], ...] | None:
        """``table`` over every state of a tabular env (None for other envs)."""
        tabular, nets = self.parts.tabular, self.parts.nets
        if tabular is None or len(tabular.observations) < 2:
            return None
        x = as_float(tabular.observations, nets.rows.device)
        return tuple(map(tuple, self.table(nets.head(x.expand(nets.num_seeds, *x.shape))[0]).tolist()))

    @torch.no_grad()
    def policy_view(self, obs: torch.Tensor, seeds: list[int]) -> torch.Tensor:
        """The policy of ``seeds`` at states ``obs`` (S', B, obs_dim), as ``policy_change``
        compares it: the logits of pi(.|s) (normalized there in float64), or a Gaussian's
        (mean..., log-std...)."""
        nets = self.parts.nets
        params = nets.select(seeds)
        heads = nets.head(obs, params)
        if nets.discrete:
            return heads
        return torch.cat([heads, params[nets.actor.log_std].expand_as(heads)], -1)

    def policy_change(self, before: torch.Tensor, after: torch.Tensor, mask: torch.Tensor) -> Stats:
        """How far an update moved each seed's policy on its own states: the mean of
        KL(pi_before || pi_after) over the states ``mask`` (S', B) keeps."""
        kl = policy_kl(before, after, self.parts.nets.discrete)
        return [{"policy_kl": v} for v in masked_mean(kl, mask).tolist()]

    def acting_probs(self, heads: torch.Tensor, seeds: list[int]) -> torch.Tensor:
        """The probabilities (N, S, A) the listed seeds act by, from their outputs (N, S, k)
        over a tabular env's states, in float64."""
        return heads.double().softmax(-1)

    @torch.no_grad()
    def exact_figures(self, seeds: list[int]) -> Stats | None:
        """A tabular env's exact figures of the policy each of ``seeds`` acts by, or None
        for another env: its objective J (the expected return within the step cap) and,
        where several states look alike (one policy for all of them), pi of each action
        but the first as ``p_<action name>``."""
        model, nets = self.parts.tabular, self.parts.nets
        if model is None:
            return None
        x = as_float(model.observations, nets.rows.device)
        heads = nets.head(x.expand(len(seeds), *x.shape), nets.select(seeds))
        probs = self.acting_probs(heads, seeds)
        figures = [{"objective": float(j)} for j in expected_return(model, probs)]
        if len(model.observations) > 1 and (model.observations == model.observations[0]).all():
            names = self.parts.collector.info.action_names
            for row, p in zip(figures, probs[:, 0], strict=True):
                row.update({f"p_{name}": float(q) for name, q in zip(names[1:], p[1:], strict=True)})
        return figures

    def policy_shown(self, step: int, obs: np.ndarray, head: torch.Tensor) -> PolicyView:
        """The policy's view of the drawn state, as the policy pane and the drawing show it
        (``head``: seed 0's output there; ``step``: the env steps taken)."""
        summary, value = self.summary(head), self.parts.nets.value(0, obs)
        if self.parts.nets.discrete:
            return DiscretePolicy(summary, value, self.policy_table())
        d = len(summary) // 2
        return GaussianPolicy(summary[:d], summary[d:], value)

    def seed_state(self, i: int) -> dict[str, Any]:
        """What a checkpoint of seed ``i`` keeps of this learner beyond the weights."""
        return {}

    def load_seed_state(self, i: int, state: dict[str, Any]) -> None:
        """Put back what ``seed_state`` kept."""
