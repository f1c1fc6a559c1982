"""The whole answer against the true policy gradient: on pgtui's chain, whose gradient is
exact, the loss the answer's functions make is differentiated on many fresh batches at
one fixed policy; an unbiased estimator's mean lands within its standard errors of the
truth, a biased one (that may still train) does not."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

from ...config import Config
from ...rl.algos.exact_gradient import tabular_model, true_gradient
from ...rl.trainer import Trainer
from ..grading import FAILED, PASSED, Verdict
from ..loading import AnswerError
from .learner import Functions, answer_losses

#: the estimators graded: (baseline, return mode); gamma is 1, where reward-to-go and the
#: whole return estimate the same gradient
CASES = (("none", "full"), ("mean", "reward_to_go"), ("value", "reward_to_go"))
SEEDS, BATCHES, EPISODES = 16, 24, 4  # 16 x 24 estimates of 4 episodes each, per case
# an unbiased answer's mean lands within about 1 standard error (2.0 at most over 36
# draws of the grader's batches, 2.4 along); a biased one that still trains lands 9.7 away
TOLERANCE = 3.0  # the mean's error (its norm), in standard errors of the mean
ALONG_TOLERANCE = 3.5  # its error along the true gradient, in standard errors


@dataclass(frozen=True)
class Agreement:
    """The estimates' mean against the true gradient."""

    error_se: float  # |mean - true| over the standard error of the mean (about 1: unbiased)
    along: float  # the mean's length along the true gradient, relative to it (1: right)
    along_se: float  # (along - 1) in standard errors
    cosine: float  # of the mean with the true gradient

    @property
    def unbiased(self) -> bool:
        return self.error_se < TOLERANCE and abs(self.along_se) < ALONG_TOLERANCE


def agreement(estimates: torch.Tensor, exact: torch.Tensor) -> Agreement:
    """``estimates`` (n, P) of a gradient against its ``exact`` value (P,): the norm of the
    mean's error against the root of the summed variances over n (the expected norm of an
    unbiased mean's error)."""
    estimates, exact = estimates.double(), exact.double()
    mean = estimates.mean(0)
    noise = math.sqrt(float(estimates.var(0).sum()) / len(estimates))
    error = float((mean - exact).norm())
    alongs = estimates @ exact / float(exact @ exact)  # each estimate's length along the truth
    along, spread = float(alongs.mean()), float(alongs.std()) / math.sqrt(len(alongs))
    cosine = float(torch.nn.functional.cosine_similarity(mean, exact, dim=0))
    return Agreement(_ratio(error, noise), along, _ratio(along - 1, spread), cosine)


def _ratio(x: float, se: float) -> float:
    return x / se if se > 0 else math.copysign(math.inf, x) if x else 0.0


def estimates_of(functions: Functions, baseline: str, return_mode: str, seeds: int = SEEDS,
                 batches: int = BATCHES, episodes: int = EPISODES, seed: int = 11
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """The answer's policy-gradient estimates on ``batches`` fresh batches of ``seeds``
    seeds, all at one policy (batches x seeds, P), and the true gradient there (P,)."""
    config = Config(env="pgtui/Chain-v0", algo="reinforce", gamma=1.0, baseline=baseline,
                    return_mode=return_mode, normalize_advantage=False, ent_coef=0.0, hidden_sizes=[16],
                    num_envs=2, episodes_per_update=episodes, seed=seed)
    trainer = Trainer(config, seeds=list(range(seed, seed + seeds)))
    nets, rows = trainer.nets, list(range(seeds))
    with torch.no_grad():  # every seed at seed 0's policy, nudged off uniform: their estimates pool
        nets.rows[:] = nets.rows[0].clone()
        nudge = torch.randn(nets.actor_size, generator=torch.Generator().manual_seed(4))
        nets.rows[:, :nets.actor_size] += 0.5 * nudge
    exact = true_gradient(tabular_model("pgtui/Chain-v0"), nets, nets.select(rows), 1.0)[0]
    actor = len(nets.actor.shapes)
    out = []
    for _ in range(batches):
        batch = trainer.collector.episodes(nets, episodes, rows)
        params = nets.select(rows)
        losses, _ = answer_losses(functions, nets, params, batch, config, ent_coef=0.0)
        grads = torch.autograd.grad(losses.sum(), params[:actor], allow_unused=True)
        out.append(-nets.as_rows([torch.zeros_like(p) if g is None else g
                                  for p, g in zip(params[:actor], grads, strict=True)]))
    return torch.cat(out), exact


def case_name(baseline: str, return_mode: str) -> str:
    return f"gradient ({baseline} baseline, {return_mode.replace('_', '-')})"


def check_gradient(module: ModuleType, path: Path | None) -> list[Verdict]:
    """One verdict per estimator: its mean over many batches against the true gradient."""
    verdicts = []
    for case, (baseline, return_mode) in enumerate(CASES):
        name = case_name(baseline, return_mode)
        functions = Functions(module, path)
        try:
            estimates, exact = estimates_of(functions, baseline, return_mode, seed=11 + SEEDS * case)
        except AnswerError as err:
            verdicts.append(Verdict(name, FAILED, f"{name}: the loss cannot be computed: {err}"))
            continue
        found = agreement(estimates, exact)
        figures = (f"{found.error_se:.1f} standard errors from the true gradient, "
                   f"{found.along:.2f} of its length along it, cosine {found.cosine:.2f}")
        if functions.borrowed:
            figures += f" (pgtui's {', '.join(sorted(functions.borrowed))} stood in for yours)"
        if found.unbiased:
            verdicts.append(Verdict(name, PASSED, figures))
        else:
            verdicts.append(Verdict(name, FAILED, f"{name}: biased: the mean of {len(estimates)} "
                                    f"estimates is {figures}", HINT))
    return verdicts


HINT = ("an estimator that still trains can be biased: a baseline that sees the step's own "
        "episode, a return that leaks past an episode's end, a mean over steps where the "
        "episodes are to be averaged")
