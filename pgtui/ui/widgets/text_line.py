"""A line of text that repaints without asking for a new layout."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class TextLine(Widget):
    """Like a Label whose size never depends on its text: updates cost a repaint only.

    Static.update() relayouts the screen; for figures that change many times a second
    that is the difference between a smooth screen and a stuttering one.
    """

    DEFAULT_CSS = """
    TextLine { height: 1; width: 1fr; }
    """

    text: reactive[str | Text] = reactive("")
    """What to show; a str or a rich Text."""

    def __init__(self, text: str | Text = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = text

    def render(self) -> Text:
        return self.text if isinstance(self.text, Text) else Text(self.text)
