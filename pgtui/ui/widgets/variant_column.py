"""One variant of a race: its seeds' returns as a band, its figures, its noise meter."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ...rl.algos import algo_spec
from ...rl.envs.corridor import BEST_P, STEP_CAP, objective
from ...rl.envs.registry import CORRIDOR_ID
from ...rl.race.figures import VariantSummary, band, summarize, variance_ratio_text
from ...rl.race.intervals import Certainty, false_winner_text, show_interval
from ...rl.race.spec import VariantProgress, expected_gradient
from ...rl.tasks import Trace, optimum_key
from ...tasks import task_of

METER_WIDTH = 16


@dataclass
class VariantOnScreen(VariantProgress):
    """A variant as its column shows it: its progress and the last note under it."""

    feedback: str = ""
    # the IQMs and intervals of the seeds ``certain_of`` (measured once the race has stopped)
    certainty: Certainty | None = None
    certain_of: tuple = ()

    @property
    def summary(self) -> VariantSummary:
        found = summarize(self.name, self.seeds, self.config.algo, expected_gradient(self.config))
        if self.certainty is not None and self.certain_of is self.seeds:
            found = replace(found, certainty=self.certainty)
        return found


def meter(value: float | None, low: float, high: float) -> str:
    """A bar on a log scale shared by every column (low..high)."""
    if value is None or not math.isfinite(value) or value <= 0 or high <= low:
        return "·" * METER_WIDTH
    share = (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))
    filled = max(1, min(METER_WIDTH, round(share * METER_WIDTH)))
    return "█" * filled + "·" * (METER_WIDTH - filled)


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None or not math.isfinite(value) else format(value, spec)


class VariantColumn(Vertical):
    """Selected with left/right; the border shows which one the keys act on."""

    def __init__(self, race: VariantOnScreen, **kwargs) -> None:
        super().__init__(**kwargs)
        self.race = race
        self._figures: Text | None = None

    def compose(self) -> ComposeResult:
        self.plot = PlotextPlot()
        self.figures = Static()
        yield self.plot
        yield self.figures

    def on_mount(self) -> None:
        self.border_title = self.race.name

    def show(self, reference: VariantSummary | None, scale: tuple[float, float],
             threshold: float | None) -> None:
        """Redraw the text (cheap); the plot is redrawn by ``draw_plot``."""
        race, s = self.race, self.race.summary
        done = sum(x.global_step for x in race.seeds)
        total = race.config.total_steps * max(len(race.seeds), 1)
        lines = Text()
        lines.append(f"{race.status}", style="bold yellow" if race.status == "paused" else "bold")
        seeds = f"{len(race.seeds)} seed" + ("s" if len(race.seeds) != 1 else "")
        lines.append(f" · {seeds} · {min(done / total, 1.0):4.0%} of steps\n")
        lines.append(f"last-100 {_fmt(s.final_mean, '.1f')} ± {_fmt(s.final_std, '.1f')}\n")
        task = task_of(race.config.env)
        if task is not None and task.column_lines is not None and s.figures:  # the task's own
            for line in task.column_lines(s.figures):
                lines.append(line + "\n")
            spec = algo_spec(s.algo)
            if spec.race_note and all(k in s.figures for k in spec.race_figures):
                lines.append(spec.race_note.format(**s.figures) + "\n")
        else:
            self._solve_lines(lines, s, reference, scale, threshold)
        if s.exact:
            self._exact_lines(lines, s.exact, race.config.env)
        knobs = race.config
        lines.append(algo_spec(knobs.algo).knob_line(knobs), style="dim")
        if task is not None and task.knobs:
            lines.append(" · " + task.knobs.format(**vars(knobs)), style="dim")
        if race.feedback:
            lines.append("\n" + race.feedback, style="green")
        if race.error:
            lines.append("\n" + race.error, style="red")
        self._figures = lines
        self.figures.update(lines)

    @staticmethod
    def _exact_lines(lines: Text, exact: dict[str, float], env_id: str) -> None:
        """A tabular env's exact figures at the end, mean over the seeds: the acting
        policy's p(a) and J (DQN: its epsilon-greedy policy's, and its greedy one's J)."""
        probs = [f"p({k[2:]}) {v:.3f}" for k, v in exact.items() if k.startswith("p_")]
        greedy = exact.get("objective_greedy")
        j = f"J {'ε-greedy ' if greedy is not None else ''}{_fmt(exact.get('objective'), '.2f')}"
        lines.append(" · ".join([*probs, j]) + "\n")
        if greedy is not None:
            lines.append(f"J greedy {greedy:.2f}\n")
        if env_id == CORRIDOR_ID:
            lines.append(f"best: p(right) {BEST_P:.3f} · J {float(objective(BEST_P, STEP_CAP)):.2f}\n",
                         style="dim")

    @staticmethod
    def _certainty_lines(lines: Text, name: str, sure: Certainty, reference: VariantSummary | None) -> None:
        """Once the race has stopped: IQMs over the seeds, each with its 95% interval, and
        the chance that a seed of this variant ends above one of the first."""
        thousands, tenths = "{:.1f}k".format, "{:.1f}".format
        figures = [("IQM ", sure.steps, lambda v: thousands(v / 1000), " steps"),
                   ("IQM ", sure.seconds, tenths, " s"), ("final IQM ", sure.final, tenths, "")]
        if reference is not None:
            figures.append((f"P(> {reference.name}) ", sure.beats_first, "{:.2f}".format, ""))
        for label, found, show, unit in figures:
            if found is not None and math.isfinite(found.value):
                lines.append(f"{label}{show_interval(found, show)}{unit}\n")
        if sure.steps is not None and not math.isfinite(sure.steps.value):
            lines.append("IQM to solve: —, over a quarter never solved\n")
        said = false_winner_text(name, reference.name, sure) if reference is not None else None
        if said:
            lines.append(said + "\n", style="yellow")

    @staticmethod
    def _solve_lines(lines: Text, s: VariantSummary, reference: VariantSummary | None,
                     scale: tuple[float, float], threshold: float | None) -> None:
        solved = f"solved {s.solved}/{s.seeds}"
        if s.certainty is None:  # while it trains; once stopped, the IQMs below say it better
            if s.median_solve_steps is not None:
                solved += f", median {s.median_solve_steps / 1000:.1f}k steps"
            if s.median_solve_seconds is not None:
                solved += f", {s.median_solve_seconds:.1f} s"
        lines.append(solved + (f" (≥{threshold:g})" if threshold is not None else "") + "\n")
        if s.certainty is not None:
            VariantColumn._certainty_lines(lines, s.name, s.certainty, reference)
        if s.reached:
            lines.append(f"fell back {s.fell_back}/{s.reached}"
                         + (f" (lowest {s.lowest_after:.0f})" if s.fell_back else "") + "\n")
        if algo_spec(s.algo).gradient_noise:
            lines.append(f"grad var {meter(s.grad_var, *scale)} {_fmt(s.grad_var, '.2g')}\n")
            lines.append(f"grad snr {_fmt(s.grad_snr, '.2f')}\n")
        if "policy_kl" in s.averages:  # how far an update moves the policy, on average
            flips = s.averages.get("greedy_flips")
            lines.append(f"policy KL {s.averages['policy_kl']:.2g}"
                         + (f" · greedy flips {flips:.1%}" if flips is not None else "") + "\n")
        if s.baseline_se is not None:  # E[grad log pi b] = 0: ~1 se is what zero looks like
            lines.append(f"baseline term {s.baseline_se:.1f} se from 0\n")
        if s.true_grad_cosine is not None:  # beside the first variant's, same batches
            paired = s.averages.get("true_grad_cosine_ref")
            beside = (f" ({reference.name} {paired:.2f})" if paired is not None
                      and reference is not None and reference.name != s.name else "")
            lines.append(f"cos to true grad {s.true_grad_cosine:.2f}{beside}\n")
        if reference is not None and reference.name != s.name:
            sentence = variance_ratio_text(s, reference)
            if sentence:
                lines.append(sentence + "\n", style="cyan")

    def figures_height(self) -> int:
        """Lines the figures take at the column's width (0 before the first layout)."""
        width = self.figures.content_size.width
        if width <= 0 or self._figures is None:
            return 0
        return len(self._figures.wrap(self.app.console, width))

    def draw_plot(self, threshold: float | None, y_range: tuple[float, float] | None = None) -> None:
        """The band over episodes; ``y_range``: the race's shared one, so that every
        column's curves read on the same scale. A task's trace (the dialogue's exact true
        reward) over steps instead, with the optimum's as a line across."""
        plt = self.plot.plt
        plt.clear_data()
        plt.clear_figure()
        task = task_of(self.race.config.env)
        traces = [t for t in self.race.traces if t]
        if task is not None and task.trace is not None and traces:
            self._draw_trace(plt, traces, task.trace)
            return
        med, lo, hi = band(self.race.curves)
        if y_range is not None:
            plt.ylim(*y_range)
        if med:
            xs = list(range(1, len(med) + 1))
            plt.plot(xs, lo, marker="dot", color="gray")
            plt.plot(xs, hi, marker="dot", color="gray")
            plt.plot(xs, med, marker="braille", color="cyan")
            if threshold is not None:
                plt.hline(threshold, color="green")
        plt.xlabel("episode")
        self.plot.refresh()

    def _draw_trace(self, plt, traces: list[list[tuple[int, float]]], trace: Trace) -> None:
        med, lo, hi = band([[y for _, y in t] for t in traces], window=1)
        xs = [x / 1000 for x, _ in max(traces, key=len)][:len(med)]
        plt.ylim(*trace.y_range)
        plt.plot(xs, lo, marker="dot", color="gray")
        plt.plot(xs, hi, marker="dot", color="gray")
        plt.plot(xs, med, marker="braille", color="cyan")
        optimum = self.race.summary.figures.get(optimum_key(trace.key))
        if optimum is not None:
            plt.hline(optimum, color="green")
        plt.xlabel(f"k steps · {trace.label}")
        self.plot.refresh()
