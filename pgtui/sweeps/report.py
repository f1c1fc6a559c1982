"""A sweep's figures: one row per grid point, the table, the sensitivity plot, the files.

Plain functions over plain numbers, shared by `pgtui sweep` and the sweep screen.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from rich.table import Table

from ..commands.compare import MARKERS, PALETTE, show_number, show_steps
from ..rl.race.figures import summarize
from ..rl.race.spec import SeedProgress
from .spec import Point, Sweep, show

#: the figures of a point's row, after its swept keys (the --json and summary.json fields)
FIGURES = ("seeds", "solved", "median_solve_step", "median_solve_seconds", "final_mean",
           "final_std", "grad_var", "failed")


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def point_row(point: Point, seeds: Sequence[SeedProgress]) -> dict[str, Any]:
    """A grid point's figures over its finished trials (seeds)."""
    s = summarize(point.name, list(seeds))
    return {**point.as_dict(), "seeds": len(seeds), "solved": s.solved,
            "median_solve_step": _clean(s.median_solve_steps),
            "median_solve_seconds": _clean(s.median_solve_seconds),
            "final_mean": _clean(s.final_mean), "final_std": _clean(s.final_std),
            "grad_var": _clean(s.grad_var),
            "failed": sum(seed.status in ("diverged", "error") for seed in seeds)}


def rows(sweep: Sweep, results: dict[Point, dict[int, SeedProgress]]) -> list[dict[str, Any]]:
    """Every grid point's row, in grid order (a point with no finished trial has zeros)."""
    return [point_row(p, [results[p][s] for s in sorted(results.get(p, {}))]) for p in sweep.points]


def document(points: list[dict[str, Any]]) -> dict[str, Any]:
    return {"points": points}


def to_csv(sweep: Sweep, points: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*sweep.keys, *FIGURES], lineterminator="\n")
    writer.writeheader()
    for row in points:
        writer.writerow({k: show(v) if k in sweep.keys else ("" if v is None else v)
                         for k, v in row.items()})
    return buffer.getvalue()


def return_format(points: list[dict[str, Any]]) -> str:
    """One decimal for returns like CartPole's; three where every return is under 10
    (FrozenLake's success rates)."""
    finals = [abs(p["final_mean"]) for p in points if p["final_mean"] is not None]
    return ".3f" if finals and max(finals) < 10 else ".1f"


def table(sweep: Sweep, points: list[dict[str, Any]]) -> Table:
    out = Table(title=f"sweep: {len(sweep.points)} grid points x {sweep.config.seeds} seeds",
                title_justify="left", caption_justify="left",
                caption="steps and seconds to solve: medians over the seeds that solved (steps "
                        "learned from, training time); final: each seed's last-100 mean, mean ± "
                        "std across seeds; grad var: mean over updates and seeds")
    for key in sweep.keys:
        out.add_column(key)
    for column in ("solved", "steps to solve", "seconds", "final mean ± std", "grad var"):
        out.add_column(column, justify="right")
    spec = return_format(points)
    for row in points:
        solved = f"{row['solved']}/{row['seeds']}"
        if row["seeds"] < sweep.config.seeds:
            solved += f" (of {sweep.config.seeds})"
        if row["failed"]:
            solved += f", {row['failed']} failed"
        out.add_row(*[show(row[k]) for k in sweep.keys], solved, show_steps(row["median_solve_step"]),
                    show_number(row["median_solve_seconds"], ".1f"),
                    f"{show_number(row['final_mean'], spec)} ± {show_number(row['final_std'], spec)}",
                    show_number(row["grad_var"], ".3g"))
    return out


def _numeric(values: list) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def x_key(sweep: Sweep) -> str:
    """The key the plot runs along: the numeric swept key with the most values (the first
    on a tie), else the first key."""
    numeric = [k for k, values in sweep.config.sweep.items() if _numeric(values)]
    if not numeric:
        return sweep.keys[0]
    return max(numeric, key=lambda k: len(sweep.config.sweep[k]))


