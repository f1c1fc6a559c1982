"""The figures of a compare run: per-variant summaries, return bands, variance ratios.

Plain functions over plain numbers, shared by `pgtui compare` and the compare screen.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from .intervals import Certainty
from .spec import SeedProgress


@dataclass(frozen=True)
class VariantSummary:
    name: str
    seeds: int
    solved: int
    median_solve_episode: float | None
    # the steps learned from by then: algorithms compare on the samples they use
    median_solve_steps: float | None
    final_mean: float | None  # mean over seeds of each seed's last-100 mean
    final_std: float | None  # their standard deviation across seeds (0 for one seed)
    grad_var: float | None  # mean over seeds of each seed's mean grad_var
    grad_snr: float | None
    # the reference (first) variant's grad_var over this variant's, on the same batches
    variance_ratio: float | None = None
    algo: str = ""  # whole-run variances compare only within one algorithm
    gradient: tuple = ()  # what the estimator estimates (race.expected_gradient)
    median_solve_seconds: float | None = None  # training time
    reached: int = 0  # seeds whose last-100 mean reached the threshold
    fell_back: int = 0  # of them, those whose last-100 mean later fell below it again
    lowest_after: float | None = None  # the lowest last-100 mean of any seed after reaching
    # the dialogue's exact figures at the end, mean over seeds (``dialogue.rlhf.FIGURES``
    # and rm_accuracy); empty for other envs
    figures: dict = field(default_factory=dict)
    # the averaged figures (``Stat.averaged``): each over every update of every seed that reported it
    averages: dict = field(default_factory=dict)
    # mean over seeds of each seed's latest greedy evaluation (None: it does not evaluate)
    final_eval: float | None = None
    # a tabular env's exact figures at the end (``spec.EXACT``, ``p_<action>``), mean over seeds
    exact: dict = field(default_factory=dict)
    # IQMs with their intervals, once the race has finished (``intervals.certainty``)
    certainty: Certainty | None = None

    @property
    def baseline_se(self) -> float | None:
        """The baseline term's mean, in standard errors from zero."""
        return self.averages.get("baseline_se")

    @property
    def true_grad_cosine(self) -> float | None:
        return self.averages.get("true_grad_cosine")

    def as_json(self) -> dict:
        data = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in asdict(self).items()
                if k not in ("algo", "gradient", "figures", "averages", "exact", "certainty")}
        sure = self.certainty.as_json() if self.certainty is not None else {}
        return {**data, **self.figures, **self.averages, **self.exact, **sure}


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def summarize(name: str, seeds: Sequence[SeedProgress], algo: str = "", gradient: tuple = ()
              ) -> VariantSummary:
    solve_episodes = [s.solved_episode for s in seeds if s.solved_episode is not None]
    solve_steps = [s.solved_step for s in seeds if s.solved_step is not None and s.solved_step >= 0]
    solve_seconds = [s.solved_wall_s for s in seeds if s.solved_wall_s is not None]
    lowest = [s.lowest_after_reaching for s in seeds if s.lowest_after_reaching is not None]
    finals = _finite([s.last100_mean for s in seeds])
    grad_vars = _finite([s.grad_var for s in seeds])
    grad_snrs = _finite([s.grad_snr for s in seeds])
    evals = _finite([s.last_eval for s in seeds])
    return VariantSummary(
        name=name, seeds=len(seeds), solved=len(solve_episodes),
        median_solve_episode=statistics.median(solve_episodes) if solve_episodes else None,
        median_solve_steps=statistics.median(solve_steps) if solve_steps else None,
        median_solve_seconds=statistics.median(solve_seconds) if solve_seconds else None,
        reached=len(lowest), lowest_after=min(lowest) if lowest else None,
        fell_back=sum(s.fell_back for s in seeds),
        final_mean=statistics.fmean(finals) if finals else None,
        final_std=statistics.stdev(finals) if len(finals) > 1 else (0.0 if finals else None),
        grad_var=statistics.fmean(grad_vars) if grad_vars else None,
        grad_snr=statistics.fmean(grad_snrs) if grad_snrs else None,
        variance_ratio=paired_ratio(seeds), algo=algo, gradient=gradient,
        figures=_mean_figures(seeds),
        averages=_averages(seeds), final_eval=statistics.fmean(evals) if evals else None,
        exact=_mean_exact(seeds))


def _averages(seeds: Sequence[SeedProgress]) -> dict[str, float]:
    """Each averaged figure (``Stat.averaged``) over every update of every seed that reported it."""
    out = {}
    for key in dict.fromkeys(k for s in seeds for k in s.sums):
        total = sum(s.sums[key][0] for s in seeds if key in s.sums)
        count = sum(s.sums[key][1] for s in seeds if key in s.sums)
        if count:
            out[key] = total / count
    return out


def _mean_exact(seeds: Sequence[SeedProgress]) -> dict[str, float]:
    """Each exact figure's mean over the seeds that report it."""
    keys = dict.fromkeys(k for s in seeds for k in s.exact)
    return {k: statistics.fmean(s.exact[k] for s in seeds if k in s.exact) for k in keys}


def _mean_figures(seeds: Sequence[SeedProgress]) -> dict[str, float]:
    """Each figure's mean over the seeds that report it."""
    keys = dict.fromkeys(k for s in seeds for k in s.figures)
    return {k: statistics.fmean(s.figures[k] for s in seeds if k in s.figures) for k in keys}


