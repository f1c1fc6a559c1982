"""A student's answer file, loaded fresh each time it is saved, and where in it an error
arose, in one line."""

from __future__ import annotations

import importlib.util
import traceback
from pathlib import Path
from types import ModuleType

from .limits import time_limit


class AnswerError(Exception):
    """An answer that cannot train or be graded as it stands; the message is one line
    that names the function (and line) at fault."""


def fresh_module(path: Path) -> ModuleType:
    """The module of ``path`` as it is on disk now, loaded anew (never cached, so a save
    is seen); raises AnswerError naming the line of a syntax or import error."""
    spec = importlib.util.spec_from_file_location(f"pgtui_answer_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        with time_limit():
            spec.loader.exec_module(module)
    except SyntaxError as err:
        raise AnswerError(f"{path.name}, line {err.lineno}: syntax error: {err.msg}") from None
    except Exception as err:
        raise AnswerError(f"{path.name}: cannot load: {where(err, path)}") from None
    return module


def where(err: BaseException, path: Path | None) -> str:
    """``err`` in one line, led by the innermost line of ``path`` it passed through."""
    message = f"{type(err).__name__}: {' '.join(str(err).split())}".rstrip(": ")
    if path is None:
        return message
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if Path(f.filename).resolve() == path.resolve()]
    if not frames:
        return message
    frame = frames[-1]
    return f"{frame.name}, line {frame.lineno}: {message}"
