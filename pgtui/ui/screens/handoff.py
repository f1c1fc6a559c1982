"""Handing the running policy to something else: watch mode plays it, a fork races two
branches of it. Both start from the run's whole state, saved to a temporary file while
the run is paused; the ``CheckpointSaved`` that names the file starts what it was for."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING

from ...rl.checkpoint import CheckpointError
from ...rl.events import Pause, SaveCheckpoint
from ..forks import FORK_TITLE, Fork, fork_choices, take_checkpoint
from .choice import ChoicePicker

if TYPE_CHECKING:
    from .train import TrainScreen


class HandOff:
    """The train screen's saves for a purpose, one at a time."""

    def __init__(self, screen: TrainScreen, watch: Callable[[str], None]) -> None:
        self.screen, self.watch = screen, watch
        self.pending: tuple[str, str, Fork | None] | None = None  # (path, "watch"|"fork", fork)

    def save_for(self, purpose: str, fork: Fork | None = None) -> None:
        """Pause and save the run's whole state to a temporary file for ``purpose``."""
        self.screen.send(Pause())
        handle, path = tempfile.mkstemp(prefix=f"pgtui-{purpose}-", suffix=".pt")
        os.close(handle)
        self.pending = (path, purpose, fork)
        self.screen.send(SaveCheckpoint(path))

    def saved(self, path: str) -> bool:
        """Start what the save of ``path`` was for; False: it was none of these (the
        user's own save)."""
        if self.pending is None or path != self.pending[0]:
            return False
        _, purpose, fork = self.pending
        self.pending = None
        if purpose == "watch":
            self.watch(path)
        else:
            self._start_fork(path, fork)
        return True

    def fork(self) -> None:
        """Offer the settings a fork can change; the chosen one saves for it."""
        forks = {f.id: f for f in fork_choices(self.screen.config)}

        def picked(key: str | None) -> None:
            if key:
                self.save_for("fork", forks[key])

        self.screen.app.push_screen(ChoicePicker(FORK_TITLE, [(f.id, f.label) for f in forks.values()]),
                                    picked)

    def _start_fork(self, path: str, fork: Fork) -> None:
        try:
            payload = take_checkpoint(path)
        except CheckpointError as err:
            self.screen.notify(str(err), title="cannot fork", severity="error")
            return
        step = payload["meta"]["global_step"]
        self.screen.app.open_race(fork.race_config(self.screen.config), f"fork at step {step:,}",
                                     resume=payload)
