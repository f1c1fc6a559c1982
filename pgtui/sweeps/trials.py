"""A sweep's folder: each trial's files, which trials are done, and what they found.

OUT/config.toml           the sweep (base config, [sweep] grid, seeds): all --resume needs
OUT/<point>/seed-<n>/     a trial: metrics.jsonl, config.toml, and result.json once done
OUT/<point>/running.json  the process training that point now (pid, attempt)
OUT/summary.json, .csv    one row per grid point

A trial is done when its result.json exists; it is written atomically after the run,
so a sweep killed at any moment resumes from the trials that finished.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

from ..rl.race.spec import SeedProgress, seed_dir
from .spec import Point, Sweep


def progress_to_json(seed: SeedProgress) -> dict[str, Any]:
    data = dataclasses.asdict(seed)
    data["new_returns"] = []  # the curve lives in metrics.jsonl
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in data.items()}


def progress_from_json(data: dict[str, Any]) -> SeedProgress:
    data = dict(data)
    data["new_returns"] = tuple(data.get("new_returns") or ())
    data["sums"] = {k: tuple(v) for k, v in (data.get("sums") or {}).items()}
    if data.get("last100_mean") is None:
        data["last100_mean"] = math.nan
    return SeedProgress(**data)


def is_done(seed: SeedProgress, total_steps: int) -> bool:
    """A trial that ran its steps, or ended for good (diverged, failed, stopped early);
    one that a ctrl+c cut short is not, and a resumed sweep runs it again."""
    return seed.status in ("diverged", "error", "stopped") or seed.global_step >= total_steps


class TrialStore:
    """The sweep's folder; ``out=None`` keeps nothing (the playground without --out)."""

    def __init__(self, out: Path | None) -> None:
        self.out = out

    def trial_dir(self, point: Point, seed: int) -> Path | None:
        return None if self.out is None else seed_dir(self.out, point.name, seed)

    def result(self, point: Point, seed: int) -> SeedProgress | None:
        folder = self.trial_dir(point, seed)
        if folder is None or not (folder / "result.json").is_file():
            return None
        try:
            return progress_from_json(json.loads((folder / "result.json").read_text("utf-8")))
        except (ValueError, TypeError):  # a result from another version: run it again
            return None

    def missing(self, sweep: Sweep) -> list[tuple[Point, list[int]]]:
        """The grid points with trials still to run, and those trials' seeds."""
        out = []
        for point in sweep.points:
            seeds = [s for s in sweep.seeds if self.result(point, s) is None]
            if seeds:
                out.append((point, seeds))
        return out

    def save(self, point: Point, seed: SeedProgress) -> None:
        folder = self.trial_dir(point, seed.seed)
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / "result.json", json.dumps(progress_to_json(seed), indent=1) + "\n")

    def clear(self, point: Point, seeds: list[int]) -> None:
        """Remove what an unfinished attempt at these trials left: they start over."""
        for seed in seeds:
            folder = self.trial_dir(point, seed)
            if folder is not None and folder.exists():
                shutil.rmtree(folder)

    def mark_running(self, point: Point, pid: int | None, attempt: int) -> None:
        if self.out is None:
            return
        folder = self.out / point.folder
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / "running.json", json.dumps({"pid": pid, "attempt": attempt}) + "\n")

    def clear_running(self, point: Point) -> None:
        if self.out is not None:
            (self.out / point.folder / "running.json").unlink(missing_ok=True)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
