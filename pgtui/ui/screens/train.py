"""The main screen: params, policy, env, returns and diagnostics around one run."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from ...config import Config
from ..widgets.diagnostics_pane import DiagnosticsPane
from ..widgets.env_view import EnvView
from ..widgets.params_pane import ParamsPane
from ..widgets.policy_pane import PolicyPane
from ..widgets.returns_pane import ReturnsPane
from ..widgets.status_bar import StatusBar
from ..widgets.steady_footer import SteadyFooter

MIN_SIZE = (60, 20)  # below this the panes cannot be drawn legibly
NARROW_WIDTH = 80  # below this the env drawing gives its room to the policy pane


class TrainScreen(Screen):
    """Rebuilt for every run, so the panes match its env and algorithm."""

    BINDINGS = [Binding("escape", "leave_controls", "keys", show=False)]
    AUTO_FOCUS = ""  # no auto focus: keys go to the bindings until the user tabs in
    # Screen repaints itself whole on every focus change; the focused and blurred
    # controls repaint themselves, and a full repaint cost ~30 ms of key latency.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(self, config: Config, preset: str, action_names: tuple[str, ...],
                 discrete: bool, device: str, threshold: float | None) -> None:
        super().__init__()
        self.config, self.preset, self.threshold = config, preset, threshold
        self.action_names, self.discrete, self.device = action_names, discrete, device

    def compose(self) -> ComposeResult:
        # kept as attributes: the app updates them many times a second, queries are slow
        self.status_bar = StatusBar(id="status")
        self.status_bar.preset, self.status_bar.device = self.preset, self.device
        self.params = ParamsPane(self.config, id="params-pane")
        self.policy = PolicyPane(self.action_names, self.discrete, id="policy-pane")
        self.env_view = EnvView(self.config.env, id="env-pane")
        self.returns = ReturnsPane(id="returns-pane")
        self.diagnostics = DiagnosticsPane(id="diagnostics-pane")
        # Everything that changes many times a second sits in the right column: Textual
        # repaints the bounding box of what changed, so the controls stay out of it.
        with Vertical(id="left"):
            yield self.params
        with Vertical(id="right"):
            yield self.status_bar
            with Horizontal(id="stage"):
                yield self.env_view
                yield self.policy
            yield self.returns
            yield self.diagnostics
        yield Static(id="too-small")
        yield SteadyFooter()

    def action_leave_controls(self) -> None:
        """escape: out of the settings, so that space, q and the other keys work again."""
        self.set_focus(None)

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        too_small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(too_small, "-too-small")
        self.set_class(width < NARROW_WIDTH, "-narrow")
        if too_small:
            self.query_one("#too-small", Static).update(
                f"The terminal is {width}x{height}; pgtui needs at least "
                f"{MIN_SIZE[0]}x{MIN_SIZE[1]}.\nEnlarge it to see the run (it keeps training). "
                "q quits.")

    def on_mount(self) -> None:
        titles = {"params": "hyperparameters", "policy": "policy π(a|s)",
                  "env": self.config.env, "returns": "episode returns",
                  "diagnostics": "diagnostics"}
        for pane, title in titles.items():
            self.query_one(f"#{pane}-pane").border_title = title
        self.returns.threshold = self.threshold
