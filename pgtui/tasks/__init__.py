"""pgtui's tasks: envs that bring more than an env, each in a folder of its own with its
spec (``pgtui.rl.tasks.TaskSpec``), its hook and its env, and registered with the
engine here, as this package is imported (making a task's env imports it).

- ``rlhf/``: the RLHF capstone's dialogue (``pgtui/Dialogue-v0``).
"""

from __future__ import annotations

from ..rl.tasks import TaskSpec, env_kwargs_of, prepare, register, task_of
from . import rlhf

register(rlhf.SPEC)

__all__ = ["TaskSpec", "env_kwargs_of", "prepare", "task_of"]
