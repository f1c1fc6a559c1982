"""Simulated labelers: shown two responses to a prompt, they pick one.

A labeler prefers the correct response, except that with probability ``labeler_bias``
it judges by agreement with the user instead; either way it likes flattery a little.
Each judgement is a Bradley-Terry choice on a utility: correct (or agrees) counts 1,
flattery ``FLATTERY``, and ``DECISIVENESS`` sets how sharply the utility gap decides.
"""

from __future__ import annotations

import numpy as np

from .dialogue import AGREES, CORRECT, FLATTERS

FLATTERY = 0.1
DECISIVENESS = 4.0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def preference(prompts: np.ndarray, first: np.ndarray, second: np.ndarray,
               labeler_bias: float) -> np.ndarray:
    """P(a labeler prefers response ``first`` to ``second``) for prompt indices and
    response indices of the same shape."""
    flattery = FLATTERY * (FLATTERS[first].astype(float) - FLATTERS[second])
    by_truth = CORRECT[prompts, first].astype(float) - CORRECT[prompts, second] + flattery
    by_agreement = AGREES[prompts, first].astype(float) - AGREES[prompts, second] + flattery
    return ((1.0 - labeler_bias) * _sigmoid(DECISIVENESS * by_truth)
            + labeler_bias * _sigmoid(DECISIVENESS * by_agreement))


def label(rng: np.random.Generator, prompts: np.ndarray, first: np.ndarray, second: np.ndarray,
          labeler_bias: float) -> np.ndarray:
    """Each pair's verdict: True where the labeler picked ``first``."""
    return rng.random(len(prompts)) < preference(prompts, first, second, labeler_bias)
