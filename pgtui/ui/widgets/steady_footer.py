"""Textual's Footer, recomposed only when the keys it shows change.

The stock Footer rebuilds itself on every focus change, because focus can change the
active bindings. Here focus moves between ~20 settings controls whose own bindings are
hidden, and each rebuild mounts a dozen widgets and relays out the whole screen
(~40 ms on the 2-core reference machine), which dominated key-press latency.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class SteadyFooter(Footer):
    """A Footer that skips rebuilds which would draw the same keys."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        shown = tuple(
            (binding.key, binding.description, binding.action, enabled, tooltip)
            for (_, binding, enabled, tooltip) in screen.active_bindings.values()
            if binding.show
        )
        if shown == self._shown and self._bindings_ready:
            return
        self._shown = shown
        super().bindings_changed(screen)
