"""How noisy is the policy gradient? Estimators from per-group gradients.

The batch's policy-gradient estimate is the mean of K group estimates g_1..g_K: one
per episode for REINFORCE, K random equal slices of the rollout for A2C and PPO. From
them, every update (or every ``diag_every`` updates):

- ``grad_var``  = tr Cov(g_k) = sum_k ||g_k - g_mean||^2 / (K - 1): the total variance
  of one group's gradient estimate, summed over all policy parameters.
- ``grad_snr``  = ||g_mean||^2 / (grad_var / K): squared length of the batch gradient
  over the variance of that mean. Near 1 the step is mostly noise; large is clean.
- ``grad_norm`` (computed by the algorithms) = the global L2 norm of the full loss
  gradient before clipping.

Per-group gradients come from one pass over groups padded to a common length: for an
MLP actor a stacked pass with one copy of the actor per group (``stacked_mlp.py``,
1.6x faster than ``torch.func``), otherwise one ``vmap(grad(...))`` call. Measuring
costs about one extra forward-backward pass.
Only the policy term enters (no entropy or value loss): it is the estimator the
lessons are about.
"""

from __future__ import annotations

import torch
from torch.func import functional_call, grad, vmap

from .policies import Actor, log_prob_entropy
from .stacked_mlp import net_layout, stacked_mlp


def group_gradients(actor: Actor, obs: torch.Tensor, actions: torch.Tensor,
                    weights: torch.Tensor) -> torch.Tensor:
    """Flattened gradients of each group's loss -sum_t w_t log pi(a_t|s_t), shape (K, P).

    ``obs`` is (K, L, obs_dim), ``actions`` (K, L[, act_dim]), ``weights`` (K, L); padded
    entries carry weight 0.
    """
    layout = net_layout(actor)
    if layout is not None:  # one stacked pass with a copy of the actor per group
        flat = torch.cat([p.detach().reshape(-1) for p in actor.parameters()])
        with torch.enable_grad():
            rows = flat.expand(obs.shape[0], -1).clone().requires_grad_()
            log_std = None if layout.log_std is None else rows[:, layout.log_std].unsqueeze(1)
            logp, _ = log_prob_entropy(stacked_mlp(rows, obs, layout), actions, log_std)
            return torch.autograd.grad(-(logp * weights).sum(), rows)[0]
    params = {k: v.detach() for k, v in actor.named_parameters()}

    def loss(p, o, a, w):
        logp, _ = functional_call(actor, p, (o, a))
        return -(logp * w).sum()

    grads = vmap(grad(loss), in_dims=(None, 0, 0, 0))(params, obs, actions, weights)
    return torch.cat([g.reshape(g.shape[0], -1) for g in grads.values()], dim=1)


def gradient_noise(group_grads: torch.Tensor) -> dict[str, float]:
    """``grad_var`` and ``grad_snr`` from per-group gradients (K, P), K >= 2."""
    return gradient_noises(group_grads.unsqueeze(0))[0]


def gradient_noises(group_grads: torch.Tensor) -> list[dict[str, float]]:
    """``gradient_noise`` of each estimator's (K, P) block of ``group_grads`` (M, K, P)."""
    k = group_grads.shape[1]
    if k < 2:
        return [{} for _ in range(group_grads.shape[0])]
    mean = group_grads.mean(1, keepdim=True)
    trace_var = ((group_grads - mean) ** 2).sum((1, 2)) / (k - 1)
    signal = (mean**2).sum((1, 2))
    out = []
    for var, sig in torch.stack([trace_var, signal], 1).tolist():
        out.append({"grad_var": var, "grad_snr": sig / (var / k) if var > 0 else float("inf")})
    return out


def episode_groups(episode_ids: torch.Tensor, num_episodes: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded gather indices (K, L) into ``episode_ids``' positions, one row per episode.

    ``episode_ids`` is flat, -1 where a step belongs to no episode. Returns (index,
    mask); masked-out entries point at element 0.
    """
    ids = episode_ids.reshape(-1)
    flat = torch.nonzero(ids >= 0).squeeze(1)
    ep = ids[flat]
    order = torch.argsort(ep, stable=True)
    flat, ep = flat[order], ep[order]
    lengths = torch.bincount(ep, minlength=num_episodes)
    starts = torch.cumsum(lengths, 0) - lengths
    pos = torch.arange(len(ep), device=ep.device) - starts[ep]
    width = int(lengths.max()) if len(lengths) else 0
    index = torch.zeros((num_episodes, width), dtype=torch.long, device=ep.device)
    mask = torch.zeros((num_episodes, width), dtype=torch.bool, device=ep.device)
    index[ep, pos] = flat
    mask[ep, pos] = True
    return index, mask


def random_groups(valid: torch.Tensor, num_groups: int, generator: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``num_groups`` random equal slices of the valid transitions, as (index, mask)."""
    flat = torch.nonzero(valid.reshape(-1)).squeeze(1)
    perm = torch.randperm(len(flat), generator=generator, device="cpu").to(flat.device)
    size = len(flat) // num_groups
    index = flat[perm[: size * num_groups]].reshape(num_groups, size)
    return index, torch.ones_like(index, dtype=torch.bool)


def measure(actor: Actor, obs: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor,
            index: torch.Tensor, mask: torch.Tensor,
            reference: torch.Tensor | None = None) -> dict[str, float]:
    """Gradient noise of the estimator -sum w log pi over the groups ``index``/``mask``.

    ``obs``, ``actions`` and ``weights`` are flattened over time and envs. With
    ``reference`` (other weights for the same steps) the same pass also measures that
    estimator, as ``grad_var_ref``: the groups are simply listed twice.
    """
    if index.shape[0] < 2 or index.shape[1] == 0:
        return {}
    zero = torch.zeros((), device=weights.device)
    w = torch.where(mask, weights[index], zero)
    o, a = obs[index], actions[index]
    if reference is None:
        return gradient_noise(group_gradients(actor, o, a, w))
    w_ref = torch.where(mask, reference[index], zero)
    grads = group_gradients(actor, torch.cat([o, o]), torch.cat([a, a]), torch.cat([w, w_ref]))
    own, ref = grads.split(index.shape[0])
    stats = gradient_noise(own)
    stats["grad_var_ref"] = gradient_noise(ref)["grad_var"]
    return stats
