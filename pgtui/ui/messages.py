"""Messages from the worker threads to the screens."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ..rl.events import Event


@dataclass
class TrainerEvents(Message):
    """A batch of events of the screen's run number ``run``, coalesced to what a screen
    can show."""

    run: int
    events: tuple[Event, ...]


@dataclass
class WatchFrame(Message):
    """One frame of the watch mode: the state, the action distribution and the return."""

    obs: tuple[float, ...]
    probs: tuple[float, ...] | None
    episode_return: float
    episodes: int
