"""The env being played, drawn in text at whatever size the pane has."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ...rl.algos import algo_spec
from ...rl.events import PolicyView, Scene, Snapshot
from ..render import render

# over the drawing of a run whose algorithm plays no episode
OFFLINE_NOTE = ("DPO samples nothing: it learns from labelled pairs of π_ref's responses, the "
                "ones the reward model was fitted to, so no dialogue is played while it trains; "
                "below, a prompt and the policy's first token. Press w to watch it answer.")


class EnvView(Widget):
    """Renders ``obs`` with the env's text renderer, sized to the widget."""

    DEFAULT_CSS = """
    EnvView { height: 1fr; min-height: 4; }
    """

    scene: reactive[Scene | None] = reactive(None)
    """The state to draw (env 0's, or the watched episode's) and what its env adds."""
    policy: reactive[PolicyView | None] = reactive(None)
    """The policy's view of it, for what the drawing shows of it (LunarLander's engines,
    the corridor's p(right)); None while a watched episode plays."""

    def __init__(self, env_id: str, algo: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.env_id = env_id
        self.note = OFFLINE_NOTE if algo and not algo_spec(algo).samples else None  # above the drawing

    def show(self, snapshot: Snapshot) -> None:
        """The state a run's snapshot carries, with the policy's view of it."""
        self.scene, self.policy = snapshot.scene, snapshot.policy

    def render(self) -> Text:
        note = Text(self.note + "\n\n", style="dim") if self.note else Text()
        if self.scene is None:
            return note + Text("waiting for the first state…", style="dim")
        width, height = self.content_size
        rows = len(note.wrap(self.app.console, width)) if self.note else 0
        return note + Text(render(self.env_id, self.scene, width, max(height - rows, 1), self.policy))
