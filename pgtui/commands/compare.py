"""`pgtui compare`: every variant x seed of a race preset, a table, a plot, a JSON line.

Each variant's seeds train in one process of their own (``RemoteVariant``), so the
variants run side by side on the cores; within a variant the seeds are one Trainer's
seed axis and train as one.
"""

from __future__ import annotations

import json
import math
import queue
import signal
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import tasks
from ..config import Config
from ..figures import available as can_draw
from ..figures import race_figure, save_figure
from ..processes import RemoteVariant, race_threads, relay
from ..rl.algos import algo_spec
from ..rl.events import RunError, Stop
from ..rl.race.figures import (
    VariantSummary,
    band,
    like_for_like,
    summarize,
    variance_ratios,
    variance_slopes,
)
from ..rl.race.intervals import Certainty, certainty, false_winner_text, show_interval
from ..rl.race.spec import (
    VariantProgress,
    VariantReport,
    expected_gradient,
    reference_estimator,
    same_setting,
    variant_configs,
)
from ..rl.tasks import optimum_key

PLOT_SIZE = (78, 18)


@dataclass
class CompareOptions:
    seeds: int | None = None
    out: Path | None = None
    json: bool = False
    tensorboard: Path | None = None  # also TensorBoard scalars, one run per variant x seed
    plot: Path | None = None  # also the curves as a figure (PNG, SVG or PDF by the suffix)


def run_races(config: Config, options: CompareOptions, on_report=None
              ) -> tuple[list[VariantProgress], bool]:
    """Train every variant x seed; returns each variant's final seeds and return curves,
    and whether ctrl+c cut the races short."""
    variants = variant_configs(config, options.seeds)
    results = {name: VariantProgress(name, configs[0]) for name, configs in variants}
    tasks.prepare([configs[0] for _, configs in variants])
    reference = reference_estimator(variants)
    threads = race_threads(len(variants))
    remotes = [RemoteVariant(name, configs, metrics_dir=options.out, reference=reference,
                           threads=threads, tensorboard=options.tensorboard)
               for name, configs in variants]
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    for remote in remotes:
        remote.start()
        relay(remote, inbox, remote.variant)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    running, interrupted = len(remotes), False
    try:
        while running:
            if stop.is_set():
                for remote in remotes:
                    remote.submit(Stop())
                stop.clear()
                interrupted = True
            try:
                name, item = inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is None:
                running -= 1
            elif isinstance(item, RunError):
                results[name].error = item.message
            elif isinstance(item, VariantReport):
                results[name].add(item.seeds)
                if on_report is not None:
                    on_report(results)
    finally:
        signal.signal(signal.SIGINT, previous)
        for remote in remotes:
            remote.join()
    return list(results.values()), interrupted


def show_number(value: float | None, spec: str) -> str:
    return "—" if value is None or not math.isfinite(value) else format(value, spec)


def show_steps(value: float | None) -> str:
    """12,345 steps as "12.3k"."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}"


def race_summaries(results: list[VariantProgress], variants: list[tuple[str, list[Config]]]
                   ) -> list[VariantSummary]:
    """The summaries of a finished race, with their IQMs and intervals and each variant's
    chance of beating the first on the final return."""
    firsts = {name: configs[0] for name, configs in variants}
    summaries = like_for_like([summarize(r.name, r.seeds, firsts[r.name].algo,
                                         expected_gradient(firsts[r.name])) for r in results])
    first = results[0] if results else None
    return [replace(s, certainty=certainty(r.seeds, first.seeds if i else None,
                                           same_setting(firsts[first.name], firsts[r.name])))
            for i, (s, r) in enumerate(zip(summaries, results, strict=True))]


CHANGE_HEADERS = {"policy_kl": "policy KL", "greedy_flips": "greedy flips"}


def exact_header(key: str) -> str:
    """A tabular env's exact figure as a column: p(right), J exact, J greedy."""
    if key.startswith("p_"):
        return f"p({key[2:]})"
    return {"objective": "J exact", "objective_greedy": "J greedy"}.get(key, key)


