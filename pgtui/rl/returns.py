"""Discounted returns, reward-to-go, full-episode returns and GAE: pure tensor functions.

All take time-major tensors of shape (T,) or (T, N) for N envs. ``dones[t]`` is true
when step t ended its episode (terminated or truncated), so nothing is carried from
step t+1 back into step t. ``terminated[t]`` alone decides whether the value of the
next observation is bootstrapped: a truncated episode still has a future.
"""

from __future__ import annotations

import torch


def reward_to_go(rewards: torch.Tensor, dones: torch.Tensor, gamma: float,
                 last_value: torch.Tensor | None = None) -> torch.Tensor:
    """G_t = r_t + gamma * G_{t+1}, cut at episode ends; ``last_value`` bootstraps step T."""
    returns = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[0]) if last_value is None else last_value.clone()
    not_done = 1.0 - dones.to(rewards.dtype)
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + gamma * not_done[t] * running
        returns[t] = running
    return returns


def full_episode_returns(rewards: torch.Tensor, dones: torch.Tensor, gamma: float) -> torch.Tensor:
    """Every step gets its episode's whole discounted return G_0 (the original REINFORCE).

    Assumes each column starts a fresh episode at t = 0.
    """
    rtg = reward_to_go(rewards, dones, gamma)
    out = torch.empty_like(rtg)
    current = rtg[0]
    done = dones.to(torch.bool)
    out[0] = current
    for t in range(1, rtg.shape[0]):
        current = torch.where(done[t - 1], rtg[t], current)  # a new episode starts at t
        out[t] = current
    return out


def gae(rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor,
        terminated: torch.Tensor, dones: torch.Tensor, gamma: float,
        gae_lambda: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimation; returns (advantages, value targets).

    delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t) - V(s_t)
    A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}
    """
    dtype = rewards.dtype
    not_terminated = 1.0 - terminated.to(dtype)
    not_done = 1.0 - dones.to(dtype)
    deltas = rewards + gamma * next_values * not_terminated - values
    advantages = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = deltas[t] + gamma * gae_lambda * not_done[t] * running
        advantages[t] = running
    return advantages, advantages + values


def normalize(x: torch.Tensor, mask: torch.Tensor | None = None, eps: float = 1e-8) -> torch.Tensor:
    """Standardize over the entries where ``mask`` is true (all entries when None)."""
    sel = x if mask is None else x[mask]
    if sel.numel() < 2:
        return x - sel.mean() if sel.numel() else x
    return (x - sel.mean()) / (sel.std() + eps)
