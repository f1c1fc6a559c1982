"""The tasks the engine knows, without torch: a task is one of pgtui's own envs that
brings more than an env (the RLHF dialogue), described by a ``TaskSpec`` and found one
way everywhere, by its env's registered id (``task_of``).

A task registers itself (``register``) when its package is imported, which making its
env does: the env's entry point lives in the task's own folder (``pgtui/tasks/``). So
the engine imports no task: it makes the env, then asks ``task_of`` for its spec, and
the spec builds the run's hook (``task.TaskHook``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .envs.registry import EnvError, check_installed, registered_id
from .events import PolicyView, Scene
from .stats import Stat

if TYPE_CHECKING:
    import torch

    from ..config import Config
    from .task import TaskHook


@dataclass(frozen=True)
class Series:
    """A figure the playground's progress pane plots per update, on its own axis."""

    label: str  # "proxy"
    key: str  # the update's stat: "proxy_reward_exact"
    fmt: str  # "+.2f"
    optimum: str = ""  # the stat of the best any policy can do, where the task reports it


OPTIMUM_PREFIX = "optimum_"


def optimum_key(key: str) -> str:
    """The figure a task reports of the best policy it knows, for its figure ``key``: a
    line across a race's plot, the π* row of compare's table."""
    return OPTIMUM_PREFIX + key


@dataclass(frozen=True)
class Trace:
    """A figure a race plots over env steps (median across seeds; the optimum's, where
    the task reports its ``optimum_key``, as a line across)."""

    key: str
    title: str  # the plot's title: "true reward (exact)"
    label: str  # the axis's: "true reward"
    y_range: tuple[float, float]


@dataclass(frozen=True)
class TaskSpec:
    name: str  # what config fields of its own say in ``task=`` (``config.used_by``)
    env_id: str  # its registered Gymnasium id
    hook: Callable[[torch.device], TaskHook]  # builds the run's hook (imports torch)
    #: the playground's progress pane: these figures per update in place of the episode
    #: returns (empty: the returns), under this title
    progress: tuple[Series, ...] = ()
    progress_title: str = "episode returns"
    prepare: Callable[[list[Config]], None] | None = None  # fits shared models once, before a race
    env_kwargs: Callable[[Config], dict] | None = None  # the env's keyword arguments from the config
    #: the figures its hook reports exactly each update (as ``<key>_exact``), which a
    #: race keeps per variant
    figures: tuple[str, ...] = ()
    #: its env's drawing for the env pane, of a scene (and the policy's view of it), as
    #: text; None where it has none for that scene's observation
    draw: Callable[[Scene, PolicyView | None, int, int], str | None] | None = None
    #: the figures its hook reports (``stats.Stat``), which the diagnostics pane shows
    stats: tuple[Stat, ...] = ()
    #: the figures a race keeps of an update's stats, the latest winning (its end-of-run
    #: table, columns and traces read them)
    race_figures: Callable[[Mapping[str, float]], dict[str, float]] | None = None
    #: ``pgtui compare``'s table of those figures: (title, key, format) per column (a row
    #: for each distinct optimum shows its ``optimum_<key>`` figures), and its caption
    columns: tuple[tuple[str, str, str], ...] = ()
    caption: str = ""
    #: a race column's lines of a variant's figures (mean over its seeds)
    column_lines: Callable[[Mapping[str, float]], list[str]] | None = None
    #: its settings on a race column's settings line, formatted with the config's fields
    knobs: str = ""
    #: the figure a race plots over env steps in place of returns over episodes
    trace: Trace | None = None


TASKS: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> None:
    """Make ``spec`` the task of its env id."""
    TASKS[spec.env_id] = spec


def task_of(env_id: str) -> TaskSpec | None:
    """The task of an env id (also as ``module:EnvId``); None for a plain env. A task
    registers itself as its env's module is imported: ``load_task`` where that has not
    happened yet."""
    try:
        return TASKS.get(registered_id(env_id))
    except EnvError:
        return None


def load_task(env_id: str) -> TaskSpec | None:
    """``task_of``, after importing the env's module (and so its task's package) without
    making the env (imports what the env imports: torch for the dialogue)."""
    try:
        check_installed(env_id)
    except EnvError:
        return None
    return task_of(env_id)


def env_kwargs_of(config: Config) -> dict:
    """An env's keyword arguments: its task's settings, then the config's env_kwargs."""
    spec = load_task(config.env)
    own = spec.env_kwargs(config) if spec is not None and spec.env_kwargs is not None else {}
    return {**own, **config.env_kwargs}


def prepare(configs: list[Config]) -> None:
    """What the configs' tasks share, fitted once here (and cached) rather than in every
    process of a race at the same time."""
    for spec in {load_task(c.env) for c in configs} - {None}:
        if spec.prepare is not None:
            spec.prepare([c for c in configs if task_of(c.env) is spec])
