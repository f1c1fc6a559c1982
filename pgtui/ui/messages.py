"""Messages from the worker threads to the screens."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ..rl.events import Event


@dataclass
class TrainerEvents(Message):
    """A batch of the run's events, coalesced to what a screen can show."""

    events: tuple[Event, ...]


@dataclass
class WatchFrame(Message):
    """One frame of the watch mode: the state, the action distribution and the return."""

    obs: tuple[float, ...]
    probs: tuple[float, ...] | None
    episode_return: float
    episodes: int
