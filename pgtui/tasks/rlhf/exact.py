"""Exact figures of a dialogue policy, by enumerating every response to every prompt."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .dialogue import NUM_PROMPTS, NUM_RESPONSES, RESPONSE_LENGTH, VOCAB


def sequence_log_probs(logits: list[torch.Tensor]) -> torch.Tensor:
    """log pi(response | prompt) (..., NUM_PROMPTS, NUM_RESPONSES) from the next-token
    logits at every context, by depth as ``task.contexts`` lays them out:
    (..., NUM_PROMPTS x V^t, V)."""
    V = len(VOCAB)
    total = None
    for t, depth in enumerate(logits):
        step = depth.log_softmax(-1).reshape(*depth.shape[:-2], NUM_PROMPTS, *(V,) * (t + 1))
        step = step.reshape(*step.shape, *(1,) * (RESPONSE_LENGTH - t - 1))
        total = step if total is None else total + step  # broadcast over later tokens
    return total.reshape(*total.shape[:-RESPONSE_LENGTH], NUM_RESPONSES)


def policy_log_probs(head: Callable[[torch.Tensor], torch.Tensor],
                     contexts: list[torch.Tensor]) -> torch.Tensor:
    """log pi(response | prompt) of a policy whose logits are ``head(obs)``."""
    return sequence_log_probs([head(x) for x in contexts])