def summary_table(summaries: list[VariantSummary], task: tasks.TaskSpec | None) -> Table:
    if task is not None and task.columns and any(s.figures for s in summaries):
        return task_table(summaries, task)
    table = Table(title="race", title_justify="left", caption_justify="left",
                  caption="steps to solve, seconds, final return: the interquartile mean over "
                          "the seeds, in brackets its 95% bootstrap interval (steps learned from, training "
                          "time; a seed that never solved counts as never, and — is a typical "
                          "seed that never did; the final return: of the last 100 training "
                          "episodes); P(> first): the chance that a seed of the variant ends "
                          "above a seed of the first, and its interval; fell back: seeds whose last-100 mean "
                          "fell below the threshold after reaching it, of those that reached "
                          "it (the lowest); "
                          "final eval: the last greedy evaluation's mean (mean over seeds); "
                          "p(a), J exact: the acting policy's, exact, at the end (J greedy: "
                          "its greedy policy's); policy KL: KL(before || after) of an update, "
                          "mean over updates; greedy flips: the share of states whose greedy "
                          "action an update changed")
    paired = any(s.variance_ratio is not None for s in summaries)
    evaluated = any(s.final_eval is not None for s in summaries)
    exact = list(dict.fromkeys(k for s in summaries for k in s.exact))
    changes = [k for k in ("policy_kl", "greedy_flips") if any(k in s.averages for s in summaries)]
    noise = any(s.grad_var is not None for s in summaries)  # DQN and SAC measure none
    versus = len(summaries) > 1 and any(s.certainty is not None for s in summaries)
    columns = ["variant", "solved", "steps to solve", "seconds", "fell back", "final return",
               *([f"P(> {summaries[0].name})"] if versus else []),
               *(["final eval"] if evaluated else []), *[exact_header(k) for k in exact],
               *(["grad var", "grad snr"] if noise else []), *[CHANGE_HEADERS[k] for k in changes]]
    if paired:
        columns.append(f"var cut vs {summaries[0].name}")
    for column in columns:
        table.add_column(column, justify="left" if column == "variant" else "right")
    for s in summaries:
        fell = f"{s.fell_back}/{s.reached}" + (f" ({s.lowest_after:.0f})" if s.fell_back else "")
        sure = s.certainty or Certainty(None, None, None)
        row = [s.name, f"{s.solved}/{s.seeds}", show_interval(sure.steps, show_steps),
               show_interval(sure.seconds, lambda v: f"{v:.1f}"), fell if s.reached else "—",
               show_interval(sure.final, lambda v: f"{v:.1f}"),
               *([show_interval(sure.beats_first, lambda v: f"{v:.2f}")] if versus else []),
               *([show_number(s.final_eval, ".1f")] if evaluated else []),
               *[show_number(s.exact.get(k), ".3f" if k.startswith("p_") else ".2f") for k in exact],
               *([show_number(s.grad_var, ".3g"), show_number(s.grad_snr, ".3g")] if noise else []),
               *[show_number(s.averages.get(k), ".3g") for k in changes]]
        if paired:
            row.append("—" if s.variance_ratio is None else f"{s.variance_ratio:.1f}x")
        table.add_row(*row)
    return table


def true_gradient_lines(summaries: list[VariantSummary]) -> list[str]:
    """Each estimator's mean cosine to the true gradient (tabular envs), beside the first
    variant's estimator's on the same batches."""
    lines = []
    for s in summaries:
        cosine, paired = s.averages.get("true_grad_cosine"), s.averages.get("true_grad_cosine_ref")
        if cosine is None:
            continue
        line = f"{s.name}: cosine {cosine:.2f} to the true gradient"
        if paired is not None and s.name != summaries[0].name:
            line += f", {summaries[0].name}: {paired:.2f} (same batches)"
        lines.append(line)
    return lines


