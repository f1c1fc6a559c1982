"""A task as the rest of pgtui sees it, without torch: what the screen shows for it and
how a run builds its hook (``pgtui/rl/task.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from ..config import Config
    from ..rl.task import TaskHook


@dataclass(frozen=True)
class TaskSpec:
    name: str  # what config fields of its own say in ``task=`` (``config.used_by``)
    env_id: str  # its registered Gymnasium id
    progress: str  # the progress pane: "returns" (episode returns), "proxy_and_true"
    progress_title: str
    hook: Callable[[torch.device], TaskHook]  # builds the run's hook (imports torch)
    prepare: Callable[[list[Config]], None] | None = None  # fits shared models once, before a race
    env_kwargs: Callable[[Config], dict] | None = None  # the env's keyword arguments from the config
