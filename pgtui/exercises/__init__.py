"""pgtui's coding exercises: a scaffold the student fills in, a grader against pgtui's
answer and the exact gradient, and a learner that trains with the student's functions.
Torch-free here: the list the CLI shows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    name: str  # as `pgtui exercise NAME` takes it
    title: str
    description: str  # one line
    package: str  # its package: scaffold.py, answer.py, grading and learner_for
    file: str  # the scaffold's file name in the student's folder


EXERCISES: dict[str, Exercise] = {e.name: e for e in (
    Exercise("reinforce", "Write REINFORCE yourself",
             "returns, baselines, normalization, the entropy bonus and the loss; graded against "
             "the exact gradient, trained live on CartPole", "pgtui.exercises.reinforce", "reinforce.py"),
)}
