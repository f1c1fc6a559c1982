"""REINFORCE, A2C and PPO updates: each ``update(...)`` takes a batch and returns stats.

The live parameters are read from the config passed in on every call, so a change
submitted to the Trainer takes effect at the next update and never halfway through one.
"""

from __future__ import annotations

import math

import torch

from ..config import Config
from . import diagnostics
from .flat import FlatOptimizer
from .policies import ActorCritic
from .returns import full_episode_returns, gae, normalize, reward_to_go
from .rollout import Batch

DIAG_GROUPS = 8  # slices of an A2C/PPO rollout for the gradient-noise estimate


def explained_variance(pred: torch.Tensor, target: torch.Tensor) -> float:
    """1 - Var(target - pred) / Var(target): 1 is a perfect critic, <= 0 is no better than a constant."""
    if target.numel() < 2:
        return float("nan")
    var = target.var()
    return float("nan") if var == 0 else float(1 - (target - pred).var() / var)


def leave_one_out_mean(returns: torch.Tensor, episode_ids: torch.Tensor, valid: torch.Tensor,
                       num_episodes: int) -> torch.Tensor:
    """Per step: the mean return over the batch's *other* episodes' steps.

    Excluding the step's own episode keeps the baseline independent of its actions, so
    the expected gradient is exactly unchanged (a plain batch mean biases it by 1/K).
    """
    ids = torch.where(valid, episode_ids, torch.zeros_like(episode_ids)).reshape(-1)
    r = torch.where(valid, returns, torch.zeros_like(returns)).reshape(-1)
    sums = torch.zeros(num_episodes, device=r.device).index_add_(0, ids, r)
    counts = torch.zeros(num_episodes, device=r.device).index_add_(0, ids, valid.reshape(-1).float())
    others = (sums.sum() - sums) / (counts.sum() - counts).clamp(min=1.0)
    others = torch.where(counts.sum() - counts > 0, others, torch.zeros_like(others))
    return others[ids].reshape(returns.shape)


def reinforce_weights(batch: Batch, values: torch.Tensor, config: Config
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """(returns, advantages) for REINFORCE under the config's return mode and baseline."""
    if config.return_mode == "full":
        returns = full_episode_returns(batch.rewards, batch.dones, config.gamma)
    else:
        returns = reward_to_go(batch.rewards, batch.dones, config.gamma)
    if config.baseline == "value":
        advantages = returns - values
    elif config.baseline == "mean":
        advantages = returns - leave_one_out_mean(returns, batch.episode_ids, batch.valid,
                                                  batch.num_episodes)
    else:
        advantages = returns.clone()
    if config.normalize_advantage:
        advantages = normalize(advantages, batch.valid)
    return returns, advantages


def _step(optimizer: FlatOptimizer, loss: torch.Tensor, max_grad_norm: float) -> float:
    """One optimizer step on ``loss``; returns the gradient norm before clipping.

    The gradients are zeroed in place, not dropped: with flat parameters (``flat.py``)
    the module's ``.grad`` tensors are views that autograd accumulates into. A
    non-finite norm skips the step (the trainer then reports the divergence).
    """
    params = optimizer.params
    for p in params:
        if p.grad is not None:
            p.grad.zero_()
    loss.backward()
    grads = [p.grad for p in params if p.grad is not None]
    norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])
    norm = torch.linalg.vector_norm(norms)
    if max_grad_norm > 0:
        scale = (max_grad_norm / (norm + 1e-6)).clamp_(max=1.0)
        for g in grads:
            g.mul_(scale)
    grad_norm = float(norm)
    if math.isfinite(grad_norm):
        optimizer.step()
    return grad_norm


