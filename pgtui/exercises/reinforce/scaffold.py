"""REINFORCE, written by you.

Fill in each function below; each says what it is given and what it returns. Then:

    pgtui exercise check reinforce.py      grade each function, then the whole gradient
    pgtui exercise play reinforce.py       train CartPole with it; save to reload live
    pgtui exercise race reinforce.py       race it, with and without its baseline, beside pgtui's

pgtui collects the episodes and keeps the weights; your functions turn episodes into a
loss. A function you have not written yet raises NotImplementedError: `check` calls it
"not started", and `play` uses pgtui's own in its place until you write it.

The shapes: a batch is time-major, (T, N): T steps of N envs run side by side. Each env
runs whole episodes, one after another, from t = 0:

    rewards[t, n]   the reward of step t in env n
    dones[t, n]     True where step t ended its episode (it reached a goal or failed,
                    or it hit the step limit: either way nothing after it is its future)
    valid[t, n]     False on steps that belong to no episode of the batch: the step
                    after an episode's end, which only resets its env, and the steps
                    of an env after its last episode of the batch. What they hold, and
                    what your functions return there, does not count: leave them out
                    of every mean and sum
    episode_ids     which episode of the batch step t of env n belongs to (0..K-1, where
                    K is the batch's number of episodes), -1 where not valid
"""

import torch
from torch import nn

# pgtui trains these functions with its REINFORCE loop: leave this line as it is
EXERCISE = "pgtui.exercises.reinforce"


def policy_network(obs_dim: int, n_actions: int, hidden: int = 64) -> nn.Module:
    """A policy for discrete actions: observations (B, obs_dim) in, logits (B, n_actions)
    out: two hidden layers of ``hidden`` units with tanh between, and no softmax at the
    end (``log_prob`` and ``entropy`` take the logits).

    `check` grades its shape; `play` trains pgtui's network of this shape, which steps
    many seeds at once."""
    raise NotImplementedError


def log_prob(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log pi(a|s) of each action taken: ``logits`` (..., A), ``actions`` (...) of
    integers in 0..A-1; returns (...). Stay finite for logits in the thousands."""
    raise NotImplementedError


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """H(pi(.|s)) = -sum_a pi(a|s) log pi(a|s) of each row of ``logits`` (..., A);
    returns (...). Stay finite where one action has all the probability."""
    raise NotImplementedError


def reward_to_go(rewards: torch.Tensor, dones: torch.Tensor, gamma: float) -> torch.Tensor:
    """G_t = r_t + gamma r_{t+1} + gamma^2 r_{t+2} + ... up to the end of step t's
    episode, for every step: ``rewards`` and ``dones`` (T, N); returns (T, N)."""
    raise NotImplementedError


def episode_return(rewards: torch.Tensor, dones: torch.Tensor, gamma: float) -> torch.Tensor:
    """The whole episode's return G_0 = r_0 + gamma r_1 + ... on every step of it (the
    original REINFORCE weighs each step by it): ``rewards``, ``dones`` (T, N); returns
    (T, N)."""
    raise NotImplementedError


def mean_baseline(returns: torch.Tensor, episode_ids: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """For each step, the mean of ``returns`` over the valid steps of the batch's *other*
    episodes (a step's own episode is left out: a baseline must not depend on the
    actions it weighs); 0 where no other episode has a valid step. All (T, N)."""
    raise NotImplementedError


def normalize(advantages: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``advantages`` (T, N) standardized over the valid steps: minus their mean,
    divided by their standard deviation (+ 1e-8). A batch of one valid step is only
    centred. Returns (T, N); what it holds on steps that are not valid does not matter."""
    raise NotImplementedError


def advantages(returns: torch.Tensor, values: torch.Tensor, episode_ids: torch.Tensor,
               valid: torch.Tensor, baseline: str, normalized: bool) -> torch.Tensor:
    """The weight of each step's grad log pi: ``returns`` less the baseline, which is
    "none", "mean" (``mean_baseline``) or "value" (``values``, the critic's V(s_t)
    (T, N), which the policy's gradient must not flow into); standardized with
    ``normalize`` when ``normalized``. Returns (T, N)."""
    raise NotImplementedError


def loss(log_probs: torch.Tensor, advantages: torch.Tensor, entropies: torch.Tensor,
         values: torch.Tensor, returns: torch.Tensor, valid: torch.Tensor, num_episodes: int,
         ent_coef: float, vf_coef: float) -> torch.Tensor:
    """The scalar whose gradient descent is REINFORCE, all tensors (T, N):

    - the policy term: minus the sum over valid steps of log pi(a_t|s_t) A_t, divided by
      the batch's number of episodes K (each episode's steps summed, the episodes
      averaged: the estimate of the policy gradient);
    - the entropy bonus: minus ``ent_coef`` times the entropies summed over valid steps
      over K, weighed per step as the policy term is;
    - the critic's loss: ``vf_coef`` times half the mean over valid steps of
      (V(s_t) - G_t)^2, with G_t the ``returns``.
    """
    raise NotImplementedError