def task_table(summaries: list[VariantSummary], task: tasks.TaskSpec) -> Table:
    """A task's figures (``tasks.TaskSpec.columns``): at the end of training, mean over seeds;
    a row for each distinct optimum the task reports."""
    table = Table(title="race", title_justify="left", caption_justify="left", caption=task.caption)
    table.add_column("variant")
    for title, _, _ in task.columns:
        table.add_column(title, justify="right")
    for s in summaries:
        table.add_row(s.name, *[show_number(s.figures.get(key), spec) for _, key, spec in task.columns])
    notes = [(algo_spec(s.algo).race_note, s) for s in summaries]
    shown = [f"{s.name}: {note.format(**s.figures)}" for note, s in notes
             if note and all(k in s.figures for k in algo_spec(s.algo).race_figures)]
    if shown:
        table.caption += ". " + "; ".join(shown)
    for label, figures in optimum_figures(summaries, task).items():
        table.add_row(label, *[show_number(figures.get(key), spec) for _, key, spec in task.columns],
                      style="dim")
    return table


def optimum_figures(summaries: list[VariantSummary], task: tasks.TaskSpec) -> dict[str, dict[str, float]]:
    """The optimum's figures (``optimum_key``) by its label: one per distinct optimum
    (a variant's settings fix it: the dialogue's labeler bias and kl_coef)."""
    keys = [key for _, key, _ in task.columns]
    rows = {}
    for s in summaries:
        figures = {k: s.figures[optimum_key(k)] for k in keys if optimum_key(k) in s.figures}
        if figures:
            rows.setdefault(tuple(round(v, 6) for v in figures.values()), (s.name, figures))
    return {("π*" if len(rows) == 1 else f"π* of {name}"): figures for name, figures in rows.values()}


PALETTE = ("cyan", "orange", "green", "magenta", "yellow", "red")
MARKERS = ("*", "+", "x", "o", "#", "@")


def curves_plot(results: list[VariantProgress], color: bool) -> str:
    """Each variant's median return (20-episode average) over episodes, across seeds;
    in color, dotted lines mark its 25th and 75th percentiles."""
    import plotext as plt

    plt.clf()
    plt.plotsize(*PLOT_SIZE)
    plt.theme("pro" if color else "clear")
    for i, result in enumerate(results):
        med, lo, hi = band(result.curves)
        if not med:
            continue
        xs = list(range(1, len(med) + 1))
        if color:
            hue = PALETTE[i % len(PALETTE)]
            plt.plot(xs, lo, marker="dot", color=hue)
            plt.plot(xs, hi, marker="dot", color=hue)
            plt.plot(xs, med, label=result.name, marker="braille", color=hue)
        else:
            plt.plot(xs, med, label=result.name, marker=MARKERS[i % len(MARKERS)])
    band_note = "; dotted: 25th-75th percentile" if color else ""
    plt.title(f"return, 20-episode mean: median across seeds{band_note}")
    plt.xlabel("episode")
    drawn = plt.build()
    return drawn if color else plt.uncolorize(drawn)


def trace_plot(results: list[VariantProgress], title: str, optimum: dict[str, float], color: bool) -> str:
    """A task's trace (``tasks.TaskSpec.trace``): each variant's over env steps, median across
    seeds, with each distinct optimum's as a flat line."""
    import plotext as plt

    plt.clf()
    plt.plotsize(*PLOT_SIZE)
    plt.theme("pro" if color else "clear")
    ends = []
    for i, result in enumerate(results):
        traces = [t for t in result.traces if t]
        if not traces:
            continue
        med, _, _ = band([[y for _, y in t] for t in traces], window=1)
        xs = [x / 1000 for x, _ in max(traces, key=len)][:len(med)]
        ends.append(xs[-1])
        style = ({"color": PALETTE[i % len(PALETTE)], "marker": "braille"} if color
                 else {"marker": MARKERS[i % len(MARKERS)]})
        plt.plot(xs, med, label=result.name, **style)
    for label, value in optimum.items():  # labelled mid-way: at the left edge the axis hides it
        plt.horizontal_line(value)
        plt.text(label, x=max(ends, default=0) / 2, y=value)
    plt.title(f"{title}: median across seeds; flat: π*'s")
    plt.xlabel("thousand steps (DPO: tokens of labelled pairs read)")
    drawn = plt.build()
    return drawn if color else plt.uncolorize(drawn)


