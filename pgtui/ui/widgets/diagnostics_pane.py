"""Losses and gradient diagnostics of the latest update."""

from __future__ import annotations

import math

from rich.table import Table
from textual.reactive import reactive
from textual.widgets import Static

from ...rl.stats import Stat

FULL_LABELS_WIDTH = 40  # narrower than this, the short labels


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
        return f"{value:.2e}"
    return f"{value:.4g}"


class DiagnosticsPane(Static):
    """A two-column grid of the figures every update reports."""

    DEFAULT_CSS = """
    DiagnosticsPane { height: 7; }
    """

    stats: reactive[dict] = reactive(dict, always_update=True)
    """The stats dict of the latest UpdateFinished event."""
    placeholders: reactive[tuple[str, ...]] = reactive(())
    """Figures shown with a dash until an update reports them (``AlgoSpec.placeholders``)."""
    schema: reactive[tuple[Stat, ...]] = reactive(())
    """The figures the run reports, in the order shown (``schema.stats_of``)."""

    def render(self) -> Table:
        full = self.content_size.width >= FULL_LABELS_WIDTH
        table = Table.grid(padding=(0, 1), expand=True)
        for _ in range(4):
            table.add_column(no_wrap=True, overflow="ellipsis")
        both = "critic_grad_norm" in self.stats  # the actor's and the critic's, each clipped
        cells = [(("|g| pi / V" if both and s.key == "grad_norm" else s.label) if full else s.short,
                  self._value(s)) for s in self.schema
                 if s.shown and (s.key in self.stats or s.key in self.placeholders)]
        for i in range(0, len(cells), 2):
            table.add_row(*[item for pair in cells[i:i + 2] for item in pair])
        return table

    def _value(self, stat: Stat) -> str:
        value = self.stats.get(stat.key)
        if stat.key == "grad_norm" and "critic_grad_norm" in self.stats:  # clipped each on its own
            return f"{_fmt(value)} / {_fmt(self.stats['critic_grad_norm'])}"
        if value is not None and math.isfinite(value) and (own := stat.shown_value(value)) is not None:
            return own
        return _fmt(value)
