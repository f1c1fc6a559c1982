"""What a race is, without the training: its seeds' configs and what it reports.

The screen and ``pgtui compare`` need these to set a race up and to draw it; the
training itself (``variant_run.py``) runs in processes of their own, so this module imports
no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...config import Config
from ...config_checks import folder_name
from ..algos import algo_spec
from ..tasks import task_of

#: update figures a race averages over each run: the baseline term's distance from zero
#: in standard errors, and the estimate against the true gradient (tabular envs)
# a tabular env's exact figures at the latest update (``Learner.exact_figures``), and
# the action probabilities of an env whose states all look alike (``p_<action>``)
EXACT = ("objective", "objective_greedy")


def is_exact(key: str) -> bool:
    return key in EXACT or key.startswith("p_")


@dataclass(frozen=True)
class SeedProgress:
    seed: int
    global_step: int
    episodes: int
    new_returns: tuple[float, ...]  # episodes finished since the previous report
    last100_mean: float
    solved_episode: int | None
    grad_var_sum: float  # over the updates that measured it; mean = sum / diag_updates
    grad_snr_sum: float
    diag_updates: int
    status: str  # running | paused | finished | diverged | error
    message: str = ""
    learned_steps: int = 0  # steps learned from (global_step: env steps taken)
    solved_step: int | None = None  # steps learned from when it solved
    solved_wall_s: float | None = None  # training seconds when it solved
    # stability: the lowest last-100 mean after it first reached the threshold (None: never)
    lowest_after_reaching: float | None = None
    fell_back: bool = False  # ... and it later fell below the threshold
    paired_var_sum: float = 0.0  # grad_var where the reference was measured on the same batch
    reference_var_sum: float = 0.0  # the reference estimator's grad_var on those batches
    # per-update figures averaged over a run (``Stat.averaged``): key -> (sum, updates)
    sums: dict[str, tuple[float, int]] = field(default_factory=dict)
    # the dialogue's exact figures at the latest update (``dialogue.rlhf.FIGURES``)
    figures: dict[str, float] = field(default_factory=dict)
    last_eval: float | None = None  # the latest greedy evaluation's mean return (None: none yet)
    exact: dict[str, float] = field(default_factory=dict)  # ``EXACT`` figures, latest update

    @property
    def grad_var(self) -> float:
        return self.grad_var_sum / self.diag_updates if self.diag_updates else math.nan

    @property
    def grad_snr(self) -> float:
        return self.grad_snr_sum / self.diag_updates if self.diag_updates else math.nan


@dataclass(frozen=True)
class VariantReport:
    variant: str
    seeds: tuple[SeedProgress, ...]
    final: bool = False
    changes: tuple[tuple[str, Any], ...] = field(default=())  # live changes applied since last


@dataclass
class VariantProgress:
    """What a front end knows of one variant of a race: its seeds' latest progress, each
    seed's returns so far, and the error that ended it, if any."""

    name: str
    config: Config
    seeds: tuple[SeedProgress, ...] = ()
    curves: list[list[float]] = field(default_factory=list)  # each seed's episode returns
    error: str = ""
    # a task's trace (``TaskSpec.trace``): each seed's (env step, figure) at each report
    traces: list[list[tuple[int, float]]] = field(default_factory=list)

    def add(self, seeds: tuple[SeedProgress, ...]) -> None:
        """A report's seeds: their new returns extend the curves."""
        task = task_of(self.config.env)
        key = task.trace.key if task is not None and task.trace is not None else None
        while len(self.curves) < len(seeds):
            self.curves.append([])
            self.traces.append([])
        for curve, trace, seed in zip(self.curves, self.traces, seeds, strict=False):
            curve.extend(seed.new_returns)
            if key in seed.figures and (not trace or trace[-1][0] != seed.global_step):
                trace.append((seed.global_step, seed.figures[key]))
        self.seeds = seeds

    @property
    def status(self) -> str:
        statuses = {s.status for s in self.seeds}
        if not statuses:
            return "starting"
        return next((s for s in ("running", "paused", "error", "diverged") if s in statuses),
                    "finished")


def variant_configs(config: Config, seeds: int | None = None) -> list[tuple[str, list[Config]]]:
    """(name, one config per seed) for each variant of a compare config.

    Seeds are ``config.seed``, ``config.seed + 1``, ...; a config without variants is
    one variant named after its algo.
    """
    count = seeds if seeds is not None else config.seeds
    variants = config.variants or [{"name": config.algo}]
    out = []
    for variant in variants:
        overrides = {k: v for k, v in variant.items() if k != "name"}
        base = config.replace(variants=[], sweep={}, seeds=1, **overrides)
        out.append((variant["name"], [base.replace(seed=base.seed + i) for i in range(count)]))
    return out


def same_setting(one: Config, other: Config) -> bool:
    """The two configs differ in their seeds at most: a race of one setting against itself."""
    return one.replace(seed=0) == other.replace(seed=0)


def expected_gradient(config: Config) -> tuple:
    """What a variant's policy-gradient estimator estimates, in expectation: two
    variants with equal tuples estimate the same gradient, and only then does a ratio
    of their variances compare like for like: the algorithm says what its estimate
    depends on (``AlgoSpec.expected_gradient``), and a time limit or a reward scale
    changes the return it is the gradient of."""
    task = (config.env, config.max_episode_steps, config.reward_scale)
    return (*algo_spec(config.algo).expected_gradient(config), *task)


def reference_estimator(variants: list[tuple[str, list[Config]]]) -> dict[str, Any] | None:
    """The first variant's estimator settings (``AlgoSpec.paired``), when every variant
    runs one algorithm that has them: each variant then also measures that estimator on
    its own batches, for paired variance ratios."""
    if not variants or len({c.algo for _, configs in variants for c in configs}) > 1:
        return None
    first = variants[0][1][0]
    paired = algo_spec(first.algo).paired
    return {key: getattr(first, key) for key in paired} or None


def seed_dir(out: Path, variant: str, seed: int) -> Path:
    """Where a compare run keeps one seed's files: OUT/<variant>/seed-<n>/."""
    return out / folder_name(variant) / f"seed-{seed}"
