"""Figures for reports (matplotlib, the `plot` extra): a run's returns and a race's
curves (a sweep's is in ``sweeps/report.py``), drawn into a given Axes or a new figure,
and saved as PNG, SVG or PDF by the file's suffix. The terminal's plots are plotext's;
these are the same shapes on paper."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .rl.race.figures import band, moving_average

SUFFIXES = (".png", ".svg", ".pdf")
WINDOW = 20  # episodes in each moving average, as the terminal's plots take them


class FigureError(Exception):
    """A figure that cannot be made (matplotlib missing, an unknown suffix): one line."""


def available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def pyplot() -> Any:
    """matplotlib's pyplot, drawing off screen, or a FigureError naming the extra."""
    if not available():
        raise FigureError("figures need matplotlib: pip install 'pgtui[plot]'")
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and "ipykernel" not in sys.modules:
        matplotlib.use("Agg")  # a file, no window; a notebook keeps its inline backend
    import matplotlib.pyplot as plt

    return plt


def check_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise FigureError(f"{path}: a figure is saved as {', '.join(SUFFIXES)} (by the suffix)")
    return path


def require_figure(path: str | Path) -> Path:
    """``path`` checked as a figure's file, with matplotlib there to write it; else a
    FigureError (one line) before any work that would end in the figure."""
    pyplot()
    return check_path(path)


def axes(ax: Any, title: str) -> tuple[Any, Any]:
    plt = pyplot()
    if ax is None:
        figure, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    else:
        figure = ax.figure
    ax.set(title=title, xlabel="episode")
    ax.grid(alpha=0.3)
    return figure, ax


def run_figure(returns: Sequence[float], title: str, threshold: float | None = None, ax: Any = None) -> Any:
    """One run's episode returns (faint) and their moving average, with the solve line."""
    figure, ax = axes(ax, title)
    episodes = range(1, len(returns) + 1)
    ax.plot(episodes, returns, alpha=0.25, linewidth=0.8, label="return")
    ax.plot(episodes, moving_average(list(returns), WINDOW), label=f"{WINDOW}-episode mean")
    if threshold is not None:
        ax.axhline(threshold, color="gray", linestyle="--", linewidth=1, label="solved")
    ax.set_ylabel("return")
    ax.legend(loc="lower right")
    figure.tight_layout()
    return figure


def race_figure(curves: dict[str, Sequence[Sequence[float]]], title: str, ax: Any = None) -> Any:
    """Each variant's median return over episodes (a 20-episode mean per seed) with its
    25th-75th percentile band across seeds: ``curves`` holds each variant's seeds'
    episode returns."""
    figure, ax = axes(ax, title)
    for name, seeds in curves.items():
        med, lo, hi = band(seeds, WINDOW)
        if not med:
            continue
        episodes = range(1, len(med) + 1)
        line, = ax.plot(episodes, med, label=f"{name} ({len(seeds)} seeds)")
        ax.fill_between(episodes, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_ylabel(f"return, {WINDOW}-episode mean (median across seeds)")
    ax.legend(loc="lower right")
    figure.tight_layout()
    return figure


def save_figure(figure: Any, path: str | Path) -> Path:
    """``figure`` written to ``path`` in the format its suffix names; closed after."""
    path = check_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    pyplot().close(figure)
    return path
