"""The REINFORCE exercise: the scaffold a student fills in (``scaffold.py``), pgtui's answer
(``answer.py``), the grader (``grading.py``, ``exact.py``) and the learner that trains
with an answer's functions (``learner.py``), found through an answer's
``EXERCISE = "pgtui.exercises.reinforce"``."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ...rl.algos import ALGORITHMS
from ...rl.algos.spec import AlgoSpec
from ...rl.stats import ESTIMATOR, GRAD_NORM, Stat

STATS = (
    Stat("loss", "loss", "loss", "your loss, the policy term, entropy bonus and critic's loss together"),
    Stat("entropy", "entropy", "ent", "your entropy of the policy, the mean over the batch's steps"),
    GRAD_NORM,
    Stat("own_functions", "your functions", "own", "how many of the exercise's functions are yours "
         "(pgtui's answer stands in for those that raise NotImplementedError)", fmt="{:.0f} of 9"),
    Stat("true_grad_cosine", "cos true grad", "cos", "on a tabular env: the cosine of your "
         "estimate of the policy gradient with the true one", ESTIMATOR, averaged=True),
    Stat("true_grad_bias", "bias along true", "bias", "on a tabular env: your estimate's error "
         "along the true gradient, relative to it, averaged over the updates so far (0: unbiased)",
         ESTIMATOR, fmt="{:+.3f}"),
    Stat("true_grad_bias_se", "bias in se", "b se", "that average's distance from 0 in standard "
         "errors: below 2 or so is what an unbiased estimate shows through its noise", ESTIMATOR,
         fmt="{:.1f} se from 0"),
)


def spec_for(path: Path) -> AlgoSpec:
    """How pgtui shows REINFORCE trained with the answer in ``path``."""
    reinforce = ALGORITHMS["reinforce"]
    return AlgoSpec(path.name, f"REINFORCE ({path.name})",
                    f"REINFORCE with the functions of {path.name}",
                    actions=("discrete",), settings=reinforce.settings, stats=STATS,
                    expectation=reinforce.expectation,
                    gradient_noise=False, placeholders=("loss",),
                    policy_title=f"π(a|s) · {path.name}", knobs=reinforce.knobs)


def learner_for(module: ModuleType, algo: str) -> type:
    """The learner that trains with ``module``'s functions (its file read again when saved)."""
    from .learner import AnswerReinforce

    path = Path(module.__file__).resolve() if getattr(module, "__file__", None) else None
    name = path.stem if path is not None else module.__name__
    return type(f"Reinforce_{name}", (AnswerReinforce,),
                {"source": path, "module": module, "spec": spec_for(path or Path(name))})


def grade(path: Path) -> list:
    """The verdicts on the answer in ``path``: each function against pgtui's answer, then
    the loss they make against the true gradient (``grading.Verdict`` each)."""
    from ..grading import FAILED, NOT_STARTED, Verdict
    from ..grading import grade as grade_functions
    from ..loading import fresh_module
    from .checks import CHECKS
    from .exact import CASES, case_name, check_gradient

    module = fresh_module(path)
    verdicts = grade_functions(module, path, CHECKS)
    gradients = [case_name(*case) for case in CASES]
    if all(v.status == NOT_STARTED for v in verdicts if v.name != "policy_network"):
        return verdicts + [Verdict(name, NOT_STARTED) for name in gradients]
    stalled = [v.name for v in verdicts if v.timed_out]
    if stalled:  # each gradient case would wait out the same limit again
        their = "its" if len(stalled) == 1 else "their"
        return verdicts + [Verdict(name, FAILED, f"{name}: not run, as {', '.join(stalled)} ran "
                                   f"past {their} time above") for name in gradients]
    return verdicts + check_gradient(module, path)
