"""A run interrupted by a checkpoint and resumed, beside the same run straight through."""

from __future__ import annotations

from pathlib import Path

from pgtui.config import Config
from pgtui.rl.checkpoint import load
from pgtui.rl.trainer import Trainer


def straight_and_resumed(config: Config, updates: int, cut: int, folder: Path
                         ) -> tuple[Trainer, Trainer, dict]:
    """(the run of ``updates`` updates, the run saved after ``cut`` and resumed to
    ``updates`` in a new Trainer, the checkpoint it resumed from)."""
    straight = Trainer(config)
    straight.run(max_updates=updates)
    first = Trainer(config)
    first.run(max_updates=cut)
    payload = load(first.save_checkpoint(folder / "run.pt"))
    resumed = Trainer(config)
    resumed.load_run_state(payload)
    resumed.run(max_updates=updates)
    return straight, resumed, payload
