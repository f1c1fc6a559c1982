"""The whole learning curve: returns, their moving average, the greedy evaluations, and
every change marked."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.screen import Screen
from textual_plotext import PlotextPlot

from ...rl.race.figures import moving_average
from ..widgets.steady_footer import SteadyFooter

MOVING_WINDOW = 100


class PlotScreen(Screen):
    """Opened with g; closed with g or escape. Redrawn when new returns arrive."""

    BINDINGS = [("escape", "app.pop_screen", "back"), ("g", "app.pop_screen", "back")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.plot_title = title

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="curve")
        yield SteadyFooter()

    def show(self, returns: Sequence[float], marks: Sequence[tuple[int, str]],
             threshold: float | None, evaluations: Sequence[tuple[int, int, float]] = ()) -> None:
        """``evaluations``: greedy evaluations as (episodes by then, env step, mean return),
        drawn at their episode beside the training curve."""
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.plot_title)
        plt.xlabel("episode")
        plt.ylabel("return")
        if returns:
            xs = list(range(1, len(returns) + 1))
            plt.scatter(xs, list(returns), marker="dot", color="gray", label="return")
            plt.plot(xs, moving_average(returns, MOVING_WINDOW), color="cyan",
                     label=f"mean of {MOVING_WINDOW}")
            means = [mean for _, _, mean in evaluations]
            if evaluations:
                plt.plot([max(e, 1) for e, _, _ in evaluations], means, marker="●", color="magenta",
                         label="greedy eval")
            low = min([*returns, *means])
            high = max([*returns, *means, *([threshold] if threshold is not None else [])])
            pad = 0.15 * (high - low) or 1.0
            plt.ylim(low, high + pad)  # headroom above the data for the change labels
            if threshold is not None:
                plt.hline(threshold, color="green")
            for i, (episode, text) in enumerate(marks):
                x = max(episode, 1)
                plt.vline(x, color="yellow")
                # alternate two heights so that neighbouring labels do not overwrite each other
                plt.text(text, x=x, y=high + pad * (0.8 if i % 2 == 0 else 0.45), color="yellow",
                         alignment="left" if x < len(returns) / 2 else "right")
        plot.refresh()
