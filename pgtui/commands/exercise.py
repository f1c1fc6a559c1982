"""`pgtui exercise`: write an exercise's scaffold, grade an answer, train it live, race it.

    pgtui exercise --list                  the exercises
    pgtui exercise reinforce [DIR]         DIR/reinforce.py to fill in (never overwritten)
    pgtui exercise check FILE [--hint]     each function against pgtui's answer, then the
                                           whole gradient against the exact one
    pgtui exercise play FILE               the playground on CartPole with your functions
    pgtui exercise race FILE [--bonus]     yours with and without its baseline beside pgtui's
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from ..exercises import EXERCISES, Exercise
from . import UsageError
from .arguments import positive_int

ACTIONS = ("check", "play", "race")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("words", nargs="*", metavar="NAME [DIR] | check|play|race FILE",
                        help="an exercise's name (and the folder for its scaffold), or an "
                             "action on your answer's file")
    parser.add_argument("--list", action="store_true", help="list the exercises")
    parser.add_argument("--hint", action="store_true", help="check: a hint under each failing function")
    parser.add_argument("--json", action="store_true", help="check: the verdicts as one JSON "
                        "object (function, status, message, hint each) instead of a table")
    parser.add_argument("--bonus", action="store_true", help="race: the exercise's bonus variants "
                        "(no baseline, mean, value; reward-to-go against the whole return)")
    parser.add_argument("--seeds", type=positive_int, default=3, help="race: seeds per variant (3)")
    parser.add_argument("--max-steps", type=positive_int, help="race: env steps per run (the preset's)")
    parser.add_argument("--out", type=Path, help="race: folder for its runs, table and curves "
                        "(default: exercise-race beside FILE)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="play, race: override a config key (repeatable)")


def run(args: argparse.Namespace) -> int:
    from .. import lockdown

    if why := lockdown.exercise_error():
        raise UsageError(f"pgtui exercise: {why}")
    if args.list or not args.words:
        for exercise in EXERCISES.values():
            print(f"{exercise.name:<12} {exercise.title}: {exercise.description}")
        return 0
    first, rest = args.words[0], args.words[1:]
    if first in EXERCISES:
        if len(rest) > 1:
            raise UsageError(f"pgtui exercise {first}: expected at most one folder, got {' '.join(rest)}")
        return write_scaffold(EXERCISES[first], Path(rest[0]) if rest else Path("."))
    if first not in ACTIONS:
        raise UsageError(f"pgtui exercise: expected an exercise ({', '.join(EXERCISES)}) or one of "
                            f"{', '.join(ACTIONS)}, got {first!r}")
    if len(rest) != 1:
        raise UsageError(f"pgtui exercise {first}: expected one answer file, e.g. "
                            f"pgtui exercise {first} reinforce.py")
    path = Path(rest[0])
    exercise, package = exercise_of(path)
    if first == "check":
        return check(path, package, args.hint, args.json)
    if first == "play":
        return play(path, exercise, args.set)
    return race(path, exercise, args)


def write_scaffold(exercise: Exercise, folder: Path) -> int:
    target = exercise.write_scaffold(folder)
    if target is None:
        target = folder / exercise.file
        print(f"{target} exists: left as it is (check it with pgtui exercise check {target})",
              file=sys.stderr)
        return 1
    print(f"wrote {target}: fill in its functions, then\n"
          f"  pgtui exercise check {target}\n  pgtui exercise play {target}\n"
          f"  pgtui exercise race {target}")
    return 0


def exercise_of(path: Path) -> tuple[Exercise, ModuleType]:
    """The exercise ``path`` answers (its ``EXERCISE``) and that exercise's package."""
    from ..exercises.loading import AnswerError, fresh_module

    if not path.is_file():
        raise UsageError(f"pgtui exercise: no such file {path}")
    try:
        module = fresh_module(path)
    except AnswerError as err:
        raise UsageError(f"pgtui exercise: {err}") from None
    named = getattr(module, "EXERCISE", None)
    exercise = next((e for e in EXERCISES.values() if e.package == named), None)
    if exercise is None:
        raise UsageError(f"pgtui exercise: {path} answers no exercise (its EXERCISE line is "
                            "missing or changed; start from pgtui exercise reinforce)")
    return exercise, importlib.import_module(exercise.package)


