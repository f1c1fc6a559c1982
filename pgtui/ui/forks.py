"""Fork: two branches of the running policy that differ in one live setting."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config, used_by
from ..rl import checkpoint

FORK_TITLE = "Fork the run here: race two branches from the same weights"


@dataclass(frozen=True)
class Fork:
    key: str
    a: Any  # branch A keeps the run's value
    b: Any

    @property
    def id(self) -> str:
        return f"{self.key}={self.b}"

    @property
    def label(self) -> str:
        return f"{self.key}: {_show(self.a)} (as now) vs {_show(self.b)}"

    def race_config(self, config: Config) -> Config:
        """A race of the two branches, one seed each."""
        variants = [{"name": f"A: {self.key} {_show(self.a)}", self.key: self.a},
                    {"name": f"B: {self.key} {_show(self.b)}", self.key: self.b}]
        return config.replace(variants=variants, seeds=1)


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def take_checkpoint(path: str) -> dict[str, Any]:
    """The run's state saved for a fork, read once: the temporary file goes either way."""
    try:
        return checkpoint.load(path)
    finally:
        Path(path).unlink(missing_ok=True)


def fork_choices(config: Config) -> list[Fork]:
    """The forks worth racing for this run's algorithm."""
    forks = [Fork("baseline", config.baseline, b) for b in ("none", "mean", "value")
             if b != config.baseline]
    other = "full" if config.return_mode == "reward_to_go" else "reward_to_go"
    forks.append(Fork("return_mode", config.return_mode, other))
    forks.append(Fork("ent_coef", config.ent_coef, 0.01 if config.ent_coef == 0 else 0.0))
    forks.append(Fork("normalize_advantage", config.normalize_advantage,
                      not config.normalize_advantage))
    forks += [Fork("lr", config.lr, min(config.lr * 2, 10.0)), Fork("lr", config.lr, config.lr / 2)]
    return [f for f in forks if used_by(f.key, config.algo, None)]  # what the algorithm reads
