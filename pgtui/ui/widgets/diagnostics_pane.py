"""Losses and gradient diagnostics of the latest update."""

from __future__ import annotations

import math

from rich.table import Table
from textual.reactive import reactive
from textual.widgets import Static

# stats key, label, short label for a narrow pane
SHOWN = (
    ("policy_loss", "policy loss", "loss"), ("value_loss", "value loss", "vloss"),
    ("entropy", "entropy", "ent"), ("approx_kl", "approx kl", "kl"),
    ("clipfrac", "clip frac", "clip"), ("explained_variance", "expl var", "ev"),
    ("grad_norm", "grad norm", "|g|"), ("grad_var", "grad var", "g var"),
    ("grad_snr", "grad snr", "snr"), ("policy_kl", "policy KL", "KL pi"),
    ("greedy_flips", "greedy flips", "flips"), ("baseline_se", "baseline term", "b term"),
    ("true_grad_cosine", "cos true grad", "cos"), ("true_grad_mse", "MSE true grad", "mse"),
    ("td_loss", "TD loss", "td"), ("q_mean", "mean Q", "Q"),
    ("epsilon", "epsilon", "eps"), ("buffer_fill", "buffer", "buf"),
    ("target_updates", "target upd", "tgt"),
    # SAC
    ("q_loss", "Q loss", "qloss"), ("actor_loss", "actor loss", "aloss"), ("alpha", "alpha", "α"),
    # GRPO: the k3 estimate of KL(pi || pi_ref) a response, the spread its groups compare
    ("kl_k3", "k3 KL", "k3"), ("group_reward_std", "group std", "g std"),
    # DPO: its implicit reward beta log(pi / pi_ref) on the pairs it read
    ("reward_margin", "margin", "margin"), ("reward_accuracy", "pair acc", "acc"),
    # the RLHF dialogue, exact by enumeration
    ("kl_exact", "KL to ref", "KL"), ("agreement_when_wrong_exact", "agrees|wrong", "agree"),
    ("rm_accuracy", "RM accuracy", "rm acc"), ("sps", "steps/s", "sps"),
)
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

    def render(self) -> Table:
        full = self.content_size.width >= FULL_LABELS_WIDTH
        table = Table.grid(padding=(0, 1), expand=True)
        for _ in range(4):
            table.add_column(no_wrap=True, overflow="ellipsis")
        both = "critic_grad_norm" in self.stats  # the actor's and the critic's, each clipped
        cells = [(("|g| pi / V" if both and key == "grad_norm" else label) if full else short,
                  self._value(key)) for key, label, short in SHOWN
                 if key in self.stats or key in self.placeholders]
        for i in range(0, len(cells), 2):
            table.add_row(*[item for pair in cells[i:i + 2] for item in pair])
        return table

    def _value(self, key: str) -> str:
        if key == "baseline_se" and key in self.stats:  # its mean's distance from zero
            return f"{self.stats[key]:.1f} se from 0"
        if key == "buffer_fill" and key in self.stats:
            return f"{self.stats[key]:.0%}"
        if key == "grad_norm" and "critic_grad_norm" in self.stats:  # clipped each on its own
            return f"{_fmt(self.stats[key])} / {_fmt(self.stats['critic_grad_norm'])}"
        return _fmt(self.stats.get(key))