def paired_ratio(seeds: Sequence[SeedProgress]) -> float | None:
    """sum of the reference estimator's grad_var / sum of the variant's own, pooled over
    the seeds' measured updates (both on the same batches)."""
    own = sum(s.paired_var_sum for s in seeds)
    ref = sum(s.reference_var_sum for s in seeds)
    return ref / own if own > 0 and ref > 0 else None


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over up to ``window`` values (shorter at the start)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def band(curves: Sequence[Sequence[float]], window: int = 20
         ) -> tuple[list[float], list[float], list[float]]:
    """(median, 25th, 75th percentile) across seeds at each episode index.

    Each seed's returns are smoothed by a ``window``-episode moving average first; at an
    index only the seeds that have reached that episode count.
    """
    smooth = [moving_average(c, window) for c in curves if c]
    length = max((len(c) for c in smooth), default=0)
    med, lo, hi = [], [], []
    for i in range(length):
        column = [c[i] for c in smooth if i < len(c)]
        med.append(statistics.median(column))
        lo.append(quantile(column, 0.25))
        hi.append(quantile(column, 0.75))
    return med, lo, hi


ABOUT_THE_SAME = 1.1  # ratios within this factor of 1 read "about the same"


def variance_ratio_text(summary: VariantSummary, reference: VariantSummary) -> str | None:
    """ "value baseline: 4.2x lower gradient variance than no baseline (...)", or None.

    Only between estimators of the same expected gradient (``gradient``): a variance
    ratio between estimators of different gradients says nothing about either.
    Paired (both estimators on the same batches) when the run measured it; otherwise the
    two whole-run means, which also reflect where each run's policy went, and say so.
    Different algorithms measure different estimators (episodes, rollout slices): None.
    """
    if summary.algo != reference.algo or summary.gradient != reference.gradient:
        return None
    if summary.variance_ratio is not None:
        ratio, how = summary.variance_ratio, "same batches, same expected gradient"
    elif summary.grad_var and reference.grad_var:
        ratio, how = reference.grad_var / summary.grad_var, "whole-run means"
    else:
        return None
    if 1 / ABOUT_THE_SAME < ratio < ABOUT_THE_SAME:
        return f"{summary.name}: about the same gradient variance as {reference.name} ({how})"
    if ratio >= 1:
        return f"{summary.name}: {ratio:.1f}x lower gradient variance than {reference.name} ({how})"
    return f"{summary.name}: {1 / ratio:.1f}x higher gradient variance than {reference.name} ({how})"


def like_for_like(summaries: Sequence[VariantSummary]) -> list[VariantSummary]:
    """The summaries with the paired variance ratio dropped wherever the variant
    estimates a different gradient than the first (the reference) does."""
    first = summaries[0] if summaries else None
    return [s if first is None or (s.algo, s.gradient) == (first.algo, first.gradient)
            else replace(s, variance_ratio=None) for s in summaries]


def variance_ratios(summaries: Sequence[VariantSummary]) -> list[str]:
    """One sentence per variant after the first, against the first."""
    lines = [variance_ratio_text(s, summaries[0]) for s in summaries[1:]]
    return [line for line in lines if line]


# the settings whose effect on the gradient variance the lessons derive: a race over one
# of them fits grad var ~ x^slope
SCALING_KEYS = ("max_episode_steps", "reward_scale")


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float | None]:
    """The least-squares slope of log y against log x, and its standard error (None
    with fewer than three points, or all on one x)."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    sxx = sum((x - mx) ** 2 for x in lx)
    if sxx == 0:
        return math.nan, None
    slope = sum((x - mx) * (y - my) for x, y in zip(lx, ly, strict=True)) / sxx
    if len(lx) < 3:
        return slope, None
    residual = sum((y - my - slope * (x - mx)) ** 2 for x, y in zip(lx, ly, strict=True))
    return slope, math.sqrt(residual / (len(lx) - 2) / sxx)


def variance_slopes(variants: Sequence[tuple[str, object, Sequence[SeedProgress]]]) -> list[dict]:
    """For each run of variants that differ only in one of ``SCALING_KEYS`` (name,
    config, seeds): the slope of log grad var against log of that key, fitted over every
    seed's whole-run mean grad var, with its standard error."""
    out = []
    for key in SCALING_KEYS:
        series: dict[tuple, list] = {}
        for name, config, seeds in variants:
            rest = tuple(sorted((k, repr(v)) for k, v in vars(config).items()
                                if k not in (key, "seed", "description", "variants")))
            series.setdefault(rest, []).append((name, getattr(config, key), seeds))
        for members in series.values():
            if len({x for _, x, _ in members}) < 2 or any(x <= 0 for _, x, _ in members):
                continue
            points = [(x, s.grad_var) for _, x, seeds in members for s in seeds
                      if math.isfinite(s.grad_var) and s.grad_var > 0]
            if len({x for x, _ in points}) < 2:
                continue
            slope, se = loglog_slope([x for x, _ in points], [y for _, y in points])
            out.append({"key": key, "variants": [name for name, _, _ in members],
                        "values": [x for _, x, _ in members], "points": len(points),
                        "slope": slope, "slope_se": se})
    return out
