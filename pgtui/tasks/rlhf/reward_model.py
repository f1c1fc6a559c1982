"""The reward model: a small network that scores a whole dialogue, trained with the
Bradley-Terry loss on labelers' verdicts over pairs of reference-policy responses.

Bradley-Terry: P(chosen beats rejected) = sigmoid(r(chosen) - r(rejected)); the loss is
its negative log-likelihood, ``-log sigmoid(r_c - r_r)``, whose gradient with respect
to r_c is ``-(1 - sigmoid(r_c - r_r))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...rl.policies import mlp
from .dialogue import CORRECT, NUM_PROMPTS, NUM_RESPONSES, OBS_DIM, final_observations, prompt_probs
from .labelers import label
from .reference import fitting

PAIRS = 20_000  # training pairs
HELD_OUT = 5_000  # pairs kept aside to measure it
FIT_STEPS = 300


class RewardModel(nn.Module):
    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.net = mlp([OBS_DIM, hidden, 1], "tanh", out_gain=1.0)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)


def bradley_terry_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """Mean of -log sigmoid(r_chosen - r_rejected) over the pairs."""
    return -F.logsigmoid(chosen - rejected).mean()


@dataclass(frozen=True)
class FittedRewardModel:
    labeler_bias: float
    scores: np.ndarray  # r(prompt, response), (NUM_PROMPTS, NUM_RESPONSES), centred on pi_ref
    held_out_accuracy: float  # on held-out pairs that differ in correctness: ranks the
    # correct response higher


def _draw(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One index per row of ``probs`` (rows of weights, not necessarily normalized), by
    the inverse of its cumulative weights; an index of weight 0 is never drawn."""
    cdf = probs.cumsum(1)
    return (cdf < rng.random((len(probs), 1)) * cdf[:, -1:]).sum(1).clip(max=probs.shape[1] - 1)


def sample_pairs(rng: np.random.Generator, ref_probs: np.ndarray, size: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prompts, first, second): two different reference-policy responses to each drawn
    prompt, the first from pi_ref and the second from pi_ref less the first. A labeler
    compares two responses: a response against itself says nothing (it would carry no
    gradient for the reward model or DPO, and add log 2 to DPO's loss)."""
    prompts = rng.choice(NUM_PROMPTS, size=size, p=prompt_probs())
    probs = ref_probs[prompts]
    first = _draw(rng, probs)
    others = probs.copy()
    others[np.arange(size), first] = 0.0
    return prompts, first, _draw(rng, others)


def ranking_accuracy(scores: np.ndarray, prompts: np.ndarray, first: np.ndarray,
                     second: np.ndarray) -> float:
    """Of the pairs whose responses differ in correctness, the share where the correct
    one scores higher."""
    differ = CORRECT[prompts, first] != CORRECT[prompts, second]
    p, a, b = prompts[differ], first[differ], second[differ]
    correct_first = CORRECT[p, a]
    gap = scores[p, a] - scores[p, b]
    return float(np.mean(np.where(correct_first, gap > 0, gap < 0)))


def labelled_pairs(ref_probs: np.ndarray, labeler_bias: float, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prompts, chosen, rejected) of ``PAIRS + HELD_OUT`` pairs of reference-policy
    responses judged by labelers of ``labeler_bias``: the first ``PAIRS`` train the
    reward model (and DPO), the rest measure it."""
    rng = np.random.default_rng(seed)
    prompts, first, second = sample_pairs(rng, ref_probs, PAIRS + HELD_OUT)
    first_wins = label(rng, prompts, first, second, labeler_bias)
    return prompts, np.where(first_wins, first, second), np.where(first_wins, second, first)


def fit_reward_model(ref_probs: np.ndarray, labeler_bias: float, seed: int = 0) -> FittedRewardModel:
    """A reward model fitted to labelers of ``labeler_bias`` judging pairs drawn from
    ``ref_probs`` (the reference policy's responses), on one thread (``fitting``)."""
    with fitting():
        return _fit_reward_model(ref_probs, labeler_bias, seed)


def _fit_reward_model(ref_probs: np.ndarray, labeler_bias: float, seed: int) -> FittedRewardModel:
    prompts, winners, losers = labelled_pairs(ref_probs, labeler_bias, seed)
    chosen, rejected = winners[:PAIRS], losers[:PAIRS]
    # score each distinct dialogue once per step
    table = final_observations()
    keys, inverse = np.unique(np.concatenate([prompts[:PAIRS] * NUM_RESPONSES + chosen,
                                              prompts[:PAIRS] * NUM_RESPONSES + rejected]),
                              return_inverse=True)
    obs = torch.as_tensor(table.reshape(-1, OBS_DIM)[keys])
    chosen_at, rejected_at = torch.as_tensor(inverse).split(PAIRS)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RewardModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(FIT_STEPS):
        optimizer.zero_grad()
        scores = model(obs)
        bradley_terry_loss(scores[chosen_at], scores[rejected_at]).backward()
        optimizer.step()
    with torch.no_grad():
        scores = model(torch.as_tensor(table)).double().numpy()
    # Bradley-Terry fixes only differences within a prompt: centre each prompt's scores on
    # the reference policy's mean, so pi_ref's expected proxy reward is 0
    scores -= (ref_probs * scores).sum(1, keepdims=True) / ref_probs.sum(1, keepdims=True)
    held = slice(PAIRS, None)
    accuracy = ranking_accuracy(scores, prompts[held], winners[held], losers[held])
    return FittedRewardModel(labeler_bias, scores, accuracy)
