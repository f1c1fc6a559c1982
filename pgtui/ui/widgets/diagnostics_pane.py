"""Losses and gradient diagnostics of the latest update."""

from __future__ import annotations

import math

from rich.table import Table
from textual.reactive import reactive
from textual.widgets import Static

SHOWN = (
    ("policy_loss", "policy loss"), ("value_loss", "value loss"), ("entropy", "entropy"),
    ("approx_kl", "approx kl"), ("clipfrac", "clip frac"),
    ("explained_variance", "expl var"), ("grad_norm", "grad norm"),
    ("grad_var", "grad var"), ("grad_snr", "grad snr"), ("sps", "steps/s"),
)


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

    def render(self) -> Table:
        table = Table.grid(padding=(0, 1), expand=True)
        for _ in range(4):
            table.add_column()
        cells = [(label, _fmt(self.stats.get(key))) for key, label in SHOWN
                 if key in self.stats or key in ("policy_loss", "grad_var")]
        for i in range(0, len(cells), 2):
            row = [item for pair in cells[i:i + 2] for item in (pair[0], pair[1])]
            table.add_row(*row)
        return table
