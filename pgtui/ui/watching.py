"""Watch mode: a run's saved policy played in a process of its own (loading it needs
torch, which the screen's process never imports), its frames posted to the screen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

from textual.screen import Screen

from ..processes import RemotePlayer, TooManyProcesses
from ..rl.events import RunError
from .messages import WatchFrame


class Watching:
    """One screen's watch mode: ``start`` plays a checkpoint until ``stop``; ``on_end``
    runs on the screen's loop when the playing ends, however it ends."""

    def __init__(self, screen: Screen, on_end: Callable[[], None]) -> None:
        self.screen, self.on_end = screen, on_end
        self._stop: threading.Event | None = None

    @property
    def active(self) -> bool:
        return self._stop is not None

    def start(self, path: str) -> None:
        self._stop = threading.Event()
        self.screen.app.run_worker(partial(self._play, path, self._stop), thread=True,
                                   group="watch", exit_on_error=False)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def _play(self, path: str, stop: threading.Event) -> None:
        app = self.screen.app
        player = RemotePlayer(path)
        try:
            player.start()
        except TooManyProcesses as err:
            app.call_from_thread(app.notify, str(err), title="cannot watch", severity="error")
            app.call_from_thread(self._ended, stop)
            return
        try:
            for frame in player.frames():
                if isinstance(frame, RunError):
                    app.call_from_thread(app.notify, frame.message, title="cannot watch", severity="error")
                    break
                if stop.is_set():
                    break
                self.screen.post_message(WatchFrame(*frame))
        finally:
            player.stop()
            player.join()
            app.call_from_thread(self._ended, stop)

    def _ended(self, stop: threading.Event) -> None:
        if self._stop is stop:
            self._stop = None
            self.on_end()