def check(path: Path, package: ModuleType, hint: bool, as_json: bool = False) -> int:
    import torch
    from rich.console import Console
    from rich.table import Table

    from ..exercises.grading import FAILED, NOT_STARTED, PASSED

    torch.set_num_threads(1)  # tiny networks: threads cost more than they give
    if as_json:  # the answer's own prints stay out of the one line read back
        with _quiet_output() as stdout:
            verdicts = package.grade(path)
        passed = sum(v.status == PASSED for v in verdicts)
        found = [{"function": v.name, "status": v.status, "message": v.message, "hint": v.hint}
                 for v in verdicts]
        summary = {"file": path.name, "passed": passed, "of": len(verdicts), "verdicts": found}
        print(json.dumps(summary), file=stdout, flush=True)
        return 0 if passed == len(verdicts) else 1
    out = Console(highlight=False)
    out.print(f"[bold]{path.name}[/]: each function against pgtui's answer, then the gradient "
              "against the exact one")
    verdicts = package.grade(path)
    marks = {PASSED: "[green]✓[/]", FAILED: "[red]✗[/]", NOT_STARTED: "[dim]·[/]"}
    for verdict in verdicts:
        if verdict.status == FAILED:
            out.print(f"{marks[FAILED]} {verdict.message}")
            if hint and verdict.hint:
                out.print(f"    [dim]hint: {verdict.hint}[/]")
    table = Table(title_justify="left", box=None, pad_edge=False)
    table.add_column("function")
    table.add_column("")
    table.add_column("", overflow="fold")
    for verdict in verdicts:
        note = verdict.message if verdict.status == PASSED else verdict.status
        table.add_row(verdict.name, marks[verdict.status], note)
    out.print(table)
    passed = sum(v.status == PASSED for v in verdicts)
    out.print(f"{passed} of {len(verdicts)} passed" + ("" if hint or passed == len(verdicts)
                                                       else " (--hint: a hint under each failure)"))
    return 0 if passed == len(verdicts) else 1


@contextlib.contextmanager
def _quiet_output() -> Iterator:
    """Standard output and error sent nowhere (at the descriptors too); yields a file on
    the real standard output."""
    sys.stdout.flush()
    sys.stderr.flush()
    real = os.fdopen(os.dup(1), "w")
    saved_err = os.dup(2)
    nowhere = os.open(os.devnull, os.O_WRONLY)
    os.dup2(nowhere, 1)
    os.dup2(nowhere, 2)
    try:
        yield real
    finally:
        sys.stdout.flush()
        os.dup2(real.fileno(), 1)
        os.dup2(saved_err, 2)
        real.flush()


def _config(path: Path, exercise: Exercise, assignments: list[str]):
    from ..assignments import apply_assignments
    from ..preset_files import load_preset

    config = load_preset(f"exercise-{exercise.name}").replace(algo=str(path.resolve()))
    return apply_assignments(config, assignments)


def play(path: Path, exercise: Exercise, assignments: list[str]) -> int:
    from ..ui.app import PlaygroundApp

    app = PlaygroundApp(_config(path, exercise, assignments), preset=f"{path.name} (exercise)")
    app.run()
    return app.return_code or 0


def race(path: Path, exercise: Exercise, args: argparse.Namespace) -> int:
    from .compare import CompareOptions, run_compare

    base = _config(path, exercise, args.set)
    mine = str(path.resolve())
    if args.bonus:
        variants = [{"name": "whole return", "baseline": "none", "return_mode": "full"},
                    {"name": "reward-to-go", "baseline": "none"},
                    {"name": "mean baseline", "baseline": "mean"},
                    {"name": "value baseline", "baseline": "value"}]
    else:
        variants = [{"name": "yours, value baseline", "baseline": "value"},
                    {"name": "yours, no baseline", "baseline": "none"},
                    {"name": "pgtui's, value baseline", "baseline": "value", "algo": "reinforce"}]
    changes = {"variants": [{"algo": mine, **v} for v in variants], "seeds": args.seeds}
    if args.max_steps is not None:
        changes["total_steps"] = args.max_steps
    config = base.replace(**changes)
    out = args.out or path.resolve().parent / ("exercise-race-bonus" if args.bonus else "exercise-race")
    code = run_compare(config, CompareOptions(out=out))
    print(f"runs, table and curves in {out} (curves.txt" +
          (", curves.png)" if (out / "curves.png").exists() else "; pip install matplotlib for a PNG)"))
    return code
