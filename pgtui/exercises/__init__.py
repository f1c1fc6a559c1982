"""pgtui's coding exercises: a scaffold the student fills in, a grader against pgtui's
answer and the exact gradient, and a learner that trains with the student's functions.
Torch-free here: the list the CLI shows."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Exercise:
    name: str  # as `pgtui exercise NAME` takes it
    title: str
    description: str  # one line
    package: str  # its package: scaffold.py, answer.py, grading and learner_for
    file: str  # the scaffold's file name in the student's folder

    def write_scaffold(self, folder: Path) -> Path | None:
        """The scaffold copied to ``folder`` (its file there), or None where that file
        exists already: a student's work is never overwritten. Imports nothing."""
        target = folder / self.file
        if target.exists():
            return None
        folder.mkdir(parents=True, exist_ok=True)
        package = importlib.util.find_spec(self.package)
        shutil.copyfile(Path(package.origin).parent / "scaffold.py", target)
        return target


EXERCISES: dict[str, Exercise] = {e.name: e for e in (
    Exercise("reinforce", "Write REINFORCE yourself",
             "returns, baselines, normalization, the entropy bonus and the loss; graded against "
             "the exact gradient, trained live on CartPole", "pgtui.exercises.reinforce", "reinforce.py"),
)}