def run_compare(config: Config, options: CompareOptions) -> int:
    """Run the races and print the table and the plot (and the JSON line); exit code."""
    err = Console(stderr=True)
    show_progress = sys.stderr.isatty() and not options.json
    variants = variant_configs(config, options.seeds)
    total = sum(c.total_steps for _, configs in variants for c in configs)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                        console=err, transient=True, disable=not show_progress)
    task = progress.add_task("race", total=total)

    def on_report(results: dict[str, VariantProgress]) -> None:
        done = sum(s.global_step for r in results.values() for s in r.seeds)
        progress.update(task, completed=min(done, total))

    if options.out is not None:
        options.out.mkdir(parents=True, exist_ok=True)
        (options.out / "config.toml").write_text(config.to_toml(), encoding="utf-8")
    with progress:
        results, interrupted = run_races(config, options, on_report)
    firsts = {name: configs[0] for name, configs in variants}
    summaries = race_summaries(results, variants)
    failed = [r for r in results if r.error]
    for r in failed:
        print(f"pgtui compare: {r.error}", file=sys.stderr)
    env_task = tasks.task_of(config.env)
    table = summary_table(summaries, env_task)
    # as wide as the table's columns want, so that none is cut (100 at least, for the plot)
    wanted = Console(width=400).measure(table).maximum
    out = Console(force_terminal=None if sys.stdout.isatty() else False, width=min(max(wanted, 100), 200))
    out.print(table)
    for line in variance_ratios(summaries):
        out.print(line)
    for s in summaries[1:]:  # a race of one setting against itself: what a few seeds would say
        if s.certainty is not None and (line := false_winner_text(s.name, summaries[0].name, s.certainty)):
            out.print(line)
    for line in true_gradient_lines(summaries):
        out.print(line)
    terms = [f"{s.name} {s.baseline_se:.1f}" for s in summaries if s.baseline_se is not None]
    if terms:  # E[grad log pi b] = 0: about 1 standard error is what zero looks like
        out.print("baseline term (with minus without, same batches), standard errors from zero: "
                  + ", ".join(terms))
    slopes = variance_slopes([(r.name, firsts[r.name], r.seeds) for r in results])
    for fit in slopes:
        se = "" if fit["slope_se"] is None else f" ± {fit['slope_se']:.2f}"
        out.print(f"grad var ∝ {fit['key']}^{fit['slope']:.2f}{se} over "
                  f"{', '.join(fit['variants'])} ({fit['points']} seed runs, log-log least squares)")
    for r in results:
        bad = [f"seed {s.seed}: {s.status}" for s in r.seeds if s.status in ("diverged", "error")]
        if bad:
            out.print(f"{r.name}: " + ", ".join(bad))
    if env_task is not None and env_task.trace is not None and any(any(t) for r in results for t in r.traces):
        key = env_task.trace.key
        optimum = {label: f[key] for label, f in optimum_figures(summaries, env_task).items() if key in f}
        print(trace_plot(results, env_task.trace.title, optimum, color=sys.stdout.isatty()))
    else:
        print(curves_plot(results, color=sys.stdout.isatty()))
        if options.out is not None:
            plain = curves_plot(results, color=False)
            (options.out / "curves.txt").write_text(plain + "\n", encoding="utf-8")
        curves = {r.name: r.curves for r in results}
        title = f"{config.env}: return per episode"
        if options.plot is not None:
            save_figure(race_figure(curves, title), options.plot)
        if options.out is not None and can_draw():
            save_figure(race_figure(curves, title), options.out / "curves.png")
    document = {"variants": [s.as_json() for s in summaries]}
    for fit in slopes:  # each variant of a fitted series carries its series' slope
        for variant in document["variants"]:
            if variant["name"] in fit["variants"]:
                variant.update(slope=fit["slope"], slope_se=fit["slope_se"], slope_key=fit["key"])
    if slopes:
        document["slopes"] = slopes
    if options.out is not None:
        (options.out / "summary.json").write_text(json.dumps(document, indent=2) + "\n",
                                                  encoding="utf-8")
    if options.json:
        print(json.dumps(document))
    if interrupted:
        return 130
    return 1 if failed or any(not r.seeds for r in results) else 0
