"""pgtui from Python: the engine and the checks of `pgtui train` and `pgtui compare`, with
their results as records, tables and figures for a notebook or a script.

    import pgtui
    run = pgtui.train("cartpole-reinforce-baseline", max_steps=50_000, baseline="none")
    run.plot()
    race = pgtui.compare("variance-baseline", seeds=2, max_steps=30_000)
    race.table(); race.plot()

Settings are the config's keys, checked as a preset's are: a bad one raises
``pgtui.ConfigError`` with the command line's one-line message.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .config import FIELDS, Config
from .preset_files import load_preset, preset_names


def presets() -> list[str]:
    """The shipped presets' names."""
    return preset_names()


def keys() -> dict[str, str]:
    """Every config key with its meaning."""
    return {key: field.metadata.get("help", "") for key, field in FIELDS.items()}


def _config(preset: str | Path, settings: dict[str, Any]) -> Config:
    """``preset`` with ``settings`` applied, checked as a preset is."""
    config = load_preset(str(preset))
    return config.replace(**settings) if settings else config


def _watched() -> bool:
    """Whether a person watches: a terminal, or a notebook's kernel."""
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def _frame(records: list[dict[str, Any]]) -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError("a DataFrame needs pandas: pip install pandas") from None
    # an interval's fields become columns of their own: steps_iqm_value, steps_iqm_low, ...
    return pandas.json_normalize(records, sep="_")


class Run:
    """A finished training: its config, its records (as ``metrics.jsonl`` has them) and
    its last checkpoint."""

    def __init__(self, folder: Path, config: Config, summary: dict[str, Any], keep: Any = None) -> None:
        from .metrics import read_metrics

        self.folder, self.config, self.summary = folder, config, summary
        self._keep = keep  # a temporary folder lives as long as its run
        self._policy: Policy | None = None
        self.records = read_metrics(folder / "metrics.jsonl")
        self.episodes = [r for r in self.records if r["type"] == "episode"]
        self.updates = [r for r in self.records if r["type"] == "update"]

    def __repr__(self) -> str:
        s = self.summary
        return (f"Run({s['env']} {s['algo']} seed {s['seed']}: {s['reason']} after {s['updates']} updates, "
                f"{s['global_step']} steps, last-100 mean {s['last100_mean']})")

    def returns(self) -> list[float]:
        """Each episode's return, in order."""
        return [r["episodic_return"] for r in self.episodes]

    @property
    def solved(self) -> bool:
        return bool(self.summary["solved"])

    @property
    def solved_step(self) -> int | None:
        return self.summary["solved_step"]

    def frame(self, kind: str = "episode") -> Any:
        """The records of one ``kind`` (episode, update, ...) as a pandas DataFrame."""
        return _frame([r for r in self.records if r["type"] == kind])

    def plot(self, ax: Any = None) -> Any:
        """The episode returns and their moving average (into ``ax``, else a new figure);
        returns the figure."""
        from .figures import run_figure
        from .rl.envs.registry import env_info, solved_threshold

        threshold = solved_threshold(self.config, env_info(self.config.env, self.config.env_kwargs))
        return run_figure(self.returns(), f"{self.config.env}, {self.config.algo}: return per episode",
                          threshold, ax)

    def save(self, path: str | Path) -> Path:
        """The run's checkpoint copied to ``path`` (``pgtui.load`` reads it back)."""
        path = Path(path)
        shutil.copyfile(self.folder / "checkpoint.pt", path)
        return path

    def policy(self, obs: Any) -> tuple[float, ...]:
        """The trained policy at ``obs``: pi(.|obs), or a Gaussian's (mean..., std...)."""
        if self._policy is None:  # rebuilt from the checkpoint once
            self._policy = load(self.folder / "checkpoint.pt")
        return self._policy.policy(obs)


class Policy:
    """A saved policy: its config, and its output at an observation."""

    def __init__(self, path: Path) -> None:
        from .rl.player import Player

        self._player = Player.from_file(path)
        self.config = self._player.config

    def policy(self, obs: Any) -> tuple[float, ...]:
        return self._player.action_probs(obs)

    def act(self, obs: Any) -> Any:
        return self._player.act(obs)


def load(path: str | Path) -> Policy:
    """The policy a run saved (``Run.save``, or a ``checkpoint.pt`` of `pgtui train --out`)."""
    return Policy(Path(path))


def train(preset: str | Path, *, seed: int = 0, max_steps: int | None = None, until_solved: bool = False,
          device: str = "auto", out: str | Path | None = None, **settings: Any) -> Run:
    """Train ``preset`` with ``settings`` as `pgtui train` does; ``out`` keeps its files
    (else a temporary folder, as long as the run lives). Ctrl+C, or a notebook's stop,
    ends it cleanly and returns what was trained."""
    from .commands.train import TrainOptions, run_train

    changes = {**settings, "seed": seed, "device": device}
    if max_steps is not None:
        changes["total_steps"] = max_steps
    config = _config(preset, changes)
    keep = None if out is not None else tempfile.TemporaryDirectory(prefix="pgtui-run-")
    folder = Path(out) if out is not None else Path(keep.name)
    run_train(config, TrainOptions(preset=str(preset), until_solved=until_solved, out=folder,
                                   progress=_watched(), quiet=True))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return Run(folder, config, summary, keep)


