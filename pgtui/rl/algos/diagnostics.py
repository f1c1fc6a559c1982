"""How noisy is the policy gradient? Estimators from per-group gradients.

The batch's policy-gradient estimate is the mean of K group estimates g_1..g_K: one
per episode for REINFORCE, K random equal slices of the rollout for A2C and PPO. From
them, every update (or every ``diag_every`` updates):

- ``grad_var``  = tr Cov(g_k) = sum_k ||g_k - g_mean||^2 / (K - 1): the total variance
  of one group's gradient estimate, summed over all policy parameters.
- ``grad_snr``  = ||g_mean||^2 / (grad_var / K): squared length of the batch gradient
  over the variance of that mean. Near 1 the step is mostly noise; large is clean.
- ``baseline_se`` (REINFORCE with a baseline) = ||h_mean|| / sqrt(tr Cov(h_k) / K), h_k
  an episode's baseline term alone (its gradient with the baseline minus without):
  how many standard errors the term's mean lies from zero, over all parameters at
  once. Its expectation is zero, so this hovers near 1 (the noise of a mean of K);
  a baseline that leaked the episode's own actions would grow it like sqrt(K).
- ``grad_norm`` (computed by the algorithms) = the global L2 norm of the full loss
  gradient before clipping.

Per-group gradients come from one backward pass of the seeds' own batched network
(``networks.py``) with one copy of a seed's parameters per group, for every seed at once.
Only the policy term enters (no entropy or value loss): it is the estimator the
lessons are about.
"""

from __future__ import annotations

import math

import torch

from ..networks import SeedNets


