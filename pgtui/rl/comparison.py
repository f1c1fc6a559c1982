"""The figures of a compare run: per-variant summaries, return bands, variance ratios.

Plain functions over plain numbers, shared by `pgtui compare` and the compare screen.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .group import SeedProgress


@dataclass(frozen=True)
class VariantSummary:
    name: str
    seeds: int
    solved: int
    median_solve_episode: float | None
    final_mean: float | None  # mean over seeds of each seed's last-100 mean
    final_std: float | None  # their standard deviation across seeds (0 for one seed)
    grad_var: float | None  # mean over seeds of each seed's mean grad_var
    grad_snr: float | None

    def as_json(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in asdict(self).items()}


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def summarize(name: str, seeds: Sequence[SeedProgress]) -> VariantSummary:
    solve_episodes = [s.solved_episode for s in seeds if s.solved_episode is not None]
    finals = _finite([s.last100_mean for s in seeds])
    grad_vars = _finite([s.grad_var for s in seeds])
    grad_snrs = _finite([s.grad_snr for s in seeds])
    return VariantSummary(
        name=name, seeds=len(seeds), solved=len(solve_episodes),
        median_solve_episode=statistics.median(solve_episodes) if solve_episodes else None,
        final_mean=statistics.fmean(finals) if finals else None,
        final_std=statistics.stdev(finals) if len(finals) > 1 else (0.0 if finals else None),
        grad_var=statistics.fmean(grad_vars) if grad_vars else None,
        grad_snr=statistics.fmean(grad_snrs) if grad_snrs else None)


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


def variance_ratios(summaries: Sequence[VariantSummary]) -> list[str]:
    """One sentence per variant against the first: "value: 4.2x lower gradient variance
    than none". Variants without a measurement are left out."""
    if not summaries or not summaries[0].grad_var:
        return []
    ref = summaries[0]
    lines = []
    for s in summaries[1:]:
        if not s.grad_var:
            continue
        ratio = ref.grad_var / s.grad_var
        if ratio >= 1:
            lines.append(f"{s.name}: {ratio:.1f}x lower gradient variance than {ref.name}")
        else:
            lines.append(f"{s.name}: {1 / ratio:.1f}x higher gradient variance than {ref.name}")
    return lines
