"""Pick a shipped preset, or type the path of a preset file."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from ... import lockdown
from ...config import ConfigError
from ...preset_files import load_preset, preset_names


class PresetPicker(ModalScreen[str | None]):
    """Dismisses with a preset name or path, or None."""

    BINDINGS = [("escape", "dismiss(None)", "cancel")]

    def compose(self) -> ComposeResult:
        options = []
        for name in preset_names():
            try:
                description = load_preset(name).description
            except ConfigError:
                continue
            options.append(Option(f"{name}  [dim]{description}[/]", id=name))
        with Vertical(id="picker-body"):
            yield Label("Presets (enter to load, escape to cancel)")
            yield OptionList(*options, id="preset-list")
            hint = ("…a served session opens only these presets" if lockdown.active()
                    else "…or a path to a .toml preset, then enter")
            yield Input(placeholder=hint, id="preset-path")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Input.Submitted, "#preset-path")
    def _path(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())
