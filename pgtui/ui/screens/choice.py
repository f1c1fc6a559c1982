"""Pick one of a few labelled choices: race presets, fork branches."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class ChoicePicker(ModalScreen[str | None]):
    """Dismisses with the chosen option's id, or None on escape."""

    BINDINGS = [("escape", "dismiss(None)", "cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text, self.choices = title, choices

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-body"):
            yield Static(self.title_text, id="picker-title")  # wraps where it is too long
            yield Static("enter chooses, escape cancels", id="picker-hint")
            yield OptionList(*(Option(label, id=key) for key, label in self.choices),
                             id="choice-list")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    async def action_dismiss(self, result: str | None = None) -> None:
        """escape (None), or an action that names a result: only a choice on offer
        leaves, since an action can be called with any argument."""
        if result is None or result in dict(self.choices):
            await super().action_dismiss(result)
