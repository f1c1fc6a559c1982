"""How sure a race's figures are, as Agarwal et al. ("Deep RL at the Edge of the
Statistical Precipice", NeurIPS 2021) report them: the interquartile mean (IQM) over the
seeds, its 95% bootstrap interval, and the probability that one variant's seed beats
another's. scipy does the resampling; a race is one task, so the stratified bootstrap
of many tasks is here the plain one over seeds.

A seed that never solved counts as infinitely slow to solve: the IQM of steps to solve
stays finite while at most a quarter of the seeds fail, and is infinite (shown as "—")
once a typical seed fails."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .spec import SeedProgress

CONFIDENCE = 0.95
RESAMPLES = 2000
MARGIN = 0.1  # a gap a paper would call a win: 10%
DRAWS = (3, 5)  # the seeds a side of the false-winner figures


@dataclass(frozen=True)
class Interval:
    """A figure and its bootstrap interval (low == high == value for a single seed)."""

    value: float
    low: float
    high: float

    def as_json(self) -> dict[str, float | None]:
        return {k: (v if math.isfinite(v) else None)
                for k, v in (("value", self.value), ("low", self.low), ("high", self.high))}


def show_interval(found: Interval | None, show: Callable[[float], str]) -> str:
    """An IQM and its interval, "62.1k [58.0k, 66.3k]"; "—" where a typical seed never got there."""
    if found is None or not math.isfinite(found.value):
        return "—"
    if found.low == found.high:
        return show(found.value)
    high = show(found.high) if math.isfinite(found.high) else "∞"
    return f"{show(found.value)} [{show(found.low)}, {high}]"


def iqm(values: Sequence[float] | np.ndarray, axis: int | None = None) -> float | np.ndarray:
    """The mean of the middle half: a quarter of the values cut from each end (as many
    as a quarter rounds down to), the rest averaged."""
    from scipy import stats

    return stats.trim_mean(np.asarray(values, dtype=float), 0.25, axis=axis)


def probability_of_improvement(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 for a seed X of one variant and a seed Y of the other
    (the Mann-Whitney U statistic over the pairs), higher being better; along ``axis``,
    batched over the others."""
    x, y = np.moveaxis(np.asarray(x, float), axis, -1), np.moveaxis(np.asarray(y, float), axis, -1)
    pairs_x, pairs_y = x[..., :, None], y[..., None, :]
    return (pairs_x > pairs_y).mean(axis=(-2, -1)) + 0.5 * (pairs_x == pairs_y).mean(axis=(-2, -1))


def _bootstrap(samples: tuple[np.ndarray, ...], statistic, estimate: float, seed: int) -> Interval:
    from scipy import stats

    if all(len(s) < 2 or np.all(s == s[0]) for s in samples):  # nothing to resample
        return Interval(estimate, estimate, estimate)
    with np.errstate(invalid="ignore"):  # infinite values: their spread is nan, the interval is not
        found = stats.bootstrap(samples, statistic, confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
                                method="percentile", vectorized=True, rng=np.random.default_rng(seed))
    low, high = found.confidence_interval
    return Interval(estimate, float(low), float(high))


def iqm_interval(values: Sequence[float], seed: int = 0) -> Interval | None:
    """The IQM of ``values`` and its 95% percentile-bootstrap interval; None for none."""
    sample = np.asarray(values, dtype=float)
    if sample.size == 0:
        return None
    return _bootstrap((sample,), iqm, float(iqm(sample)), seed)


def improvement_interval(better: Sequence[float], than: Sequence[float], seed: int = 0) -> Interval | None:
    """The probability that a seed of ``better`` beats one of ``than`` (higher values
    win), and its interval with each sample resampled on its own; None if one is empty."""
    x, y = np.asarray(better, dtype=float), np.asarray(than, dtype=float)
    if x.size == 0 or y.size == 0:
        return None
    return _bootstrap((x, y), probability_of_improvement, float(probability_of_improvement(x, y)), seed)


