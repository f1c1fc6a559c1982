"""Ask before a change that restarts the run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class ConfirmRestart(ModalScreen[bool]):
    BINDINGS = [("escape", "dismiss(False)", "cancel"), ("y", "dismiss(True)", "yes"),
                ("n", "dismiss(False)", "no")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-body"):
            yield Label(self.question)
            yield Label("The current run stops and a new one starts.", classes="dim")
            with Horizontal():
                yield Button("Restart (y)", variant="warning", id="yes")
                yield Button("Keep running (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
