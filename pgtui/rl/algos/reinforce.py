"""REINFORCE for S seeds at once: K complete episodes per seed, weighted by their
returns less a baseline (none, the leave-one-out mean, a learned V(s) or the
variance-minimizing constant), with the gradient's noise measured on the same batch.

The live settings (baseline, return mode, normalization, ent_coef...) are read from
the config passed in on every call, so a change takes effect at the next update.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

from ...config import Config
from ..networks import SeedNets
from ..optim import RowOptimizer, descend
from ..rollout import Batch
from . import diagnostics
from .exact_gradient import true_gradient
from .interface import Learner
from .returns import (
    explained_variance,
    full_episode_returns,
    masked_mean,
    masked_sum,
    normalize,
    reward_to_go,
)
from .samples import Samples, Stats, mask_or_none, pack, per_seed


def leave_one_out_mean(returns: torch.Tensor, episode_ids: torch.Tensor, mask: torch.Tensor,
                       num_episodes: int, groups: torch.Tensor | None = None) -> torch.Tensor:
    """Per step (S, L): the mean return over the seed's *other* episodes' steps; with
    ``groups`` (S, K), over the other episodes of the step's group where it has any
    (the other responses to the same prompt, as RLOO takes them).

    Excluding the step's own episode keeps the baseline independent of its actions, so
    the expected gradient is exactly unchanged (a plain batch mean biases it by 1/K).
    """
    S = returns.shape[0]
    ids = torch.where(mask, episode_ids, 0)
    flat = (ids + num_episodes * torch.arange(S, device=ids.device).unsqueeze(1)).reshape(-1)
    sums = returns.new_zeros(S * num_episodes).index_add_(
        0, flat, torch.where(mask, returns, 0.0).reshape(-1)).view(S, num_episodes)
    counts = returns.new_zeros(S * num_episodes).index_add_(
        0, flat, mask.reshape(-1).to(returns.dtype)).view(S, num_episodes)
    other_sum, other_count = sums.sum(1, keepdim=True) - sums, counts.sum(1, keepdim=True) - counts
    others = torch.where(other_count > 0, other_sum / other_count.clamp(min=1), 0.0)
    if groups is not None:
        group_sum = torch.zeros_like(sums).scatter_add_(1, groups, sums).gather(1, groups) - sums
        group_count = torch.zeros_like(counts).scatter_add_(1, groups, counts).gather(1, groups) - counts
        others = torch.where(group_count > 0, group_sum / group_count.clamp(min=1), others)
    return others.gather(1, ids)


def start_groups(obs: torch.Tensor, episode_ids: torch.Tensor, mask: torch.Tensor,
                 num_episodes: int) -> torch.Tensor:
    """(S, K): one number per distinct first observation of the seed's episodes, so
    episodes that began in the same state (the dialogue's responses to one prompt)
    share it. ``obs`` (S, L, d) and ``episode_ids`` (S, L) in step order."""
    S, L = episode_ids.shape
    ids = torch.where(mask, episode_ids, num_episodes)  # padding: a spare slot
    steps = torch.arange(L, device=ids.device).expand(S, L)
    first = torch.full((S, num_episodes + 1), L - 1, dtype=torch.long, device=ids.device)
    first = first.scatter_reduce(1, ids, steps, "amin")[:, :num_episodes]
    return torch.stack([torch.unique(obs[s, first[s]], dim=0, return_inverse=True)[1]
                        for s in range(S)])


def episode_score_terms(nets: SeedNets, params: list[torch.Tensor], samples: Samples,
                        episode_ids: torch.Tensor, num_episodes: int, returns: torch.Tensor
                        ) -> torch.Tensor:
    """Per episode of each seed (S, K, 2): (u . v, |v|^2), where v = sum_t grad log
    pi(a_t|s_t) and u = sum_t R_t grad log pi(a_t|s_t) is the episode's gradient with
    the returns R and no baseline, in the actor's parameters (zeros for an episode a
    seed does not have). One backward pass, both weightings as groups."""
    index, mask = diagnostics.episode_groups(episode_ids, samples.mask, num_episodes)
    S, K, W = index.shape
    if K == 0 or W == 0:
        return returns.new_zeros((S, num_episodes, 2))
    seed = torch.arange(S, device=index.device).view(S, 1, 1)
    obs, actions = samples.obs[seed, index], samples.actions[seed, index]
    ones = mask.to(obs.dtype)
    weighted = torch.where(mask, returns.detach()[seed, index], 0.0)
    grads = diagnostics.group_gradients(
        nets, [p.detach().repeat_interleave(2 * K, 0) for p in params],
        torch.cat([obs, obs], 1).flatten(0, 1), torch.cat([actions, actions], 1).flatten(0, 1),
        torch.cat([ones, weighted], 1).flatten(0, 1)).view(S, 2 * K, -1)
    v, u = grads[:, :K], grads[:, K:]
    return torch.stack([(u * v).sum(-1), v.square().sum(-1)], -1)


def optimal_baseline(episode_ids: torch.Tensor, mask: torch.Tensor, terms: torch.Tensor
                     ) -> torch.Tensor:
    """Per step (S, L): the constant b minimizing E|sum_t (R_t - b) grad log pi_t|^2, the
    trace of the estimator's covariance: b* = E[u . v] / E[|v|^2] (``episode_score_terms``;
    with the whole return on every step, E[|v|^2 G] / E[|v|^2]), estimated from the
    seed's *other* episodes so that it stays independent of the step's own actions."""
    ids = torch.where(mask, episode_ids, 0)
    uv, vv = terms[..., 0], terms[..., 1]
    other_uv, other_vv = uv.sum(1, keepdim=True) - uv, vv.sum(1, keepdim=True) - vv
    b = torch.where(other_vv > 0, other_uv / other_vv.clamp(min=1e-30), 0.0)
    return b.gather(1, ids)


ScoreTerms = Callable[[torch.Tensor], torch.Tensor]  # returns -> episode_score_terms of them


def reinforce_advantages(returns: torch.Tensor, values: torch.Tensor, samples: Samples,
                         episode_ids: torch.Tensor, num_episodes: int, config: Config,
                         score_terms: ScoreTerms | None = None) -> torch.Tensor:
    """The weight of each step's grad log pi under the config's baseline (S, L);
    ``score_terms`` gives what the optimal baseline needs (``episode_score_terms``)."""
    if config.baseline == "optimal":
        if score_terms is None:
            raise ValueError("the optimal baseline needs the episodes' score terms")
        advantages = returns - optimal_baseline(episode_ids, samples.mask, score_terms(returns))
    elif config.baseline == "value":
        advantages = returns - values
    elif config.baseline == "mean":
        groups = start_groups(samples.obs, episode_ids, samples.mask, num_episodes)
        advantages = returns - leave_one_out_mean(returns, episode_ids, samples.mask, num_episodes,
                                                  groups)
    else:
        advantages = returns
    return normalize(advantages, mask_or_none(samples)) if config.normalize_advantage else advantages


def episode_returns(batch: Batch, config: Config) -> torch.Tensor:
    """Reward-to-go or the whole episode's return, per step (T, S, N)."""
    if config.return_mode == "full":
        return full_episode_returns(batch.rewards, batch.dones, config.gamma)
    return reward_to_go(batch.rewards, batch.dones, config.gamma)