def axis(sweep: Sweep) -> tuple[str, Callable[[Any], float], bool]:
    """The plot's x key, where each of its values goes, and whether that is a log scale:
    positive values spanning 10x or more go on a log scale, with a 0 a decade below the
    smallest positive value (ent_coef = 0, 0.001, 0.01, 0.1)."""
    key = x_key(sweep)
    values = sweep.config.sweep[key]
    if not _numeric(values):
        return key, values.index, False
    positive = [v for v in values if v > 0]
    if min(values) < 0 or len(positive) < 2 or max(positive) / min(positive) < 10:
        return key, float, False
    floor = math.log10(min(positive)) - 1
    return key, lambda v: math.log10(v) if v > 0 else floor, True


def series(sweep: Sweep, points: list[dict[str, Any]]) -> list[tuple[str, list[tuple[Any, dict]]]]:
    """One line per setting of the other swept keys: (label, [(x value, row)] along x)."""
    key = x_key(sweep)
    others = [k for k in sweep.keys if k != key]
    lines: dict[str, list[tuple[Any, dict]]] = {}
    for row in points:
        label = " ".join(f"{k}={show(row[k])}" for k in others) or "final mean"
        lines.setdefault(label, []).append((row[key], row))
    return list(lines.items())


def sensitivity_plot(sweep: Sweep, points: list[dict[str, Any]], color: bool,
                     size: tuple[int, int] = (78, 18)) -> str:
    """Final return against the swept key, one line per other setting; in color, dotted
    lines mark mean ± std across seeds."""
    import plotext as plt

    key, position, log = axis(sweep)
    values = sweep.config.sweep[key]
    plt.clf()
    plt.plotsize(*size)
    plt.theme("pro" if color else "clear")
    for i, (label, line) in enumerate(series(sweep, points)):
        drawn = [(position(x), row) for x, row in line if row["final_mean"] is not None]
        if not drawn:
            continue
        xs = [x for x, _ in drawn]
        means = [row["final_mean"] for _, row in drawn]
        if color:
            hue = PALETTE[i % len(PALETTE)]
            for sign in (-1, 1):
                plt.plot(xs, [m + sign * (row["final_std"] or 0.0) for m, (_, row) in
                              zip(means, drawn, strict=True)], marker="dot", color=hue)
            plt.plot(xs, means, label=label, marker="braille", color=hue)
        else:
            plt.plot(xs, means, label=label, marker=MARKERS[i % len(MARKERS)])
    ticks = [position(v) for v in values]
    plt.xticks(ticks, [show(v) for v in values])
    plt.xlabel(f"{key}{' (log scale)' if log else ''}")
    band = "; dotted: ± std across seeds" if color else ""
    plt.title(f"final return (last-100 mean), mean over seeds{band}")
    drawn_text = plt.build()
    return drawn_text if color else plt.uncolorize(drawn_text)


def sweep_figure(sweep: Sweep, points: list[dict[str, Any]], ax: Any = None) -> Any:
    """The sensitivity plot as a figure (matplotlib): each grid point's final return (the
    last-100 mean, mean over seeds, with ± its std) against the swept key, one line per
    setting of the other keys; into ``ax``, else a new figure."""
    from ..figures import axes

    figure, ax = axes(ax, "final return (last-100 mean), mean ± std over seeds")
    key, position, log = axis(sweep)
    for label, line in series(sweep, points):
        drawn = [(position(x), row) for x, row in line if row["final_mean"] is not None]
        if drawn:
            ax.errorbar([x for x, _ in drawn], [row["final_mean"] for _, row in drawn],
                        yerr=[row["final_std"] or 0.0 for _, row in drawn], marker="o", capsize=3,
                        label=label)
    values = sweep.config.sweep[key]
    ax.set_xticks([position(v) for v in values], [show(v) for v in values])
    ax.set(xlabel=f"{key}{' (log scale)' if log else ''}", ylabel="return")
    ax.legend(loc="best")
    figure.tight_layout()
    return figure


def json_line(points: list[dict[str, Any]]) -> str:
    return json.dumps(document(points))
