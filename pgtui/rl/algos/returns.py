"""Discounted returns, reward-to-go, full-episode returns and GAE: pure tensor functions.

All take time-major tensors of shape (T,) or (T, N) for N envs. ``dones[t]`` is true
when step t ended its episode (terminated or truncated), so nothing is carried from
step t+1 back into step t. ``terminated[t]`` alone decides whether the value of the
next observation is bootstrapped: a truncated episode still has a future.
"""

from __future__ import annotations

import numpy as np
import torch


def backward_scan(x: torch.Tensor, decay: torch.Tensor,
                  last: torch.Tensor | None = None) -> torch.Tensor:
    """y_t = x_t + decay_t * y_{t+1} over the time axis, with y_T = ``last`` (default 0).

    The loop runs in numpy on the CPU, whatever the device: a step there costs about a
    microsecond, a step of small torch ops about eight on the CPU and three kernel
    launches on a GPU, and REINFORCE scans episodes of hundreds of steps.
    """
    last_np = None if last is None else last.detach().cpu().numpy()
    out = _scan(x.detach().cpu().numpy(), decay.detach().cpu().numpy(), last_np)
    return torch.from_numpy(out).to(x.device)


def _scan(xs: np.ndarray, ds: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
    out = np.empty_like(xs)
    running = np.zeros_like(xs[0]) if last is None else last.copy()
    for t in range(xs.shape[0] - 1, -1, -1):
        running = xs[t] + ds[t] * running
        out[t] = running
    return out


def reward_to_go(rewards: torch.Tensor, dones: torch.Tensor, gamma: float,
                 last_value: torch.Tensor | None = None) -> torch.Tensor:
    """G_t = r_t + gamma * G_{t+1}, cut at episode ends; ``last_value`` bootstraps step T."""
    return backward_scan(rewards, gamma * (1.0 - dones.to(rewards.dtype)), last_value)


def full_episode_returns(rewards: torch.Tensor, dones: torch.Tensor, gamma: float) -> torch.Tensor:
    """Every step gets its episode's whole discounted return G_0 (the original REINFORCE).

    Assumes each column starts a fresh episode at t = 0.
    """
    rtg = reward_to_go(rewards, dones, gamma)
    starts = torch.zeros_like(dones, dtype=torch.bool)
    starts[0] = True
    starts[1:] = dones[:-1].to(torch.bool)  # a new episode starts after each end
    # carry each episode's first reward-to-go forward: the index of the latest start
    steps = torch.arange(rtg.shape[0], device=rtg.device).reshape(-1, *[1] * (rtg.dim() - 1))
    latest = torch.where(starts, steps, torch.zeros_like(steps)).cummax(0).values
    return rtg.gather(0, latest)


def gae(rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor,
        terminated: torch.Tensor, dones: torch.Tensor, gamma: float,
        gae_lambda: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimation; returns (advantages, value targets).

    delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t) - V(s_t)
    A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}
    """
    dtype = rewards.dtype
    # in numpy, as backward_scan: on a GPU that is one copy each way, not a dozen kernels
    r, v, v_next, term, done = torch.stack(
        [rewards, values, next_values, terminated.to(dtype), dones.to(dtype)]).detach().cpu().numpy()
    deltas = r + gamma * v_next * (1.0 - term) - v
    advantages = _scan(deltas, gamma * gae_lambda * (1.0 - done))
    out = torch.from_numpy(np.stack([advantages, advantages + v])).to(rewards.device)
    return out[0], out[1]


def normalize(x: torch.Tensor, mask: torch.Tensor | None, eps: float = 1e-8) -> torch.Tensor:
    """Standardize each row of ``x`` (..., L) over its entries where ``mask`` (None: all
    of them): minus the mean, over the unbiased std + ``eps``. A row of one entry is
    only centred."""
    if mask is None:
        if x.shape[-1] < 2:
            return x - x.mean(-1, keepdim=True)
        std, mean = torch.std_mean(x, -1, keepdim=True)
        return (x - mean) / (std + eps)
    weight = mask.to(x.dtype)
    count = weight.sum(-1, keepdim=True)
    centred = x - (x * weight).sum(-1, keepdim=True) / count.clamp(min=1)
    var = (centred * weight).square().sum(-1, keepdim=True) / (count - 1).clamp(min=1)
    return centred / (var.sqrt() + eps)


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The mean of each row of ``x`` (..., L) over its entries where ``mask`` (None: all);
    NaN for none, as a mean of nothing is (the one masked mean of the engine: losses,
    figures and policy change alike)."""
    if mask is None:
        return x.mean(-1)
    weight = mask.to(x.dtype)
    return (x * weight).sum(-1) / weight.sum(-1)


def masked_sum(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The sum of each row of ``x`` (..., L) over its entries where ``mask``."""
    return torch.where(mask, x, torch.zeros((), device=x.device)).sum(-1)


def explained_variance(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per row, 1 - Var(target - pred) / Var(target) over the mask: 1 is a perfect critic,
    <= 0 no better than a constant; nan for fewer than two entries or a constant target."""
    weight = mask.to(pred.dtype)

    def spread(x: torch.Tensor) -> torch.Tensor:  # sum of squares about the masked mean
        mean = (x * weight).sum(-1, keepdim=True) / weight.sum(-1, keepdim=True).clamp(min=1)
        return ((x - mean) * weight).square().sum(-1)

    total = spread(target)
    ratio = 1 - spread(target - pred) / total
    return torch.where((weight.sum(-1) < 2) | (total == 0), torch.nan, ratio)
