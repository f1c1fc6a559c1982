"""pgtui's answer to the REINFORCE exercise: the scaffold's functions, each the engine's
own (``rl/algos/returns.py``, ``reinforce.py``) on the exercise's (T, N) layout. The
grader holds a student's answer against it, and ``play`` fills in, from it, what the
student has not written yet."""

import torch
from torch import nn

from pgtui.rl.algos.reinforce import leave_one_out_mean
from pgtui.rl.algos.returns import full_episode_returns, masked_mean, masked_sum
from pgtui.rl.algos.returns import normalize as normalize_rows
from pgtui.rl.algos.returns import reward_to_go as engine_reward_to_go
from pgtui.rl.networks import categorical_log_prob, log_prob_entropy

EXERCISE = "pgtui.exercises.reinforce"


def policy_network(obs_dim: int, n_actions: int, hidden: int = 64) -> nn.Module:
    return nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, n_actions))


def log_prob(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    return categorical_log_prob(logits, actions)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    return log_prob_entropy(logits, torch.zeros(logits.shape[:-1], dtype=torch.long), None)[1]


def reward_to_go(rewards: torch.Tensor, dones: torch.Tensor, gamma: float) -> torch.Tensor:
    return engine_reward_to_go(rewards, dones, gamma)


def episode_return(rewards: torch.Tensor, dones: torch.Tensor, gamma: float) -> torch.Tensor:
    return full_episode_returns(rewards, dones, gamma)


def mean_baseline(returns: torch.Tensor, episode_ids: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    episodes = int(episode_ids.max()) + 1 if valid.any() else 1
    row = leave_one_out_mean(returns.reshape(1, -1), episode_ids.reshape(1, -1).clamp(min=0),
                             valid.reshape(1, -1), episodes)
    return row.reshape(returns.shape)


def normalize(advantages: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    if int(valid.sum()) < 2:  # one step: only centred
        return advantages - (advantages * valid).sum() / valid.sum().clamp(min=1)
    return normalize_rows(advantages.reshape(1, -1), valid.reshape(1, -1)).reshape(advantages.shape)


def advantages(returns: torch.Tensor, values: torch.Tensor, episode_ids: torch.Tensor,
               valid: torch.Tensor, baseline: str, normalized: bool) -> torch.Tensor:
    if baseline == "mean":
        weights = returns - mean_baseline(returns, episode_ids, valid)
    elif baseline == "value":
        weights = returns - values.detach()
    else:
        weights = returns
    return normalize(weights, valid) if normalized else weights


def loss(log_probs: torch.Tensor, advantages: torch.Tensor, entropies: torch.Tensor,
         values: torch.Tensor, returns: torch.Tensor, valid: torch.Tensor, num_episodes: int,
         ent_coef: float, vf_coef: float) -> torch.Tensor:
    episodes = max(num_episodes, 1)
    mask = valid.reshape(1, -1)
    policy = -masked_sum((log_probs * advantages).reshape(1, -1), mask) / episodes
    bonus = masked_sum(entropies.reshape(1, -1), mask) / episodes
    critic = 0.5 * masked_mean((values - returns).square().reshape(1, -1), mask)
    return (policy - ent_coef * bonus + vf_coef * critic)[0]
