"""The policy on the state being drawn: pi(a|s) bars, or Gaussian mean and std, or
DQN's Q(s, a) with the epsilon-greedy policy's probabilities as the bars, or SAC's mean
action and spread with its twin critics at the mean action."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Label, ProgressBar

from ...rl.events import DiscretePolicy, EpsilonGreedy, GaussianPolicy, Snapshot, StepCompared
from .text_line import TextLine


class PolicyPane(Vertical):
    """One bar per discrete action, labelled with the env's action names, plus V(s)."""

    DEFAULT_CSS = """
    PolicyPane { height: 1fr; width: 24; }
    PolicyPane Horizontal { height: 1; }
    PolicyPane .policy--name { width: 6; }
    PolicyPane ProgressBar { width: 1fr; }
    PolicyPane Bar { width: 1fr; }
    PolicyPane .policy--value { width: 6; text-align: right; }
    PolicyPane #policy-extra { height: 1fr; }
    """

    probs: reactive[tuple[float, ...]] = reactive(tuple)
    """pi(a|s) per action (discrete), or the Gaussian's means then stds (continuous)."""
    value: reactive[float | None] = reactive(None)
    """V(s) from the critic."""
    compare: reactive[str] = reactive("")
    """After a single step: pi(a|s) (DQN: Q(s, .)) before -> after, on one state."""
    q_values: reactive[tuple[float, ...] | None] = reactive(None)
    """DQN: Q(s, a) per action; ``probs`` are then the epsilon-greedy policy's. SAC: Q1, Q2
    at the mean action."""

    def __init__(self, action_names: tuple[str, ...], discrete: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.action_names, self.discrete = action_names, discrete

    def compose(self) -> ComposeResult:
        if self.discrete:
            for i, name in enumerate(self.action_names):
                with Horizontal():
                    yield Label(name[:6], classes="policy--name")
                    yield ProgressBar(total=1.0, show_eta=False, show_percentage=False,
                                      id=f"prob-{i}")
                    yield TextLine("", classes="policy--value", id=f"prob-label-{i}")
        yield TextLine(id="policy-extra")

    def show(self, snapshot: Snapshot) -> None:
        """The policy's view of a snapshot's state: pi(a|s) and V(s); a Gaussian's mean
        and std; DQN's Q(s, .) with its epsilon-greedy probabilities as the bars; SAC's
        twin critics at the mean action."""
        view = snapshot.policy
        if isinstance(view, DiscretePolicy):
            self.probs, self.value, self.q_values = view.probs, view.value, None
        elif isinstance(view, GaussianPolicy):
            self.probs, self.value, self.q_values = view.mean + view.std, view.value, None
        elif isinstance(view, EpsilonGreedy):
            self.probs, self.value, self.q_values = view.probs, max(view.q), view.q
        else:
            self.probs, self.value, self.q_values = view.mean + view.std, min(view.q), view.q

    def step_text(self, c: StepCompared, values: bool) -> str:
        """A single step's before -> after on one state: pi(a|s), a Gaussian's figures, or
        with ``values`` Q(s, a)."""
        names = self.action_names
        if values:
            lines = [f"Q {n} {b:.2f}→{a:.2f}" for n, b, a in zip(names, c.before, c.after, strict=False)]
        elif self.discrete:
            lines = [f"{n} {b:.3f}→{a:.3f}" for n, b, a in zip(names, c.before, c.after, strict=False)]
        else:
            lines = [f"{b:+.2f}→{a:+.2f}" for b, a in zip(c.before, c.after, strict=False)]
        return f"after step {c.update}:\n" + "\n".join(lines)

    def on_mount(self) -> None:
        self.set_class(not self.discrete, "-continuous")
        self._bars = [self.query_one(f"#prob-{i}", ProgressBar)
                      for i in range(len(self.action_names) if self.discrete else 0)]
        self._labels = [self.query_one(f"#prob-label-{i}", TextLine) for i in range(len(self._bars))]
        self._extra = self.query_one("#policy-extra", TextLine)

    def watch_probs(self, probs: tuple[float, ...]) -> None:
        if self.discrete and self.is_mounted:
            for bar, label, p in zip(self._bars, self._labels, probs):
                bar.progress = p
                label.text = f"{p:.2f}"
        self._refresh_extra()

    def watch_value(self) -> None:
        self._refresh_extra()

    def watch_compare(self) -> None:
        self._refresh_extra()

    def watch_q_values(self) -> None:
        self._refresh_extra()

    def _refresh_extra(self) -> None:
        if not self.is_mounted:
            return
        text = Text()
        if not self.discrete and self.probs:
            d = len(self.probs) // 2
            for name, mean, std in zip(self.action_names, self.probs[:d], self.probs[d:]):
                text.append(f"{name[:6]} μ {mean:+.2f} σ {std:.2f}\n")  # fits the pane's 22
        if self.q_values is not None and not self.discrete:  # SAC's twin critics
            text.append("at the mean action:\n" + "  ".join(
                f"Q{j + 1} {q:.2f}" for j, q in enumerate(self.q_values)))
        elif self.q_values is not None:
            greedy = max(range(len(self.q_values)), key=self.q_values.__getitem__)
            for i, (name, q) in enumerate(zip(self.action_names, self.q_values, strict=False)):
                text.append(f"{'▸' if i == greedy else ' '}Q {name[:6]} {q:.2f}\n",
                            "bold" if i == greedy else "")
            text.append("bars: ε-greedy π")
        else:
            text.append("V(s) " + ("—" if self.value is None else f"{self.value:.2f}"))
        if self.compare:
            text.append("\n" + self.compare, "bold yellow")
        elif not self.discrete:
            text.rstrip()
        self._extra.text = text
