"""Recent episode returns as a sparkline, with the figures that matter."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Sparkline

from .text_line import TextLine

SPARK_POINTS = 240  # most returns the sparkline is given; it bins them to its width


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

    def compose(self) -> ComposeResult:
        yield Sparkline([], summary_function=max, id="spark")
        yield TextLine(id="returns-figures", classes="returns--figures")

    def watch_returns(self, returns: tuple[float, ...]) -> None:
        if self.is_mounted:
            self.query_one(Sparkline).data = list(returns[-SPARK_POINTS:])
        self._refresh_figures()

    def watch_mean100(self) -> None:
        self._refresh_figures()

    def watch_solved_episode(self) -> None:
        self._refresh_figures()

    def _refresh_figures(self) -> None:
        if not self.is_mounted:
            return
        fmt = lambda v: "—" if v is None else f"{v:.1f}"  # noqa: E731
        last = self.returns[-1] if self.returns else None
        text = Text(f"last {fmt(last)} · mean100 {fmt(self.mean100)} · best {fmt(self.best)}"
                    f" · {self.episodes:,} ep")
        if self.solved_episode is not None:
            text.append(f"  ✓ SOLVED (ep {self.solved_episode:,})", "bold cyan")
        elif self.threshold is not None:
            text.append(f"  goal {self.threshold:g}", "dim")
        self.query_one("#returns-figures", TextLine).text = text