def false_winner_rate(first: Sequence[float], second: Sequence[float], draw: int,
                      margin: float = MARGIN) -> float | None:
    """Of every way to draw ``draw`` seeds from each of two runs of one setting, the share
    in which one side's mean is ``margin`` or more better than the other's (values
    positive; an infinite one, a seed that never solved, loses to any finite one): how
    often that many seeds would have declared a winner where there is none. None where
    a side has fewer seeds than ``draw``."""
    x, y = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if min(x.size, y.size) < draw:
        return None
    sides = [values[list(itertools.combinations(range(values.size), draw))].mean(axis=1)
             for values in (x, y)]
    low = np.minimum(sides[0][:, None], sides[1][None, :])
    high = np.maximum(sides[0][:, None], sides[1][None, :])
    return float(((low <= (1 - margin) * high) & np.isfinite(low)).mean())


@dataclass(frozen=True)
class Certainty:
    """A variant's figures over its seeds, each with its interval."""

    steps: Interval | None  # steps learned from when it solved (never: infinite)
    seconds: Interval | None  # training seconds when it solved (never: infinite)
    final: Interval | None  # the last-100 mean return at the end
    beats_first: Interval | None = None  # P(its final return > the first variant's)
    # the first's setting on other seeds: seeds a side -> how often that many would have
    # declared one of the two the faster solver by MARGIN (``false_winner_rate``)
    false_winners: dict[int, float] | None = None

    def as_json(self) -> dict:
        named = {"steps_iqm": self.steps, "seconds_iqm": self.seconds, "final_iqm": self.final,
                 "beats_first": self.beats_first}
        found = {k: v.as_json() for k, v in named.items() if v is not None}
        if self.false_winners is not None:
            found["false_winners"] = {str(k): v for k, v in self.false_winners.items()}
        return found


def finals(seeds: Sequence[SeedProgress]) -> list[float]:
    return [s.last100_mean for s in seeds if math.isfinite(s.last100_mean)]


def solve_steps(seeds: Sequence[SeedProgress]) -> list[float]:
    """Each seed's steps to solve, infinite where it never solved; a solve resumed from an
    old checkpoint knows no step (-1) and is left out."""
    return [math.inf if s.solved_step is None else s.solved_step for s in seeds
            if s.solved_step is None or s.solved_step >= 0]


def certainty(seeds: Sequence[SeedProgress], first: Sequence[SeedProgress] | None = None,
              same_setting: bool = False) -> Certainty:
    """IQMs and intervals of a finished variant; with ``first`` (the first variant's
    seeds), the probability that it beats that one on the final return, and where it is
    ``same_setting`` as the first (on other seeds), how often a few seeds a side would
    have called one of the two the faster solver."""
    solvers = any(s.solved_step is not None for s in seeds)
    steps = solve_steps(seeds)
    seconds = [s.solved_wall_s if s.solved_wall_s is not None else math.inf for s in seeds]
    timed = solvers and any(s.solved_wall_s is not None for s in seeds)
    beats = improvement_interval(finals(seeds), finals(first)) if first is not None else None
    # only where a typical seed of each side solved: else most draws are never against never
    typical = first is not None and all(math.isfinite(iqm(s)) for s in (solve_steps(first), steps) if s)
    luck = (false_winners(solve_steps(first), steps)
            if first is not None and same_setting and solvers and typical else None)
    return Certainty(steps=iqm_interval(steps) if solvers else None,
                     seconds=iqm_interval(seconds) if timed else None,
                     final=iqm_interval(finals(seeds)), beats_first=beats, false_winners=luck)

def false_winners(first: list[float], second: list[float]) -> dict[int, float] | None:
    found = {draw: false_winner_rate(first, second, draw) for draw in DRAWS}
    found = {draw: rate for draw, rate in found.items() if rate is not None}
    return found or None


def false_winner_text(name: str, first: str, sure: Certainty) -> str | None:
    """The false-winner figures in a sentence, where the variant is the first's setting."""
    if not sure.false_winners:
        return None
    rates = [f"{draw} seeds a side called one the faster solver by {MARGIN:.0%} or more in "
             f"{rate:.0%} of draws" for draw, rate in sorted(sure.false_winners.items())]
    return f"{name} is {first}'s setting on other seeds, yet " + "; ".join(rates)
