"""The labelled pairs the reward model was fitted to, as a preference learner reads
them: each response a sequence of (context, token) steps, one per token."""

from __future__ import annotations

import functools

import numpy as np

from .dialogue import RESPONSE_LENGTH, RESPONSES, encode
from .models import reference_probs
from .reward_model import PAIRS, labelled_pairs


class DialoguePairs:
    """The ``PAIRS`` training pairs of labelers of one bias: (prompt, chosen, rejected)."""

    steps = RESPONSE_LENGTH

    def __init__(self, prompts: np.ndarray, chosen: np.ndarray, rejected: np.ndarray) -> None:
        self.prompts, self.chosen, self.rejected = prompts, chosen, rejected

    def __len__(self) -> int:
        return len(self.prompts)

    def take(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        prompts = self.prompts[index]
        chosen = _steps(prompts, RESPONSES[self.chosen[index]])
        rejected = _steps(prompts, RESPONSES[self.rejected[index]])
        return (*chosen, *rejected)


def _steps(prompts: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The contexts (n, RESPONSE_LENGTH, OBS_DIM) in which responses ``tokens`` (n,
    RESPONSE_LENGTH) wrote each token, and the tokens."""
    n = len(prompts)
    contexts = []
    for t in range(RESPONSE_LENGTH):
        written = np.where(np.arange(RESPONSE_LENGTH) < t, tokens, -1)
        contexts.append(encode(prompts, written, np.full(n, t)))
    return np.stack(contexts, 1), tokens


@functools.lru_cache(maxsize=8)
def preference_pairs(labeler_bias: float) -> DialoguePairs:
    """The pairs the reward model of ``labeler_bias`` was trained on."""
    prompts, chosen, rejected = labelled_pairs(reference_probs(), labeler_bias)
    return DialoguePairs(prompts[:PAIRS], chosen[:PAIRS], rejected[:PAIRS])
