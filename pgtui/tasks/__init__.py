"""pgtui's tasks: envs that bring more than an env, each in a folder of its own with its
spec (``spec.py``) and its hook; found one way everywhere, by the env's registered id.

- ``rlhf/``: the RLHF capstone's dialogue (``pgtui/Dialogue-v0``).
"""

from __future__ import annotations

from ..config import Config
from ..rl.envs.registry import EnvError, registered_id
from . import rlhf
from .spec import TaskSpec

TASKS: dict[str, TaskSpec] = {spec.env_id: spec for spec in (rlhf.SPEC,)}


def task_of(env_id: str) -> TaskSpec | None:
    """The task of an env id (also as ``module:EnvId``); None for a plain env."""
    try:
        return TASKS.get(registered_id(env_id))
    except EnvError:
        return None


def env_kwargs_of(config: Config) -> dict:
    """An env's keyword arguments: its task's settings, then the config's env_kwargs."""
    spec = task_of(config.env)
    own = spec.env_kwargs(config) if spec is not None and spec.env_kwargs is not None else {}
    return {**own, **config.env_kwargs}


def prepare(configs: list[Config]) -> None:
    """What the configs' tasks share, fitted once here (and cached) rather than in every
    process of a race at the same time."""
    for spec in {task_of(c.env) for c in configs} - {None}:
        if spec.prepare is not None:
            spec.prepare([c for c in configs if task_of(c.env) is spec])
