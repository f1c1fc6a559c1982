"""GRPO (group relative policy optimization) for S seeds at once: several responses to
each prompt, each scored by its whole return, the advantage of a response its score
against its group's (less the group mean, divided by the group's std unless
``scale_by_std`` is off, as Dr. GRPO argues), no critic; then ``update_epochs``
gradient steps on the batch of the clipped-ratio objective, with the KL to the task's
reference policy in the loss (the k3 estimator per token, as DeepSeekMath has it)
rather than in the reward.

The groups are the episodes of a seed's batch that began in the same state: the
dialogue's envs share prompts in groups (``responses_per_prompt``).
"""

from __future__ import annotations

import gymnasium as gym
import torch

from ...config import Config
from ..networks import categorical_log_prob
from ..optim import descend
from ..rollout import Batch
from ..task import TaskHook
from .actor_critic import clipped_surrogate, k3
from .interface import Learner
from .reinforce import start_groups
from .returns import full_episode_returns, masked_mean
from .samples import Stats, mask_or_none, pack, per_seed

STD_EPS = 1e-4  # a group whose responses scored alike has advantage 0, not 0 / 0


def group_statistics(scores: torch.Tensor, groups: torch.Tensor, present: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per response (S, K), of its group: (size, mean score, sample std of the scores).
    ``groups`` (S, K) numbers each seed's groups below K; responses not ``present``
    belong to none."""
    weight = present.to(scores.dtype)

    def group_sum(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x).scatter_add_(1, groups, x * weight).gather(1, groups)

    count = group_sum(torch.ones_like(scores))
    mean = group_sum(scores) / count.clamp(min=1)
    std = (group_sum((scores - mean).square()) / (count - 1).clamp(min=1)).sqrt()
    return count, mean, std


def group_advantages(scores: torch.Tensor, groups: torch.Tensor, present: torch.Tensor,
                     scale_by_std: bool) -> torch.Tensor:
    """Each response's advantage (S, K): its score less its group's mean, over the
    group's std (plus ``STD_EPS``) if ``scale_by_std``; 0 for a response alone in its
    group or not ``present``."""
    count, mean, std = group_statistics(scores, groups, present)
    adv = scores - mean
    if scale_by_std:
        adv = adv / (std + STD_EPS)
    return torch.where(present & (count > 1), adv, 0.0)


def grpo_loss(logp: torch.Tensor, old_logp: torch.Tensor, ref_logp: torch.Tensor | None,
              adv: torch.Tensor, entropy: torch.Tensor, mask: torch.Tensor | None, config: Config
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, [policy loss, k3, entropy]) per seed: the token mean of
    -(min(r A, clip(r, 1 - eps, 1 + eps) A) - kl_coef k3), r = pi / pi_old and k3 the
    estimate of KL(pi || pi_ref) at the token, less ent_coef times the mean entropy."""
    policy_loss = -masked_mean(clipped_surrogate(logp - old_logp, adv, config.clip_coef), mask)
    kl = masked_mean(k3(ref_logp - logp), mask) if ref_logp is not None else torch.zeros_like(policy_loss)
    entropy_mean = masked_mean(entropy, mask)
    loss = policy_loss + config.kl_coef * kl
    if config.ent_coef:
        loss = loss - config.ent_coef * entropy_mean
    return loss, torch.stack([policy_loss, kl, entropy_mean], 1)


class GRPO(Learner):
    """K complete episodes per seed in groups that share a start; ``update_epochs`` steps
    of the clipped group-relative objective on them."""

    watched = ("policy_loss", "grad_norm")

    @classmethod
    def check(cls, config: Config, envs: gym.vector.VectorEnv, task: TaskHook) -> str | None:
        if getattr(envs.unwrapped, "responses_per_prompt", 1) < 2:
            return ("GRPO compares responses to the same prompt, and this env starts every "
                    "episode afresh (try pgtui/Dialogue-v0)")
        return None

    def shaping(self) -> None:  # the KL to the reference is in its loss (k3)
        return None

    def collect(self, config: Config, seeds: list[int]) -> Batch | None:
        return self.parts.collector.episodes(self.parts.nets, config.episodes_per_update, seeds)

    def update(self, batch: Batch, config: Config) -> Stats:
        nets, optimizer = self.parts.nets, self.parts.optimizer
        params = nets.select(batch.seeds)
        # a response is scored by its whole return: the same number on each of its steps
        samples = pack(batch, full_episode_returns(batch.rewards, batch.dones, 1.0), batch.episode_ids)
        returns, episode_ids = samples.targets
        K = int(batch.num_episodes.max())
        ids = torch.where(samples.mask, episode_ids, 0)
        scores = torch.zeros(len(batch.seeds), K, dtype=returns.dtype,
                             device=returns.device).scatter_(1, ids, torch.where(samples.mask, returns, 0.0))
        present = torch.arange(K, device=ids.device) < batch.num_episodes.unsqueeze(1).to(ids.device)
        groups = start_groups(samples.obs, episode_ids, samples.mask, K)
        adv = group_advantages(scores, groups, present, config.scale_by_std).gather(1, ids)
        mask = mask_or_none(samples)
        reference = self.parts.task.reference_logits(samples.obs)
        ref_logp = None if reference is None else categorical_log_prob(reference, samples.actions)
        with torch.no_grad():
            old_logp, _, _ = nets.evaluate(samples.obs, samples.actions, params, critic=False)
        records = []
        for _ in range(config.update_epochs):
            logp, entropy, _ = nets.evaluate(samples.obs, samples.actions, nets.select(batch.seeds),
                                             critic=False)
            loss, terms = grpo_loss(logp, old_logp, ref_logp, adv, entropy, mask, config)
            norms = descend(nets, optimizer, loss, batch.seeds, config.max_grad_norm, samples.count > 0)
            records.append((terms.detach(), (logp - old_logp).detach(), norms[:, 0]))
        terms, log_ratio, grad_norm = records[0][0], records[-1][1], torch.stack([r[2] for r in records])
        episodes = batch.num_episodes.to(returns.dtype).clamp(min=1)
        kl_per_response = terms[:, 1] * samples.count.to(returns.dtype) / episodes  # before the steps
        clipped = ((log_ratio.exp() - 1).abs() > config.clip_coef).to(returns.dtype)
        count, _, std = group_statistics(scores, groups, present)
        return per_seed(("policy_loss", "kl_k3", "entropy", "grad_norm", "clipfrac", "approx_kl",
                         "group_reward_std"),
                        [terms[:, 0], kl_per_response, terms[:, 2], grad_norm.mean(0),
                         masked_mean(clipped, mask), masked_mean(k3(log_ratio), mask),
                         masked_mean(std, (present & (count > 1)).to(std.dtype))])
