"""The env being played, drawn in text at whatever size the pane has."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ...rl.algos import algo_spec
from ...rl.events import Snapshot
from ..render import lander_engines, render

# over the drawing of a run whose algorithm plays no episode
OFFLINE_NOTE = ("DPO samples nothing: it learns from labelled pairs of π_ref's responses, the "
                "ones the reward model was fitted to, so no dialogue is played while it trains; "
                "below, a prompt and the policy's first token. Press w to watch it answer.")


class EnvView(Widget):
    """Renders ``obs`` with the env's text renderer, sized to the widget."""

    DEFAULT_CSS = """
    EnvView { height: 1fr; min-height: 4; }
    """

    obs: reactive[tuple[float, ...] | None] = reactive(None)
    """The observation of the state to draw (env 0, or the watched episode)."""
    policy: reactive[tuple[tuple[float, ...], ...] | None] = reactive(None)
    """A tabular env: pi(.|s) of every state, drawn as arrows."""
    engines: reactive[tuple[float, float] | None] = reactive(None)
    """LunarLander: the engines the policy fires most likely (``render.lander_engines``)."""
    last: reactive[tuple[float, ...] | None] = reactive(None)
    """The RLHF dialogue: the last finished response's final observation."""
    state: reactive[int | None] = reactive(None)
    """The corridor: env 0's true state (its observation does not tell it)."""
    probs: reactive[tuple[float, ...] | None] = reactive(None)
    """The corridor: the acting policy's pi(.|s), the same in every state."""

    def __init__(self, env_id: str, algo: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.env_id = env_id
        self.note = OFFLINE_NOTE if algo and not algo_spec(algo).samples else None  # above the drawing

    def show(self, snapshot: Snapshot) -> None:
        """The state a run's snapshot carries, with the policy's view of it."""
        self.obs, self.last, self.policy = snapshot.obs, snapshot.last_final, snapshot.policy_table
        self.state, self.probs = snapshot.state, snapshot.probs
        self.engines = lander_engines(self.env_id, snapshot.probs, snapshot.mean)

    def render(self) -> Text:
        note = Text(self.note + "\n\n", style="dim") if self.note else Text()
        if self.obs is None:
            return note + Text("waiting for the first state…", style="dim")
        width, height = self.content_size
        rows = len(note.wrap(self.app.console, width)) if self.note else 0
        return note + Text(render(self.env_id, self.obs, width, max(height - rows, 1), self.last,
                                  self.policy, self.engines, self.state, self.probs))