def group_gradients(nets: SeedNets, params: list[torch.Tensor], obs: torch.Tensor,
                    actions: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Gradients of each group's loss -sum_t w_t log pi(a_t|s_t) in the actor's
    parameters, flattened in a row's order, (G, P_actor), for ``params`` (G, ...) (a
    seed's parameters per group), ``obs`` (G, W, obs_dim), ``actions`` (G, W[, act_dim])
    and ``weights`` (G, W); padded entries carry weight 0."""
    with torch.enable_grad():
        copies = [p.detach().clone().requires_grad_() for p in params]
        logp, _, _ = nets.evaluate(obs, actions, copies, critic=False)
        actor = copies[:len(nets.actor.shapes)]
        grads = torch.autograd.grad(-(logp * weights).sum(), actor)
    return nets.as_rows(list(grads))


def gradient_noise(group_grads: torch.Tensor, groups: torch.Tensor | None = None
                   ) -> list[dict[str, float]]:
    """``grad_var`` and ``grad_snr`` of each seed from its per-group gradients
    (S, K, P); ``groups`` (S, K) marks the groups that exist (default: all). A seed with
    fewer than two groups gets {}."""
    if groups is None:
        groups = torch.ones(group_grads.shape[:2], dtype=torch.bool, device=group_grads.device)
    weight = groups.to(group_grads.dtype).unsqueeze(-1)
    k = weight.sum(1)  # (S, 1)
    mean = (group_grads * weight).sum(1) / k.clamp(min=1)
    trace_var = ((group_grads - mean.unsqueeze(1)).square() * weight).sum((1, 2)) / (k.squeeze(1) - 1)
    signal = mean.square().sum(1)
    out = []
    for count, var, sig in torch.stack([k.squeeze(1), trace_var, signal], 1).tolist():
        if count < 2:
            out.append({})
        else:
            out.append({"grad_var": var, "grad_snr": sig / (var / count) if var > 0 else float("inf")})
    return out


def episode_groups(episode_ids: torch.Tensor, mask: torch.Tensor, num_episodes: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded positions (S, K, W) in each seed's row of steps, one group per episode,
    and their mask; ``episode_ids`` (S, L) numbers each seed's episodes from 0 where
    ``mask``. Masked-out entries point at position 0."""
    S, L = episode_ids.shape
    offset = num_episodes * torch.arange(S, device=mask.device).unsqueeze(1)
    ids = torch.where(mask, episode_ids + offset, -1).reshape(-1)
    flat = torch.nonzero(ids >= 0).squeeze(1)
    ep = ids[flat]
    order = torch.argsort(ep, stable=True)
    flat, ep = flat[order], ep[order]
    lengths = torch.bincount(ep, minlength=S * num_episodes)
    starts = torch.cumsum(lengths, 0) - lengths
    pos = torch.arange(len(ep), device=ep.device) - starts[ep]
    width = int(lengths.max()) if len(lengths) else 0
    index = torch.zeros((S * num_episodes, width), dtype=torch.long, device=ep.device)
    group_mask = torch.zeros((S * num_episodes, width), dtype=torch.bool, device=ep.device)
    index[ep, pos] = flat % L
    group_mask[ep, pos] = True
    return index.view(S, num_episodes, width), group_mask.view(S, num_episodes, width)


def random_groups(counts: torch.Tensor, generators: list[torch.Generator | None],
                  num_groups: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """``num_groups`` random equal slices of each seed's ``counts`` steps, as positions
    (S, num_groups, W) and mask; a seed whose generator is None gets none."""
    sizes = [int(n) // num_groups if g is not None else 0
             for n, g in zip(counts.tolist(), generators, strict=True)]
    width = max(sizes)
    index = torch.zeros(len(sizes), num_groups, width, dtype=torch.long)
    mask = torch.zeros(len(sizes), num_groups, width, dtype=torch.bool)
    for s, (size, n, g) in enumerate(zip(sizes, counts.tolist(), generators, strict=True)):
        if size > 0:
            perm = torch.randperm(int(n), generator=g)
            index[s, :, :size] = perm[:size * num_groups].view(num_groups, size)
            mask[s, :, :size] = True
    return index.to(counts.device), mask.to(counts.device)


def measure(nets: SeedNets, params: list[torch.Tensor], samples, weights: torch.Tensor,
            index: torch.Tensor, mask: torch.Tensor, reference: torch.Tensor | None = None,
            baseline_term: torch.Tensor | None = None) -> list[dict[str, float]]:
    """Per seed, the gradient noise of the estimator -sum w log pi over its groups
    ``index``/``mask`` (S, K, W) of its packed steps (``samples``, ``weights`` (S, L)).

    With ``reference`` (other weights for the same steps) the same pass also measures
    that estimator, as ``grad_var_ref``; with ``baseline_term`` (the weights' difference
    from no baseline's), how far the mean of that term lies from zero, as
    ``baseline_se``. The groups are simply listed once per set of weights.
    """
    S, K, W = index.shape
    if K == 0 or W == 0:
        return [{} for _ in range(S)]
    seed = torch.arange(S, device=index.device).view(S, 1, 1)
    obs, actions = samples.obs[seed, index], samples.actions[seed, index]
    sets = [x for x in (weights, reference, baseline_term) if x is not None]
    w = torch.cat([torch.where(mask, x[seed, index], 0.0) for x in sets], 1)
    copies = len(sets)
    grads = group_gradients(
        nets, [p.detach().repeat_interleave(K * copies, 0) for p in params],
        torch.cat([obs] * copies, 1).flatten(0, 1), torch.cat([actions] * copies, 1).flatten(0, 1),
        w.flatten(0, 1)).view(S, K * copies, -1)
    groups = mask.any(-1)
    stats = gradient_noise(grads[:, :K], groups)
    if reference is not None:
        for s, ref in zip(stats, gradient_noise(grads[:, K:2 * K], groups), strict=True):
            if s and ref:
                s["grad_var_ref"] = ref["grad_var"]
    if baseline_term is not None:
        for s, term in zip(stats, gradient_noise(grads[:, -K:], groups), strict=True):
            if s and term and math.isfinite(term["grad_snr"]):
                s["baseline_se"] = math.sqrt(term["grad_snr"])
    return stats
