"""SAC (soft actor-critic) for S seeds at once: a tanh-squashed Gaussian actor, twin
Q(s, a) critics with Polyak-averaged targets, an entropy temperature alpha learned toward
a target entropy (or fixed), and the replay buffer DQN uses (``replay.py``).

A gradient step is one loss per seed, written once and differentiated by autograd:

- the critics: 1/2 sum_j (Q_j(s, a) - y)^2 with y = r + gamma (1 - terminated)
  (min_j Q'_j(s', a') - alpha log pi(a'|s')), a' ~ pi(.|s'), Q' the target critics. It
  bootstraps on a truncated step and not on a terminated one;
- the actor: alpha log pi(a|s) - min_j Q_j(s, a), a ~ pi(.|s) reparameterized, through
  critics it does not move (their parameters are detached there);
- the temperature: -log alpha (log pi(a|s) + target entropy), when alpha is learned.

One backward pass and one optimizer step move all three, each by its own term. The
actor is scored by the critics as they were before this step (SB3 steps the critics
first): one forward pass less, and it learns alike. Alpha multiplies the terms as it was
before the step, as in SB3. The networks and the buffer see actions in [-1, 1]^d; the
env gets them scaled to its bounds, and log pi is the density in [-1, 1]^d.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from ...config import Config
from ..envs.registry import EnvInfo
from ..events import TwinCritics
from ..floats import as_float
from ..networks import SeedNets
from ..optim import descend, step_rows
from ..rollout import Acting, Batch
from ..task import TaskHook
from .interface import Parts
from .replay import ReplayLearner
from .samples import Stats

LOG_STD_BOUNDS = (-20.0, 2.0)  # the actor's log-std is clamped to these, as in SB3
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LOG_2 = math.log(2.0)
# probabilists' Gauss-Hermite nodes and weights (summing to 1): E f(u), u ~ N(0, 1)
_NODES, _WEIGHTS = (torch.as_tensor(a, dtype=torch.float32) for a in np.polynomial.hermite_e.hermegauss(24))
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def split_head(head: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, log-std) of a squashed Gaussian actor's output (..., 2d), the log-std clamped."""
    mean, log_std = head.chunk(2, -1)
    return mean, log_std.clamp(*LOG_STD_BOUNDS)


