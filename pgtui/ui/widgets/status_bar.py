"""One line at the top: run state, progress and speed."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

STATUS_STYLES = {"running": "bold green", "paused": "bold yellow", "solved": "bold cyan",
                 "error": "bold red", "starting": "bold", "watching": "bold magenta",
                 "finished": "bold blue", "stopped": "bold"}


class StatusBar(Static):
    """``pgtui · preset · status · step · episodes · steps/s · device``."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; padding: 0 1; }
    """

    preset: reactive[str] = reactive("")
    """Name of the preset the run came from."""
    status: reactive[str] = reactive("starting")
    """running | paused | watching | solved | error | finished | stopped | starting."""
    global_step: reactive[int] = reactive(0)
    """Env steps so far."""
    episodes: reactive[int] = reactive(0)
    """Episodes finished so far."""
    sps: reactive[float] = reactive(0.0)
    """Env steps per second of training time."""
    device: reactive[str] = reactive("cpu")
    """Torch device of the run."""

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.status, STATUS_STYLES.get(self.status, "bold"))
        text.append(f" · step {self.global_step:,} · ep {self.episodes:,}"
                    f" · {self.sps:,.0f} sps · {self.device} · ")
        text.append(self.preset, "dim")
        return text