def reinforce_loss(policy: ActorCritic, batch: Batch, config: Config
                   ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """-1/K sum_k sum_t A_t log pi(a_t|s_t) - ent_coef * H + vf_coef * value loss.

    Returns (total loss, parts); parts hold the policy loss, value loss, entropy and the
    flat tensors the gradient diagnostics need.
    """
    valid = batch.valid
    obs, actions = batch.obs[valid], batch.actions[valid]
    values = policy.critic(batch.obs)
    returns, advantages = reinforce_weights(batch, values.detach(), config)
    adv = advantages[valid]
    logp, entropy = policy.actor(obs, actions)
    policy_loss = -(logp * adv).sum() / max(batch.num_episodes, 1)
    value_loss = 0.5 * ((values[valid] - returns[valid]) ** 2).mean()
    entropy_mean = entropy.mean()
    loss = policy_loss - config.ent_coef * entropy_mean + config.vf_coef * value_loss
    return loss, {"policy_loss": policy_loss, "value_loss": value_loss,
                  "entropy": entropy_mean, "obs": obs, "actions": actions, "adv": adv,
                  "values": values[valid].detach(), "returns": returns[valid],
                  "all_values": values.detach()}


def reinforce_targets(batch: Batch, values: torch.Tensor, config: Config) -> list[torch.Tensor]:
    """(obs, actions, advantages, returns) over the valid steps of K episodes, with
    ``values`` the critic's on ``batch.obs`` before the step: what a stacked REINFORCE
    step learns from (``reinforce_loss`` computes the same within its own forward pass)."""
    returns, advantages = reinforce_weights(batch, values, config)
    keep = batch.valid.nonzero(as_tuple=True)
    return [t[keep] for t in (batch.obs, batch.actions, advantages, returns)]


def reinforce_noise(policy: ActorCritic, batch: Batch, obs: torch.Tensor, actions: torch.Tensor,
                    adv: torch.Tensor, values: torch.Tensor, reference: Config | None
                    ) -> dict[str, float]:
    """REINFORCE's gradient diagnostics: one group per episode; with ``reference``, that
    estimator's weights on the same steps too (``values``: the critic's on ``batch.obs``)."""
    index, mask = diagnostics.episode_groups(batch.episode_ids[batch.valid], batch.num_episodes)
    ref_adv = None
    if reference is not None:
        ref_adv = reinforce_weights(batch, values, reference)[1][batch.valid]
    return diagnostics.measure(policy.actor, obs, actions, adv, index, mask, ref_adv)


def reinforce_update(policy: ActorCritic, optimizer: FlatOptimizer, batch: Batch,
                     config: Config, diagnose: bool, reference: Config | None = None
                     ) -> dict[str, float]:
    """One gradient step on K complete episodes.

    With ``reference`` (a config that differs in baseline, return mode or normalization)
    the diagnostics also measure that estimator on the same batch as ``grad_var_ref``:
    a paired comparison at the same policy, which a whole-run average is not.
    """
    loss, parts = reinforce_loss(policy, batch, config)
    stats = {}
    if diagnose:
        stats = reinforce_noise(policy, batch, parts["obs"], parts["actions"], parts["adv"],
                                parts["all_values"], reference)
    grad_norm = _step(optimizer, loss, config.max_grad_norm)
    return {
        "policy_loss": parts["policy_loss"].item(), "value_loss": parts["value_loss"].item(),
        "entropy": parts["entropy"].item(), "grad_norm": grad_norm,
        "explained_variance": explained_variance(parts["values"], parts["returns"]),
        "loss": loss.item(), **stats,
    }


def gae_targets(batch: Batch, config: Config) -> tuple[torch.Tensor, torch.Tensor]:
    return gae(batch.rewards, batch.values, batch.next_values, batch.terminated, batch.dones,
               config.gamma, config.gae_lambda)


def flat_rollout(batch: Batch, config: Config) -> list[torch.Tensor]:
    """(obs, actions, GAE advantages, value targets) of an n-step rollout, over its valid
    steps: what A2C and PPO (alone or stacked) learn from."""
    advantages, returns = gae_targets(batch, config)
    keep = batch.valid.nonzero(as_tuple=True)  # one look at the mask (a GPU sync), not four
    return [t[keep] for t in (batch.obs, batch.actions, advantages, returns)]


def rollout_noise(policy: ActorCritic, obs: torch.Tensor, actions: torch.Tensor,
                  adv: torch.Tensor, config: Config, generator: torch.Generator | None
                  ) -> dict[str, float]:
    """A2C's and PPO's gradient diagnostics: random slices of the rollout, weighted by the
    advantages as the loss sees them; {} when ``generator`` is None (not this update)."""
    if generator is None:
        return {}
    if config.normalize_advantage:
        adv = normalize(adv)
    index, mask = diagnostics.random_groups(torch.ones_like(adv, dtype=torch.bool),
                                            DIAG_GROUPS, generator)
    if index.shape[1] == 0:
        return {}
    return diagnostics.measure(policy.actor, obs, actions, adv / index.shape[1], index, mask)


def a2c_update(policy: ActorCritic, optimizer: FlatOptimizer, batch: Batch,
               config: Config, diagnose: torch.Generator | None) -> dict[str, float]:
    """One gradient step on an n-step rollout with GAE advantages.

    ``diagnose``: the generator that draws the diagnostics' random groups, or None to
    skip them (a generator of its own, so measuring never changes what is learned).
    """
    obs, actions, adv, ret = flat_rollout(batch, config)
    stats = rollout_noise(policy, obs, actions, adv, config, diagnose)
    if config.normalize_advantage:
        adv = normalize(adv)
    logp, entropy = policy.actor(obs, actions)
    values = policy.critic(obs)
    policy_loss = -(logp * adv).mean()
    value_loss = 0.5 * ((values - ret) ** 2).mean()
    entropy_mean = entropy.mean()
    loss = policy_loss - config.ent_coef * entropy_mean + config.vf_coef * value_loss
    grad_norm = _step(optimizer, loss, config.max_grad_norm)
    return {
        "policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
        "entropy": entropy_mean.item(), "grad_norm": grad_norm,
        "explained_variance": explained_variance(batch.values[batch.valid], ret),
        "loss": loss.item(), **stats,
    }


def _approx_kl(log_ratio: torch.Tensor) -> torch.Tensor:
    """KL(old || new) from samples of the old policy: the k3 estimator, always >= 0."""
    return ((log_ratio.exp() - 1) - log_ratio).mean()


def minibatch_split(n: int, num_minibatches: int) -> tuple[int, int]:
    """(minibatch size, number of minibatches) for ``n`` samples: a remainder is left
    out, so a small rollout may give more minibatches than asked for (5 of 3 for 15 in 4)."""
    size = max(n // num_minibatches, 1)
    return size, len(range(0, n - size + 1, size))


def ppo_update(policy: ActorCritic, optimizer: FlatOptimizer, batch: Batch,
               config: Config, diagnose: torch.Generator | None,
               generator: torch.Generator) -> dict[str, float]:
    """Clipped-surrogate epochs over minibatches of one rollout; ``generator`` shuffles
    the minibatches, ``diagnose`` is as in ``a2c_update``."""
    obs, actions, adv_all, ret = flat_rollout(batch, config)
    with torch.no_grad():
        old_logp, _ = policy.actor(obs, actions)
    stats = rollout_noise(policy, obs, actions, adv_all, config, diagnose)
    n = obs.shape[0]
    mb_size, num_mb = minibatch_split(n, config.num_minibatches)
    losses: list[torch.Tensor] = []  # per minibatch: policy_loss, value_loss, entropy
    log_ratios: list[torch.Tensor] = []  # for approx_kl and clipfrac, computed once at the end
    grad_norms: list[float] = []
    stopped_early = False
    for _ in range(config.update_epochs):
        perm = torch.randperm(n, generator=generator, device="cpu").to(obs.device)
        for start in range(0, num_mb * mb_size, mb_size):
            mb = perm[start:start + mb_size]
            mb_obs, adv = obs[mb], adv_all[mb]
            if config.normalize_advantage:
                adv = normalize(adv)
            logp, entropy = policy.actor(mb_obs, actions[mb])
            log_ratio = logp - old_logp[mb]
            ratio = log_ratio.exp()
            clipped = ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef)
            policy_loss = -torch.min(ratio * adv, clipped * adv).mean()
            value_loss = 0.5 * (policy.critic(mb_obs) - ret[mb]).square().mean()
            entropy_mean = entropy.mean()
            loss = policy_loss - config.ent_coef * entropy_mean + config.vf_coef * value_loss
            grad_norms.append(_step(optimizer, loss, config.max_grad_norm))
            losses.append(torch.stack([policy_loss, value_loss, entropy_mean]).detach())
            log_ratios.append(log_ratio.detach())
        if config.target_kl > 0 and float(_approx_kl(log_ratios[-1])) > config.target_kl:
            stopped_early = True
            break
    if losses:  # every minibatch has mb_size samples: the mean over all is the mean of means
        all_log_ratios = torch.cat(log_ratios)
        clipfrac = ((all_log_ratios.exp() - 1).abs() > config.clip_coef).float().mean()
        means = [*torch.stack(losses).mean(0).tolist(), float(_approx_kl(all_log_ratios)),
                 float(clipfrac)]
    else:
        means = [math.nan] * 5
    out = dict(zip(("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac"), means,
                   strict=True))
    out["grad_norm"] = sum(grad_norms) / len(grad_norms) if grad_norms else math.nan
    out["explained_variance"] = explained_variance(batch.values[batch.valid], ret)
    out["early_stop"] = float(stopped_early)
    return {**out, **stats}
