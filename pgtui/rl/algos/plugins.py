"""Learners named as ``"module:Class"``: pgtui's own (each ``AlgoSpec.learner``) and the
user's, as ``algo = "my_package.my_module:MyLearner"`` or ``algo = "path/to/file.py:MyLearner"``;
and an answer to one of pgtui's exercises, as ``algo = "path/to/my_reinforce.py"`` (or a
module's dotted name): its ``EXERCISE`` names the exercise's package, whose
``learner_for(module, algo)`` gives the learner that trains with the answer's functions.

A user's learner subclasses ``interface.Learner``; it may say how pgtui shows it with
a class attribute ``spec = AlgoSpec(...)`` (its settings, stats, titles), else it is
shown as a policy gradient named after its class, with its policy loss, entropy and
gradient norm. Its module is imported where its spec
is first asked for (the config's checks), never in a served session.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from ... import lockdown
from ..stats import ENTROPY, GRAD_NORM, POLICY_LOSS
from .spec import AlgoSpec

if TYPE_CHECKING:
    from .interface import Learner


class PluginError(ValueError):
    """A learner that cannot be loaded; the message is one line meant for the user."""


def is_plugin(algo: str) -> bool:
    """``algo`` names a learner outside the built-in ones: "module:Class", "file.py:Class",
    or an exercise's answer ("file.py", "dotted.module")."""
    return ":" in algo or algo.endswith(".py") or "." in algo


def file_of(algo: str) -> str | None:
    """The ``.py`` file ``algo`` loads its learner from, or None (a module)."""
    where = algo.rpartition(":")[0] if ":" in algo else algo
    return where if where.endswith(".py") else None


def normalized(algo: str) -> str:
    """``algo`` with a file path made absolute, so that a run's saved config (and a
    training process started elsewhere) names the same file."""
    path = file_of(algo)
    if path is None:
        return algo
    return str(Path(path).resolve()) + algo[len(path):]


def _module(where: str, algo: str) -> ModuleType:
    """The module ``where`` names: a ``.py`` file loaded under a name of its own, or an
    importable module."""
    try:
        if not where.endswith(".py"):
            return importlib.import_module(where)
        path = Path(where)
        if not path.is_file():
            raise PluginError(f"algo '{algo}': no such file {where}")
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
        name = f"pgtui_plugin_{path.stem}_{digest}"  # one per file, the same in every process
        if name in sys.modules:
            return sys.modules[name]
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module  # its classes' pickles and dataclasses look it up
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module
    except PluginError:
        raise
    except Exception as err:  # missing, or broken on import: either way not usable
        raise PluginError(f"algo '{algo}': cannot import {where}: "
                          f"{type(err).__name__}: {' '.join(str(err).split())}") from None


def load_class(algo: str) -> type:
    """The class ``algo`` ("module:Class" or "file.py:Class") names, or the learner of
    the exercise the answer ``algo`` ("file.py" or "module") answers."""
    where, _, name = algo.rpartition(":") if ":" in algo else (algo, "", "")
    if lockdown.active() and (why := lockdown.algo_error(algo)) and not where.startswith("pgtui."):
        raise PluginError(why)  # never a visitor's import
    if not name:
        return _answer_learner(_module(where, algo), algo)
    if not where or not name.isidentifier():
        raise PluginError(f"algo '{algo}': expected module:Class or path/to/file.py:Class")
    found = getattr(_module(where, algo), name, None)
    if found is None:
        raise PluginError(f"algo '{algo}': {where} has no {name}")
    return found


def _exercise_package(exercise: object, algo: str) -> ModuleType:
    if not isinstance(exercise, str):
        raise PluginError(f"algo '{algo}': names no class (module:Class) and answers no "
                          "exercise (no EXERCISE = \"...\" in it)")
    try:
        package = importlib.import_module(exercise)
    except ImportError as err:
        raise PluginError(f"algo '{algo}': its EXERCISE {exercise!r} cannot be imported: {err}") from None
    if not all(hasattr(package, name) for name in ("learner_for", "spec_for")):
        raise PluginError(f"algo '{algo}': its EXERCISE {exercise!r} is no exercise")
    return package


def _answer_learner(module: ModuleType, algo: str) -> type:
    """The learner that trains with the functions of ``module``, an exercise's answer."""
    package = _exercise_package(getattr(module, "EXERCISE", None), algo)
    return package.learner_for(module, algo)


def _answer_source(algo: str) -> Path:
    """The file of the answer ``algo`` ("file.py" or a dotted module), found without
    running it."""
    if algo.endswith(".py"):
        path = Path(algo)
    else:
        try:
            found = importlib.util.find_spec(algo)
        except (ImportError, ValueError):
            found = None
        if found is None or not found.origin:
            raise PluginError(f"algo '{algo}': no module {algo}")
        path = Path(found.origin)
    if not path.is_file():
        raise PluginError(f"algo '{algo}': no such file {path}")
    return path


def answer_spec(algo: str) -> AlgoSpec:
    """The spec of the exercise's answer ``algo``, read from its source without running
    it (the screen's process stays free of its code, and of torch): its ``EXERCISE``
    line names the exercise, whose package describes it."""
    path = _answer_source(algo)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except SyntaxError as err:
        raise PluginError(f"algo '{algo}': {path.name}, line {err.lineno}: syntax error: {err.msg}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PluginError(f"algo '{algo}': cannot read {path}: {err}") from None
    exercise = next((node.value.value for node in tree.body if isinstance(node, ast.Assign)
                     and any(isinstance(t, ast.Name) and t.id == "EXERCISE" for t in node.targets)
                     and isinstance(node.value, ast.Constant)), None)
    spec = _exercise_package(exercise, algo).spec_for(path.resolve())
    return dataclasses.replace(spec, name=algo, learner=algo)


def plugin_spec(algo: str) -> AlgoSpec:
    """The spec of the user's learner ``algo``, importing its module (and torch); of an
    exercise's answer, read from its source (``answer_spec``)."""
    if lockdown.active() and (why := lockdown.algo_error(algo)):  # before any import
        raise PluginError(why)
    if ":" not in algo:
        return answer_spec(algo)
    learner = load_class(algo)
    from .interface import Learner  # torch: the user's module has imported it already

    if not (isinstance(learner, type) and issubclass(learner, Learner)):
        raise PluginError(f"algo '{algo}': {algo.rpartition(':')[2]} is not a Learner "
                          "(subclass pgtui.rl.algos.interface.Learner)")
    spec = getattr(learner, "spec", None)
    if not isinstance(spec, AlgoSpec):
        spec = AlgoSpec(learner.__name__, learner.__name__, _first_line(learner),
                        gradient_noise=False, placeholders=("policy_loss",),
                        stats=(POLICY_LOSS, ENTROPY, GRAD_NORM))
    return dataclasses.replace(spec, name=algo, learner=algo)


def learner_class(spec: AlgoSpec) -> type[Learner]:
    """The ``Learner`` class ``spec`` names (imports it, and torch)."""
    return load_class(spec.learner)


def _first_line(cls: type) -> str:
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else "a learner of your own"
