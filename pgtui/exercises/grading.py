"""Grading an answer one function at a time: each check calls the student's function on
inputs made to catch the usual mistakes, and says in one line what differs and where."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

from .limits import CodeTimeout, time_limit
from .loading import where

PASSED, FAILED, NOT_STARTED = "passed", "failed", "not started"


class Mismatch(Exception):
    """A check's finding: one line that names the function and says what differs."""


@dataclass(frozen=True)
class Verdict:
    name: str  # the function (or the whole gradient's check)
    status: str  # passed | failed | not started
    message: str = ""
    hint: str = ""
    timed_out: bool = False  # a call ran past its time: later checks do not call the answer again


@dataclass(frozen=True)
class Check:
    name: str  # the function it grades
    run: Callable[[Callable], None]  # raises Mismatch, or returns: passed
    hint: str  # what to look at, shown with --hint


def grade(module: ModuleType, path: Path | None, checks: tuple[Check, ...]) -> list[Verdict]:
    """Each check's verdict on ``module``'s function of its name."""
    verdicts = []
    for check in checks:
        function = getattr(module, check.name, None)
        if not callable(function):
            verdicts.append(Verdict(check.name, FAILED, f"{check.name}: not in the file", check.hint))
            continue
        try:
            with time_limit():
                check.run(function)
        except NotImplementedError:
            verdicts.append(Verdict(check.name, NOT_STARTED, "", check.hint))
        except Mismatch as found:
            verdicts.append(Verdict(check.name, FAILED, str(found), check.hint))
        except CodeTimeout as err:
            verdicts.append(Verdict(check.name, FAILED, f"{check.name}: {where(err, path)}",
                                    check.hint, timed_out=True))
        except Exception as err:  # the student's code raised
            verdicts.append(Verdict(check.name, FAILED, f"{check.name}: raised {where(err, path)}",
                                    check.hint))
        else:
            verdicts.append(Verdict(check.name, PASSED))
    return verdicts


def tensor_of(name: str, out: object, shape: tuple[int, ...]) -> torch.Tensor:
    """``out`` as the tensor of ``shape`` a function must return, else a Mismatch."""
    if not isinstance(out, torch.Tensor):
        raise Mismatch(f"{name}: returned a {type(out).__name__}, not a tensor")
    if tuple(out.shape) != tuple(shape):
        raise Mismatch(f"{name}: returned shape {tuple(out.shape)}, expected {tuple(shape)}")
    return out


def first_difference(got: torch.Tensor, expected: torch.Tensor, valid: torch.Tensor | None = None,
                     tol: float = 1e-4) -> tuple[int, ...] | None:
    """The index of the first entry (where ``valid``) at which ``got`` is not ``expected``
    within ``tol`` (relative to the larger), or None: they agree."""
    got, expected = got.detach().double(), expected.detach().double()
    scale = torch.maximum(expected.abs(), torch.ones_like(expected))
    off = ~((got - expected).abs() <= tol * scale)  # a NaN is off too
    if valid is not None:
        off &= valid
    bad = off.nonzero()
    return None if len(bad) == 0 else tuple(int(i) for i in bad[0])


def agrees(got: torch.Tensor, expected: torch.Tensor, valid: torch.Tensor | None = None,
           tol: float = 1e-4) -> bool:
    return first_difference(got, expected, valid, tol) is None
