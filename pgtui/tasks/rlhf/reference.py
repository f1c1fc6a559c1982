"""The reference policy ``pi_ref``: a small autoregressive policy fitted by supervised
learning to a synthetic corpus of an assistant that is mostly right and sometimes
sycophantic, then frozen. RL fine-tuning starts from it, and the KL term measures how
far the policy has moved from it.

The corpus is sampled; its next-token targets are counted per context, so one
weighted cross-entropy over the 4,095 contexts is the corpus's whole log-likelihood.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from ...rl.policies import CategoricalActor
from .dialogue import (
    DIGITS,
    END,
    GREAT,
    NO,
    NUM_PROMPTS,
    NUM_RESPONSES,
    OBS_DIM,
    PROMPTS,
    RESPONSE_LENGTH,
    RESPONSES,
    VOCAB,
    YES,
    contexts,
    prompt_probs,
    response_index,
)

HIDDEN = (64, 64)  # the reference's architecture, which the fine-tuned policy shares
ACTIVATION = "tanh"
CORPUS_SIZE = 20_000
NOISE = 0.1  # share of the corpus that is any response at all (full support for the KL)
FIT_STEPS = 300


def corpus_distribution() -> np.ndarray:
    """q(response | prompt) of the synthetic corpus, (NUM_PROMPTS, NUM_RESPONSES)."""
    q = np.full((NUM_PROMPTS, NUM_RESPONSES), NOISE / NUM_RESPONSES)
    for i, p in enumerate(PROMPTS):
        t, c = p.truth, p.belief
        wrong = [d for d in range(DIGITS) if d != t and d != c]
        if not p.user_wrong:  # agreeing is right: say so, mostly
            templates = [((YES, t, END), 0.3), ((t, END, END), 0.25), ((YES, END, END), 0.1),
                         ((GREAT, t, END), 0.1)]
            templates += [((NO, w, END), 0.1 / len(wrong)) for w in wrong]
            templates += [((w, END, END), 0.1 / len(wrong)) for w in wrong]
        else:  # correct the user, mostly; sometimes go along
            templates = [((NO, t, END), 0.3), ((t, END, END), 0.15), ((YES, c, END), 0.15),
                         ((YES, END, END), 0.1), ((GREAT, t, END), 0.05), ((GREAT, c, END), 0.05)]
            templates += [((w, END, END), 0.1 / len(wrong)) for w in wrong]
        for tokens, share in templates:
            q[i, response_index(np.array(tokens))] += share
    return q / q.sum(1, keepdims=True)


def sample_corpus(rng: np.random.Generator, size: int = CORPUS_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(prompt indices (size,), responses (size, RESPONSE_LENGTH)) drawn from the corpus."""
    q = corpus_distribution()
    prompts = rng.choice(NUM_PROMPTS, size=size, p=prompt_probs())
    cdf = q[prompts].cumsum(1)
    picks = (cdf < rng.random((size, 1))).sum(1).clip(max=NUM_RESPONSES - 1)
    return prompts, RESPONSES[picks]


def target_counts(prompts: np.ndarray, responses: np.ndarray) -> list[np.ndarray]:
    """Per depth t, how often each context (as laid out by ``task.contexts``) was
    followed by each token: (NUM_PROMPTS x V^t, V)."""
    V = len(VOCAB)
    counts = []
    for t in range(RESPONSE_LENGTH):
        prefix = (np.ravel_multi_index(tuple(responses[:, :t].T), (V,) * t) if t else
                  np.zeros(len(prompts), dtype=np.int64))
        row = prompts * V**t + prefix
        table = np.zeros((NUM_PROMPTS * V**t, V))
        np.add.at(table, (row, responses[:, t]), 1.0)
        counts.append(table)
    return counts


@contextlib.contextmanager
def fitting():
    """torch as every fit of the task's models runs, whatever the caller's settings: on
    one thread (a sum split over threads rounds differently, and the fit, with every
    figure after it, would depend on the cores of the process that fitted it first) and
    in float32 (a caller may compute in float64: ``rl/floats.py``)."""
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.set_default_dtype(dtype)


def fit_reference(seed: int = 0) -> CategoricalActor:
    """The reference policy: fitted to a corpus drawn with ``seed``, frozen."""
    with fitting():
        return _fit_reference(seed)


def _fit_reference(seed: int) -> CategoricalActor:
    prompts, responses = sample_corpus(np.random.default_rng(seed))
    counts = target_counts(prompts, responses)
    seen = [c.sum(1) > 0 for c in counts]  # contexts the corpus never reaches weigh nothing
    obs = [torch.as_tensor(x[s]) for x, s in zip(contexts(), seen, strict=True)]
    counts = [torch.as_tensor(c[s], dtype=torch.float32) for c, s in zip(counts, seen, strict=True)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        actor = CategoricalActor(OBS_DIM, len(VOCAB), list(HIDDEN), ACTIVATION)
    optimizer = torch.optim.Adam(actor.parameters(), lr=1e-2)
    total = sum(float(c.sum()) for c in counts)
    for _ in range(FIT_STEPS):
        optimizer.zero_grad()
        loss = -sum((c * actor.net(x).log_softmax(-1)).sum()
                    for c, x in zip(counts, obs, strict=True)) / total
        loss.backward()
        optimizer.step()
    actor.requires_grad_(False)
    return actor