def squashed_log_prob(mean: torch.Tensor, log_std: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """log pi(tanh(u)) for u ~ N(mean, exp(log_std)^2) per dimension, summed over the last
    one: u's log density minus log |d tanh(u)/du| = log(1 - tanh(u)^2), written as
    2 (log 2 - u - softplus(-2u)), finite where tanh(u) rounds to +-1."""
    z = (u - mean) / log_std.exp()
    log_det = 2.0 * (_LOG_2 - u - F.softplus(-2.0 * u))
    return (-0.5 * z**2 - log_std - _HALF_LOG_2PI - log_det).sum(-1)


def squashed_sample(head: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(tanh(u), log pi of it) with u = mean + std * noise: reparameterized, so both are
    differentiable in ``head``."""
    mean, log_std = split_head(head)
    u = mean + log_std.exp() * noise
    return torch.tanh(u), squashed_log_prob(mean, log_std, u)


def soft_targets(rewards: torch.Tensor, terminated: torch.Tensor, next_q: torch.Tensor,
                 next_log_prob: torch.Tensor, alpha: torch.Tensor, gamma: float) -> torch.Tensor:
    """r + gamma (1 - terminated) (min_j Q'_j(s', a') - alpha log pi(a'|s')), (S, B), from
    ``next_q`` (S, k, B), ``next_log_prob`` (S, B) and ``alpha`` (S, 1)."""
    return rewards + gamma * (1.0 - terminated) * (next_q.min(1).values - alpha * next_log_prob)


def temperature_loss(log_alpha: torch.Tensor, log_prob: torch.Tensor, target_entropy: float
                     ) -> torch.Tensor:
    """-log alpha (log pi + target entropy), averaged over the batch (S,): its gradient in
    log alpha is the entropy estimate -mean log pi minus the target, so alpha falls while
    the policy is more random than the target asks, and rises while it is less."""
    return -(log_alpha * (log_prob.detach() + target_entropy)).mean(-1)


class ActionScale:
    """The map between the networks' actions in [-1, 1]^d and the env's Box bounds."""

    def __init__(self, info: EnvInfo, device: torch.device) -> None:
        low, high = (torch.as_tensor(np.asarray(b, dtype=np.float32), device=device)
                     for b in (info.action_low, info.action_high))
        self.center, self.half = (high + low) / 2, (high - low) / 2

    def to_env(self, unit: torch.Tensor) -> torch.Tensor:
        return self.center + self.half * unit

    def to_unit(self, action: torch.Tensor) -> torch.Tensor:
        return ((action - self.center) / self.half).clamp(-1.0, 1.0)


def sac_losses(nets: SeedNets, params: list[torch.Tensor], target_critic: list[torch.Tensor],
               log_alpha: torch.Tensor, sample: tuple[torch.Tensor, ...], noise: torch.Tensor,
               gamma: float, target_entropy: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(each seed's loss (S,), its figures (S, 4): critic loss, actor loss, entropy
    estimate, mean Q) on one batch from the buffer; ``noise`` (S, 2, B, d) reparameterizes
    a ~ pi(.|s) and a' ~ pi(.|s'); ``log_alpha`` (S, ...), a view of the rows; the
    temperature learns only with a ``target_entropy``."""
    obs, actions, rewards, next_obs, terminated = sample
    log_alpha = log_alpha.reshape(log_alpha.shape[0], 1)
    alpha = log_alpha.detach().exp()
    with torch.no_grad():
        next_action, next_log_prob = squashed_sample(nets.head(next_obs, params), noise[:, 1])
        target = soft_targets(rewards, terminated, nets.q_values(next_obs, next_action, target_critic),
                              next_log_prob, alpha, gamma)
    critic = nets.critic_params(params)
    q = nets.q_values(obs, actions, critic)
    q_loss = 0.5 * (q - target.unsqueeze(1)).square().mean(-1).sum(1)
    action, log_prob = squashed_sample(nets.head(obs, params), noise[:, 0])
    q_pi = nets.q_values(obs, action, [p.detach() for p in critic]).min(1).values
    actor_loss = (alpha * log_prob - q_pi).mean(-1)
    loss = q_loss + actor_loss
    if target_entropy is not None:
        loss = loss + temperature_loss(log_alpha, log_prob, target_entropy)
    figures = torch.stack([q_loss, actor_loss, -log_prob.mean(-1), q.mean((1, 2))], 1).detach()
    return loss, figures


class SAC(ReplayLearner):
    """What a SAC run keeps beside the networks: the target critics, the replay buffer
    and its sampling generators. It acts by sampling its squashed Gaussian (uniformly
    in the box before learning_starts) and evaluates, and plays, the mean action."""

    networks = "squashed"
    state_key = "sac"
    watched = ("q_loss", "actor_loss", "grad_norm", "critic_grad_norm")

    @classmethod
    def check(cls, config: Config, envs: gym.vector.VectorEnv, task: TaskHook) -> str | None:
        space = envs.single_action_space
        if not isinstance(space, gym.spaces.Box):
            return (f"SAC needs a Box action space (it squashes a Gaussian into the box's "
                    f"bounds); this one is {space}")
        if not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
            return f"SAC squashes its actions into the box's bounds; {space} has unbounded dimensions"
        return None

    def __init__(self, parts: Parts) -> None:
        super().__init__(parts, (parts.collector.info.act_dim,))
        nets, info = parts.nets, parts.collector.info
        self.scale = ActionScale(info, nets.rows.device)
        self.act_dim = info.act_dim
        self.target_rows = nets.rows[:, nets.actor_size:].detach().clone()
        self.target_critic = nets.critic_views_of(self.target_rows)
        self.alpha_index = nets.actor.names.index("actor.log_alpha")
        self.alpha_column = sum(s.numel() for s in nets.actor.shapes[:self.alpha_index])
        self._compiled = None  # the compiled gradient step, built on first use
        parts.collector.acting = self._acting()

    def _acting(self) -> Acting:
        """The rollout's way to act: a squashed Gaussian draw, or a uniform one in the box
        for a seed before learning_starts; each seed draws from its own generator."""
        parts = self.parts
        generators = [r.generator for r in parts.runs]

        @torch.no_grad()
        def act(obs: torch.Tensor, seeds: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
            head = parts.nets.head(obs)
            mine = head if len(seeds) == head.shape[0] else head[seeds]
            starts, steps = parts.config().learning_starts, parts.collector.env_steps
            warm = [bool(steps[s] < starts) for s in seeds]
            shape = (obs.shape[1], self.act_dim)
            draws = torch.stack([torch.rand(shape, generator=generators[s], device=obs.device) if w
                                 else torch.randn(shape, generator=generators[s], device=obs.device)
                                 for s, w in zip(seeds, warm, strict=True)])
            if all(warm):
                return self.scale.to_env(2 * draws - 1), head
            mean, log_std = split_head(mine)
            unit = torch.tanh(mean + log_std.exp() * draws)
            if any(warm):
                unit = torch.where(torch.tensor(warm, device=obs.device)[:, None, None], 2 * draws - 1, unit)
            return self.scale.to_env(unit), head
        return act

    def update(self, batch: Batch, config: Config) -> Stats:
        """Store the rollout, then (after learning_starts) take the gradient steps; per
        seed its figures."""
        self.buffer.add(batch, self.scale.to_unit(batch.actions).cpu().numpy())
        stats = self.learn(config, batch.seeds)
        return [{**stats.get(s, {}), "alpha": self.alpha(s), "buffer_fill": self.buffer_fill(s)}
                for s in batch.seeds]

    @torch.no_grad()
    def _fix_alpha(self, seeds: list[int], alpha: float) -> None:
        self.parts.nets.rows[seeds, self.alpha_column] = math.log(alpha)

    def alpha(self, s: int) -> float:
        return math.exp(float(self.parts.nets.rows[s, self.alpha_column]))

    def gradient_steps(self, config: Config, seeds: list[int]) -> Stats:
        """``gradient_steps`` steps of each seed on batches from its own buffer, each
        followed by the Polyak update of its target critics; per seed the mean figures."""
        nets, optimizer = self.parts.nets, self.parts.optimizer
        device, every = nets.rows.device, len(seeds) == nets.num_seeds
        learned = config.alpha == "auto"
        target_entropy = ((-float(self.act_dim) if config.target_entropy is None else config.target_entropy)
                          if learned else None)
        tau, steps = config.effective("tau"), config.effective("gradient_steps")
        totals = torch.zeros(len(seeds), 6, device=device)
        stepping = torch.ones(len(seeds), dtype=torch.bool, device=device)
        compiled = self._compiled_step() if every and config.compile_update else None
        for _ in range(steps):
            if not learned:  # written in before each step (Adam's momentum would move it),
                self._fix_alpha(seeds, float(config.alpha))  # and a switch to auto starts there
            sample = self.buffer.sample(seeds, config.batch_size, self.generators, device)
            noise = torch.stack([torch.randn(2, config.batch_size, self.act_dim, generator=self.generators[s])
                                 for s in seeds]).to(device)
            if compiled is not None:
                figures, norms = compiled(sample, noise, stepping, config.gamma, target_entropy, tau)
                totals += torch.cat([figures, norms], 1)
                continue
            # selected anew each step: a subset is a copy, and the last step moved them
            params = nets.select(seeds)
            target = nets.select(seeds, self.target_critic)
            loss, figures = sac_losses(nets, params, target, params[self.alpha_index], sample, noise,
                                       config.gamma, target_entropy)
            norms = descend(nets, optimizer, loss, seeds, 0.0, stepping)  # no clipping, as SB3
            with torch.no_grad():
                online = nets.rows[:, nets.actor_size:]
                if every:
                    self.target_rows.lerp_(online, tau)
                else:
                    self.target_rows[seeds] = self.target_rows[seeds].lerp(online[seeds], tau)
            totals += torch.cat([figures, norms], 1)
        if not learned:
            self._fix_alpha(seeds, float(config.alpha))
        means = (totals / steps).tolist()
        keys = ("q_loss", "actor_loss", "entropy", "q_mean", "grad_norm", "critic_grad_norm")
        return [dict(zip(keys, row, strict=True)) for row in means]

    def _compiled_step(self):
        """One gradient step of every seed as one compiled graph (``compile_update``): the
        same losses, differentiated by ``torch.func.grad`` instead of a backward pass, the
        same Adam (``step_rows``) and the same Polyak update. Built on first use and kept;
        torch.compile caches its kernels on disk for later runs."""
        if self._compiled is None:
            nets, optimizer = self.parts.nets, self.parts.optimizer
            alpha_index, target_rows = self.alpha_index, self.target_rows
            every = list(range(nets.num_seeds))

            def step(sample, noise, stepping, gamma, target_entropy, tau):
                def loss_of(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                    params = nets.views_of(rows)
                    loss, figures = sac_losses(nets, params, nets.critic_views_of(target_rows),
                                               params[alpha_index], sample, noise, gamma, target_entropy)
                    return loss.sum(), figures
                grad, figures = torch.func.grad(loss_of, has_aux=True)(nets.rows)
                optimizer.grad.copy_(grad)
                norms = step_rows(optimizer, every, 0.0, stepping)
                target_rows.lerp_(nets.rows[:, nets.actor_size:], tau)
                return figures, norms

            self._compiled = torch.compile(step, fullgraph=True, dynamic=False)
        return self._compiled

    @torch.no_grad()
    def policy_view(self, obs: torch.Tensor, seeds: list[int]) -> torch.Tensor:
        """The Gaussian before the squash, (mean..., log-std...): tanh is one to one, so
        the KL of the actions is the KL of the Gaussians."""
        mean, log_std = split_head(self.parts.nets.head(obs, self.parts.nets.select(seeds)))
        return torch.cat([mean, log_std], -1)

    @staticmethod
    def greedy(head: torch.Tensor, info: EnvInfo) -> np.ndarray:
        """The mean action: tanh of the Gaussian's mean, scaled to the box."""
        scale = ActionScale(info, head.device)
        return scale.to_env(torch.tanh(split_head(head)[0])).cpu().numpy()

    @staticmethod
    def head_summary(nets: SeedNets, seed: int, head: torch.Tensor, info: EnvInfo) -> tuple[float, ...]:
        """(mean action..., its std...) in the env's units: tanh of the Gaussian's mean,
        and the standard deviation of the squashed actions it draws (by quadrature)."""
        mean, log_std = split_head(head)
        scale = ActionScale(info, head.device)
        squashed = torch.tanh(mean.unsqueeze(-1) + log_std.exp().unsqueeze(-1) * _NODES.to(head))
        weights = _WEIGHTS.to(head)
        first, second = (squashed * weights).sum(-1), (squashed.square() * weights).sum(-1)
        std = scale.half * (second - first.square()).clamp(min=0).sqrt()
        return tuple(torch.cat([scale.to_env(torch.tanh(mean)), std]).tolist())

    @torch.no_grad()
    def policy_shown(self, step: int, obs: np.ndarray, head: torch.Tensor) -> TwinCritics:
        """The mean action and its spread, and the twin critics at the mean action."""
        summary, nets = self.summary(head), self.parts.nets
        x = as_float(obs, nets.rows.device).reshape(1, 1, -1)
        action = torch.tanh(split_head(head)[0]).reshape(1, 1, -1)
        critic = nets.select([0], nets.critic_params(nets.params))
        q = tuple(nets.q_values(x, action, critic)[0, :, 0].tolist())
        d = len(summary) // 2
        return TwinCritics(summary[:d], summary[d:], q)
