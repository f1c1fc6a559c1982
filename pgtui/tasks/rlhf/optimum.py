"""The KL-regularised optimum of the dialogue, by enumeration: the best any method can
do against a reward model at a KL coefficient beta.

Per prompt x, the policy that maximises E_pi[r(x, y)] - beta KL(pi(.|x) || pi_ref(.|x))
is pi*(y|x) = pi_ref(y|x) exp(r(x, y) / beta) / Z(x): with 729 responses a prompt it is
one softmax. As beta falls to 0 it tends to pi_ref restricted to the best-scored
responses, which is what it is at beta = 0.
"""

from __future__ import annotations

import torch


def kl_optimum(ref_logp: torch.Tensor, scores: torch.Tensor, beta: float) -> torch.Tensor:
    """log pi*(y|x) (..., responses) from log pi_ref and the reward model's scores."""
    if beta > 0:
        return (ref_logp + scores / beta).log_softmax(-1)
    best = scores == scores.max(-1, keepdim=True).values
    return torch.where(best, ref_logp, torch.full_like(ref_logp, -torch.inf)).log_softmax(-1)


def regularised_objective(logp: torch.Tensor, ref_logp: torch.Tensor, scores: torch.Tensor,
                          beta: float) -> torch.Tensor:
    """E_pi[r] - beta KL(pi || pi_ref) per prompt (...,), for a policy given by ``logp``."""
    probs = logp.exp()
    return (probs * (scores - beta * (logp - ref_logp))).sum(-1)
