"""A race's learning curves as files: the text plot `pgtui compare` prints, and a PNG
where matplotlib is installed (``pip install matplotlib``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..rl.race.figures import band
from ..rl.race.spec import VariantProgress


def write_png(results: list[VariantProgress], path: Path, title: str) -> bool:
    """Each variant's median return over episodes (20-episode mean), with its 25th-75th
    percentile band across seeds; False where matplotlib is not installed."""
    if importlib.util.find_spec("matplotlib") is None:
        return False
    import matplotlib

    matplotlib.use("Agg")  # no display: a file
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=120)
    for result in results:
        med, lo, hi = band(result.curves)
        if not med:
            continue
        episodes = range(1, len(med) + 1)
        line, = axes.plot(episodes, med, label=f"{result.name} ({len(result.curves)} seeds)")
        axes.fill_between(episodes, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    axes.set(title=title, xlabel="episode", ylabel="return, 20-episode mean (median across seeds)")
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return True
