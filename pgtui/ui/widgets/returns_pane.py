"""Recent episode returns as a sparkline, with the figures that matter."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

from rich.color import blend_rgb
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Sparkline

from ...rl.events import Solved
from ...rl.tasks import Series
from ..state import RunState
from .text_line import TextLine

SPARK_POINTS = 240  # most returns the sparkline is given; it bins them to its width
EIGHTHS = " ▁▂▃▄▅▆▇█"


def scale(values: Sequence[float], goal: float | None) -> tuple[float, float]:
    """The returns' axis: from zero or the lowest return, to zero, the goal or the best.

    Anchored at zero as any bar chart is: a run holding 500 fills the bars, a run between
    499 and 500 does not look like a saw, and negative returns (Acrobot, Pendulum) rise
    toward zero.
    """
    low = min(0.0, *values)
    high = max(0.0, *values, *(() if goal is None else (goal,)))
    return low, high


def own_axis(values: Sequence[float]) -> tuple[float, float]:
    """An axis that shows a series' own movement: its range, padded by a tenth on each
    side (a flat series gets a small band around its value)."""
    low, high = min(values), max(values)
    pad = 0.1 * (high - low) or 0.05 * max(abs(high), 1e-3)
    return low - pad, high + pad


def bar_rows(values: Sequence[float], width: int, height: int, low: float, high: float
             ) -> tuple[list[str], list[float]]:
    """Rows of block characters (top row first) of ``values`` binned to ``width``
    columns (a column shows its bin's best), and each column's height as a fraction of
    the axis."""
    n = len(values)
    columns = []
    for c in range(width):
        start = c * n // width
        stop = max((c + 1) * n // width, start + 1)
        columns.append(max(values[start:stop]))
    span = high - low
    fractions = [1.0 if span <= 0 else min(max((v - low) / span, 0.0), 1.0) for v in columns]
    eighths = [1 + int(f * (8 * height - 1)) for f in fractions]  # never empty: a floor shows
    rows = ["".join(EIGHTHS[min(max(e - 8 * level, 0), 8)] for e in eighths)
            for level in reversed(range(height))]
    return rows, fractions


class ReturnsSparkline(Sparkline):
    """Textual's sparkline with its colours, on an axis anchored at zero and the goal
    (``scale``): its own axis, lowest to highest return, draws a run that holds 500 in
    every episode as an empty floor."""

    goal: reactive[float | None] = reactive(None)
    axis: reactive[tuple[float, float] | None] = reactive(None)
    """An axis of its own (low, high) in place of ``scale``'s (the RLHF rewards)."""

    def render(self) -> RenderResult:
        data = list(self.data or [])
        width, height = self.size.width, self.size.height
        if not data or width == 0 or height == 0:
            return Text("▁" * width)
        _, base = self.background_colors
        low_color = (base + self.get_component_styles("sparkline--min-color").color).rich_color
        high_color = (base + self.get_component_styles("sparkline--max-color").color).rich_color
        low_rgb, high_rgb = low_color.get_truecolor(), high_color.get_truecolor()
        text = Text(no_wrap=True, overflow="crop")
        rows, fractions = bar_rows(data, width, height, *(self.axis or scale(data, self.goal)))
        for i, line in enumerate(rows):
            if i:
                text.append("\n")
            for char, fraction in zip(line, fractions, strict=True):
                text.append(char, Style(color=blend_rgb(low_rgb, high_rgb, fraction).hex)
                            if char != " " else None)
        return text


def steps_text(step: int) -> str:
    """18,432 env steps as "18.4k steps"."""
    return f"{step / 1000:.1f}k steps" if step >= 1000 else f"{step} steps"


def solved_text(solved: Solved) -> str:
    """What solved a run, in a few words."""
    if solved.by == "eval":
        return f"by greedy eval at {steps_text(solved.global_step)}"
    return f"by the last-100 mean (ep {solved.episode:,})"


class ReturnsPane(Vertical):
    """Sparkline plus last return, last-100 mean, best, episodes and the solved mark."""

    DEFAULT_CSS = """
    ReturnsPane { height: auto; }
    ReturnsPane Sparkline { height: 2; margin: 0 0 0 0; }
    ReturnsPane > .returns--figures { height: 2; }
    """

    returns: reactive[tuple[float, ...]] = reactive(tuple)
    """The most recent episode returns, oldest first."""
    mean100: reactive[float | None] = reactive(None)
    """Mean of the last 100 returns."""
    best: reactive[float | None] = reactive(None)
    """Best return so far."""
    episodes: reactive[int] = reactive(0)
    """Episodes finished."""
    threshold: reactive[float | None] = reactive(None)
    """The env's solved threshold, if it has one."""
    solved_episode: reactive[int | None] = reactive(None)
    """Episode at which the run was solved."""
    solved_how: reactive[str] = reactive("")
    """What solved it: the last-100 mean, or a greedy evaluation (at which step)."""
    evaluation: reactive[tuple[int, float] | None] = reactive(None)
    """The latest greedy evaluation: (env step, mean return); None when the run has none."""

    shown_episodes = 0  # the episodes in ``returns``

    def show(self, state: RunState) -> None:
        """A run's returns and figures; the curve is copied only when episodes were added."""
        self.best = None if state.episodes == 0 else state.best
        self.episodes, self.mean100 = state.episodes, state.mean100
        self.solved_episode = state.solved.episode if state.solved else None
        self.solved_how = "" if state.solved is None else solved_text(state.solved)
        self.evaluation = state.evaluations[-1][1:] if state.evaluations else None
        if state.episodes != self.shown_episodes:  # episodes only grow: a cheap "is it new"
            self.shown_episodes = state.episodes
            self.returns = tuple(islice(state.returns, max(len(state.returns) - SPARK_POINTS, 0), None))

    def compose(self) -> ComposeResult:
        spark = ReturnsSparkline([], id="spark")
        spark.goal = self.threshold
        yield spark
        yield TextLine(id="returns-figures", classes="returns--figures")

    def watch_returns(self, returns: tuple[float, ...]) -> None:
        if self.is_mounted:
            self.query_one(ReturnsSparkline).data = list(returns[-SPARK_POINTS:])
        self._refresh_figures()

    def watch_mean100(self) -> None:
        self._refresh_figures()

    def watch_solved_episode(self) -> None:
        self._refresh_figures()

    def watch_evaluation(self) -> None:
        self._refresh_figures()

    def watch_threshold(self, threshold: float | None) -> None:
        if self.is_mounted:
            self.query_one(ReturnsSparkline).goal = threshold
        self._refresh_figures()

    def _refresh_figures(self) -> None:
        if not self.is_mounted:
            return
        fmt = lambda v: "—" if v is None else f"{v:.1f}"  # noqa: E731
        last = self.returns[-1] if self.returns else None
        text = Text(f"last {fmt(last)} · mean100 {fmt(self.mean100)} · best {fmt(self.best)}"
                    f" · {self.episodes:,} ep")
        # a second line: the greedy policy beside the noisy training returns, and what
        # solved the run (a greedy evaluation can solve it while mean100 is far below)
        second = Text()
        if self.solved_episode is not None:
            second.append(f"✓ SOLVED {self.solved_how}", "bold cyan")
            if self.evaluation is not None:
                second.append(f" · greedy now {self.evaluation[1]:.1f}", "bold")
        else:
            if self.evaluation is not None:
                step, mean = self.evaluation
                second.append(f"greedy eval {mean:.1f} at {steps_text(step)}  ", "bold")
            if self.threshold is not None:
                second.append(f"goal {self.threshold:g}", "dim")
        if second:
            text.append("\n")
            text.append_text(second)
        self.query_one("#returns-figures", TextLine).text = text


class SeriesPane(Vertical):
    """A task's figures per update (``TaskSpec.progress``: the dialogue's exact proxy and
    true reward), one sparkline each on its own axis, with the optimum's where the task
    reports it."""

    DEFAULT_CSS = """
    SeriesPane { height: auto; }
    SeriesPane Horizontal { height: 2; }
    SeriesPane .series--label { width: 6; }
    SeriesPane Sparkline { height: 2; width: 1fr; }
    SeriesPane > .returns--figures { height: 2; }
    """

    values: reactive[tuple[tuple[float, ...], ...]] = reactive(tuple)
    """Each series' values, one per update."""
    optimum: reactive[tuple[float, ...] | None] = reactive(None)
    """The best any policy can do, per series (the dialogue's KL-regularised optimum at
    the run's kl_coef), or None: not reported."""

    def __init__(self, series: tuple[Series, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self.series = series

    def show(self, state: RunState) -> None:
        """The run's series, and the optimum's where its latest update reports it."""
        self.values = tuple(tuple(state.series.get(s.key, ())) for s in self.series)
        if all(s.optimum and s.optimum in state.stats for s in self.series):
            self.optimum = tuple(state.stats[s.optimum] for s in self.series)

    def clear(self) -> None:
        self.values, self.optimum = (), None

    def compose(self) -> ComposeResult:
        for s in self.series:
            with Horizontal():
                yield TextLine(Text(s.label, "bold"), classes="series--label")
                yield ReturnsSparkline([], id=f"{s.label}-spark")
        yield TextLine(id="series-figures", classes="returns--figures")

    def watch_values(self, values: tuple[tuple[float, ...], ...]) -> None:
        """Each row on its own axis: accuracy falling from 0.62 to 0.50 on an axis from 0
        to 1 read as a solid block."""
        if self.is_mounted:
            for s, shown in zip(self.series, values or [()] * len(self.series), strict=True):
                spark = self.query_one(f"#{s.label}-spark", ReturnsSparkline)
                spark.axis = own_axis(shown) if shown else None
                spark.data = list(shown[-SPARK_POINTS:])
        self._refresh_figures()

    def watch_optimum(self) -> None:
        self._refresh_figures()

    def _refresh_figures(self) -> None:
        if not self.is_mounted:
            return
        if len(self.values) < len(self.series) or not all(self.values):
            text = Text("exact per update, by enumeration; waiting for the first", "dim")
        else:
            rows = list(zip(self.series, self.values, strict=True))
            text = Text(" · ".join(f"{s.label} {v[-1]:{s.fmt}} (from {v[0]:{s.fmt}})" for s, v in rows))
            if self.optimum is not None:
                shown = ", ".join(format(o, s.fmt) for s, o in zip(self.series, self.optimum, strict=True))
                text.append(f" · π* {shown}", "magenta")
            axes = [(s, own_axis(v)) for s, v in rows]
            text.append("\neach row on its own axis: " + ", ".join(
                f"{s.label} {low:{s.fmt}}..{high:{s.fmt}}" for s, (low, high) in axes), "dim")
        self.query_one("#series-figures", TextLine).text = text