def _score_terms(nets: SeedNets, params: list[torch.Tensor], samples: Samples,
                 episode_ids: torch.Tensor, num_episodes: int) -> ScoreTerms:
    """``episode_score_terms`` of this batch for any returns, computed only if asked."""
    return lambda returns: episode_score_terms(nets, params, samples, episode_ids, num_episodes,
                                               returns)


def reinforce_loss(nets: SeedNets, params: list[torch.Tensor], samples: Samples, returns: torch.Tensor,
                   episode_ids: torch.Tensor, num_episodes: torch.Tensor, config: Config,
                   score_terms: ScoreTerms | None = None
                   ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Per seed: 1/K sum_k sum_t [-A_t log pi(a_t|s_t) - ent_coef * H(pi(.|s_t))]
    + vf_coef * value loss.

    Each step's entropy is weighed as its policy term is (summed over the episode,
    averaged over the K episodes), so ``ent_coef`` pulls as hard against the policy
    gradient here as in A2C and PPO, where both are per-step means.
    Returns (loss (S,), terms); the terms hold the policy loss, value loss and the
    per-step mean entropy (S,) and the advantages (S, L) the gradient diagnostics weigh
    the steps by.
    """
    logp, entropy, values = nets.evaluate(samples.obs, samples.actions, params)
    if score_terms is None:
        score_terms = _score_terms(nets, params, samples, episode_ids, int(num_episodes.max()))
    adv = reinforce_advantages(returns, values.detach(), samples, episode_ids,
                               int(num_episodes.max()), config, score_terms)
    mask = mask_or_none(samples)
    episodes = num_episodes.clamp(min=1)
    policy_loss = -masked_sum(logp * adv, samples.mask) / episodes
    value_loss = 0.5 * masked_mean((values - returns).square(), mask)
    entropy_mean = masked_mean(entropy, mask)
    entropy_bonus = masked_sum(entropy, samples.mask) / episodes
    loss = policy_loss - config.ent_coef * entropy_bonus + config.vf_coef * value_loss
    return loss, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy_mean,
                  "adv": adv.detach(), "values": values.detach(), "logp": logp}


def _against_truth(nets: SeedNets, params: list[torch.Tensor], logp: torch.Tensor,
                   mask: torch.Tensor, num_episodes: torch.Tensor,
                   weights: dict[str, torch.Tensor | None], true_grad: torch.Tensor) -> Stats:
    """Per seed, each estimate 1/K sum_k sum_t w_t grad log pi(a_t|s_t) (one per set of
    ``weights``, named by suffix) against ``true_grad``: ``true_grad_cosine<suffix>`` and
    ``true_grad_mse<suffix>`` (the mean over parameters of the squared error)."""
    actor = params[:len(nets.actor.shapes)]
    out: Stats = [{} for _ in range(true_grad.shape[0])]
    for suffix, w in weights.items():
        if w is None:
            continue
        objective = masked_sum(logp * w.detach(), mask) / num_episodes.clamp(min=1)
        grads = torch.autograd.grad(objective.sum(), actor, retain_graph=True)
        estimate = nets.as_rows(list(grads))
        cosine = torch.nn.functional.cosine_similarity(estimate, true_grad, dim=1)
        mse = (estimate - true_grad).square().mean(1)
        for o, c, m in zip(out, cosine.tolist(), mse.tolist(), strict=True):
            o[f"true_grad_cosine{suffix}"], o[f"true_grad_mse{suffix}"] = c, m
    return out


def reinforce_update(nets: SeedNets, optimizer: RowOptimizer, batch: Batch, config: Config,
                     diagnose: bool, reference: Config | None = None,
                     true_grad: torch.Tensor | None = None) -> Stats:
    """One gradient step per seed on its K complete episodes.

    With ``reference`` (a config that differs in baseline, return mode or normalization)
    the diagnostics also measure that estimator on the same batch as ``grad_var_ref``:
    a paired comparison at the same policy, which a whole-run average is not.
    """
    params = nets.select(batch.seeds)
    samples = pack(batch, episode_returns(batch, config), batch.episode_ids)
    returns, episode_ids = samples.targets
    num_episodes = batch.num_episodes.to(returns.dtype)
    terms = _score_terms(nets, params, samples, episode_ids, int(num_episodes.max()))
    loss, terms = reinforce_loss(nets, params, samples, returns, episode_ids, num_episodes, config,
                                 terms)
    noise: Stats = [{} for _ in batch.seeds]
    width = int(num_episodes.max())
    ref_adv = None
    if reference is not None and (diagnose or true_grad is not None):
        ref_returns = pack(batch, episode_returns(batch, reference)).targets[0]
        ref_adv = reinforce_advantages(ref_returns, terms["values"], samples, episode_ids,
                                       width, reference, terms)
    if diagnose:
        index, mask = diagnostics.episode_groups(episode_ids, samples.mask, width)
        term = None
        if config.baseline != "none":  # the baseline's own term: with it minus without
            without = reinforce_advantages(returns, terms["values"], samples, episode_ids, width,
                                           dataclasses.replace(config, baseline="none"))
            term = terms["adv"] - without
        noise = diagnostics.measure(nets, params, samples, terms["adv"], index, mask, ref_adv, term)
    if true_grad is not None:  # the estimates against the true gradient, on this batch
        noise = [{**n, **t} for n, t in zip(noise, _against_truth(
            nets, params, terms["logp"], samples.mask, num_episodes,
            {"": terms["adv"], "_ref": ref_adv}, true_grad), strict=True)]
    norms = descend(nets, optimizer, loss, batch.seeds, config.max_grad_norm, samples.count > 0)
    stats = per_seed(("policy_loss", "value_loss", "entropy", "loss", "grad_norm",
                    "critic_grad_norm", "explained_variance"),
                   [terms["policy_loss"], terms["value_loss"], terms["entropy"], loss, *norms.T,
                    explained_variance(terms["values"], returns, samples.mask)])
    return [{**s, **n} for s, n in zip(stats, noise, strict=True)]


class Reinforce(Learner):
    """K complete episodes per seed, one gradient step on them; where the env publishes
    its model, every estimate is also measured against the true gradient."""

    def collect(self, config: Config, seeds: list[int]) -> Batch | None:
        return self.parts.collector.episodes(self.parts.nets, config.episodes_per_update, seeds)

    def update(self, batch: Batch, config: Config) -> Stats:
        parts, true_grad = self.parts, None
        reference = dataclasses.replace(config, **parts.reference) if parts.reference else None
        diagnosing = any(d is not None for d in parts.diagnosing(batch.seeds))
        if parts.tabular is not None and diagnosing:  # a diagnostic: every diag_every updates
            true_grad = true_gradient(parts.tabular, parts.nets, parts.nets.select(batch.seeds),
                                      config.gamma)
        return reinforce_update(parts.nets, parts.optimizer, batch, config, diagnosing, reference,
                                true_grad)
