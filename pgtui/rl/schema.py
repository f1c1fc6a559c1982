"""Which figures a run reports, read from the declarations (``stats.py``): its
algorithm's, the engine's and its task's."""

from __future__ import annotations

from .algos import ALGORITHMS, algo_spec
from .stats import ENGINE, Stat
from .tasks import TASKS, task_of


def stats_of(algo: str, env_id: str) -> tuple[Stat, ...]:
    """The figures a run of ``algo`` on ``env_id`` reports, in the diagnostics pane's
    order: by group (``stats.OWN`` first), then as declared."""
    task = task_of(env_id)
    declared = [*algo_spec(algo).stats, *ENGINE, *(task.stats if task is not None else ())]
    unique = {s.key: s for s in reversed(declared)}  # the first declaration wins
    return tuple(sorted((unique[k] for k in dict.fromkeys(s.key for s in declared)),
                        key=lambda s: s.group))


def every_stat() -> dict[str, Stat]:
    """Every figure some built-in algorithm, the engine or a registered task reports."""
    declared = [s for spec in ALGORITHMS.values() for s in spec.stats]
    declared += [*ENGINE, *(s for task in TASKS.values() for s in task.stats)]
    return {s.key: s for s in reversed(declared)}


def figures_table() -> str:
    """Every figure as a Markdown table (``docs/metrics.md`` holds it): its key, who
    reports it, its label on the diagnostics pane and what it means."""
    owners: dict[str, list[str]] = {}
    for spec in ALGORITHMS.values():
        for s in spec.stats:
            owners.setdefault(s.key, []).append(spec.title)
    for s in ENGINE:
        owners.setdefault(s.key, []).append("every run")
    for task in TASKS.values():
        for s in task.stats:
            owners.setdefault(s.key, []).append(f"the {task.name} task")
    stats = every_stat()
    rows = ["| figure | reported by | diagnostics pane | meaning |", "|---|---|---|---|"]
    for key, who in owners.items():
        s = stats[key]
        cells = (f"`{key}`", ", ".join(who), s.label if s.shown else "—", s.meaning)
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