class Race:
    """A finished race: each variant's summary (the compare table's row) and its seeds'
    episode returns."""

    def __init__(self, config: Config, summaries: list, curves: dict[str, list[list[float]]],
                 ratios: list[str]) -> None:
        self.config, self._summaries, self.curves, self._ratios = config, summaries, curves, ratios

    def __repr__(self) -> str:
        return f"Race({', '.join(self.curves)}: {sum(len(c) for c in self.curves.values())} runs)"

    def table(self) -> list[dict[str, Any]]:
        """One record per variant, as `pgtui compare --json` prints them."""
        return [s.as_json() for s in self._summaries]

    def frame(self) -> Any:
        """The table as a pandas DataFrame."""
        return _frame(self.table())

    def optimum(self) -> dict[str, dict[str, float]]:
        """A task's race (the RLHF dialogue): the optimum π*'s exact figures by its label,
        as the compare table's last rows show them; empty for another env."""
        from . import tasks
        from .commands.compare import optimum_figures

        task = tasks.task_of(self.config.env)
        return optimum_figures(self._summaries, task) if task is not None and task.columns else {}

    def variance_ratios(self) -> list[str]:
        """Each variant's gradient variance against the first's, a sentence each."""
        return list(self._ratios)

    def plot(self, ax: Any = None) -> Any:
        """Each variant's median return with its seeds' band; returns the figure."""
        from .figures import race_figure

        return race_figure(self.curves, f"{self.config.env}: return per episode", ax)


def compare(preset: str | Path, *, seeds: int | None = None, max_steps: int | None = None,
            **settings: Any) -> Race:
    """Race every variant x seed of ``preset`` as `pgtui compare` does; the table and
    the curves come back instead of being printed."""
    from .commands.compare import CompareOptions, race_summaries, run_races
    from .rl.race.figures import variance_ratios
    from .rl.race.spec import variant_configs

    changes = dict(settings)
    if max_steps is not None:
        changes["total_steps"] = max_steps
    config = _config(preset, changes)
    if not config.variants:
        from .config import ConfigError

        raise ConfigError(f"{preset}: not a race preset (it has no [[variants]])")
    if max_steps is not None:  # a variant's own budget gives way, as on the command line
        config = config.replace(variants=[{k: v for k, v in variant.items() if k != "total_steps"}
                                          for variant in config.variants])
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    variants = variant_configs(config, seeds)
    total = sum(c.total_steps for _, configs in variants for c in configs)
    progress = Progress(TextColumn("race"), BarColumn(), TimeElapsedColumn(), transient=True,
                        disable=not _watched())
    task = progress.add_task("race", total=total)

    def on_report(reports: dict) -> None:
        done = sum(s.global_step for r in reports.values() for s in r.seeds)
        progress.update(task, completed=min(done, total))

    with progress:
        results, _ = run_races(config, CompareOptions(seeds=seeds), on_report)
    summaries = race_summaries(results, variants)
    return Race(config, summaries, {r.name: [list(c) for c in r.curves] for r in results},
                variance_ratios(summaries))


class Sweep:
    """A finished sweep: one row per grid point (the `pgtui sweep` table's)."""

    def __init__(self, config: Config, points: list[dict[str, Any]]) -> None:
        self.config, self.points = config, points

    def __repr__(self) -> str:
        return f"Sweep({len(self.points)} grid points over {', '.join(self.config.sweep)})"

    def table(self) -> list[dict[str, Any]]:
        return list(self.points)

    def frame(self) -> Any:
        return _frame(self.table())

    def plot(self, ax: Any = None) -> Any:
        """Each point's final return against the swept key; returns the figure."""
        from .sweeps.report import sweep_figure
        from .sweeps.spec import build_sweep

        return sweep_figure(build_sweep(self.config), self.points, ax)


def sweep(preset: str | Path, *, grid: dict[str, list] | None = None, seeds: int | None = None,
          max_steps: int | None = None, engine: str = "local", **settings: Any) -> Sweep:
    """Train every grid point x seed of ``preset`` (or of ``grid``: each key's values) as
    `pgtui sweep` does, on the local engine or Ray (``engine="ray"``)."""
    from .sweeps.run import SweepOptions, run_sweep

    changes = dict(settings)
    if max_steps is not None:
        changes["total_steps"] = max_steps
    if grid is not None:
        changes["sweep"] = {**grid}
    if seeds is not None:
        changes["seeds"] = seeds
    config = _config(preset, changes)
    if not config.sweep:
        from .config import ConfigError

        raise ConfigError(f"{preset}: not a sweep preset (no [sweep] table); pass grid={{key: [values]}}")
    with tempfile.TemporaryDirectory(prefix="pgtui-sweep-") as folder:
        run_sweep(config, SweepOptions(engine=engine, out=Path(folder), quiet=True))
        points = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))["points"]
    return Sweep(config, points)


__all__ = ["Policy", "Race", "Run", "Sweep", "compare", "keys", "load", "presets", "sweep", "train"]
