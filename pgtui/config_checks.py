"""The checks of a config's values: each field's type, range and choices as its metadata
gives them (``FIELDS``, Config's fields, entered by config.py), lists, tables, races'
variants and sweeps. Every failure is a one-line :class:`ConfigError`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from . import lockdown
from .rl.algos import ALGORITHMS, PluginError, algo_spec
from .rl.algos.plugins import is_plugin, normalized
from .toml_text import toml_value

#: Config's fields by name, each with its rules in its metadata; config.py enters them
#: (the checks read the rules, the Config is built from what they return)
FIELDS: dict[str, dataclasses.Field] = {}


class ConfigError(ValueError):
    """A bad preset, option or value; the message is one line meant for the user."""


def _type_name(kind: type) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(kind, kind.__name__)


def check_value(key: str, value: Any, source: str) -> Any:
    """Validate one field's value; returns it normalized (ints become floats where due).
    In a locked-down served session it must also stay within the session's caps."""
    value = _valid(key, value, source)
    if lockdown.active() and (why := lockdown.value_error(key, value)):
        raise ConfigError(f"{source}: {why}")
    return value


def _valid(key: str, value: Any, source: str) -> Any:
    if key not in FIELDS:
        raise ConfigError(f"{source}: unknown key '{key}' (see `pgtui presets --keys`)")
    meta = FIELDS[key].metadata
    kind = {"float | None": float, "int | None": int, "float | str": float, "list": list,
            "dict": dict}.get(
        FIELDS[key].type) or {"str": str, "int": int, "float": float, "bool": bool}[FIELDS[key].type]
    where = f"{source}: {key}"
    if value is None and meta.get("optional"):
        return None
    if meta.get("auto") and isinstance(value, str):
        if value != "auto":
            raise ConfigError(f"{where}: expected auto or a number, got {value!r}")
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {_type_name(kind)}, got {value!r}")
    if kind is list:
        return _check_list(key, value, meta, where)
    if kind is dict:
        return _check_sweep(value, where) if key == "sweep" else _check_kwargs(value, where)
    if key == "algo":
        return _check_algo(value, where)
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    _check_range(value, meta, where)
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(f"{where}: expected one of {', '.join(meta['choices'])}, "
                          f"got {value!r}")
    return value


def check_live(key: str, value: Any) -> Any:
    """A live change's value, checked; raises ConfigError for a key that needs a new run."""
    if key not in FIELDS or not FIELDS[key].metadata.get("live"):
        raise ConfigError(f"{key} is not a live parameter; it needs a new run")
    return check_value(key, value, "live change")


def _check_algo(algo: str, where: str) -> str:
    """A built-in algorithm's name, or a learner of the user's own, loaded to tell (a
    file's path made absolute); never imported in a served session."""
    if algo in ALGORITHMS:
        return algo
    if not is_plugin(algo):
        raise ConfigError(f"{where}: expected one of {', '.join(ALGORITHMS)}, or module:Class, "
                          f"got {algo!r}")
    if lockdown.active() and (why := lockdown.algo_error(algo)):
        raise ConfigError(f"{where.rpartition(':')[0]}: {why}")
    try:
        algo_spec(normalized(algo))
    except PluginError as err:
        raise ConfigError(f"{where.rpartition(':')[0]}: {err}") from None
    return normalized(algo)


def _check_range(value: Any, meta: Mapping[str, Any], where: str) -> None:
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
        bound = f"> {lo}" if meta.get("lo_open") else f">= {lo}"
        raise ConfigError(f"{where}: expected a value {bound}, got {value!r}")
    if hi is not None and value > hi:
        raise ConfigError(f"{where}: expected a value <= {hi}, got {value!r}")


def _check_list(key: str, value: list, meta: Mapping[str, Any], where: str) -> list:
    if len(value) > meta.get("max_len", 10_000):
        raise ConfigError(f"{where}: expected at most {meta['max_len']} items")
    item = meta["item"]
    out = []
    for v in value:
        if item is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not isinstance(v, item) or (item is not bool and isinstance(v, bool)):
            raise ConfigError(f"{where}: expected a list of {_type_name(item)}s, got {value!r}")
        if item is float and not math.isfinite(v):
            raise ConfigError(f"{where}: expected finite numbers, got {value!r}")
        if item is int:
            _check_range(v, meta, where)
        out.append(v)
    if key == "hidden_sizes" and not out:
        raise ConfigError(f"{where}: expected at least one layer width")
    if key == "variants":
        variants = [_check_variant(v, where, i) for i, v in enumerate(out)]
        names = [v["name"] for v in variants]
        folders = [folder_name(n) for n in names]
        if len(set(folders)) != len(folders):  # they name the runs' folders too
            raise ConfigError(f"{where}: variant names must differ (also with spaces and "
                              f"symbols read as '-'), got {names}")
        return variants
    return out


def _check_kwargs(value: dict, where: str) -> dict:
    """Keyword arguments: identifier keys; values TOML scalars or lists of them."""
    scalar = (bool, int, float, str)
    for k, v in value.items():
        if not k.isidentifier():
            raise ConfigError(f"{where}: keys must be Python identifiers, got {k!r}")
        if not (isinstance(v, scalar) or (isinstance(v, list) and all(isinstance(x, scalar) for x in v))):
            raise ConfigError(f"{where}: {k} must be a number, string, true/false or a list of "
                              f"them, got {v!r}")
    return dict(value)


#: keys a sweep cannot sweep: the seeds are its own axis, and a grid point is one config
NOT_SWEPT = ("seed", "seeds", "variants", "sweep", "description")


def _check_sweep(value: dict, where: str) -> dict:
    """A [sweep] table: each key a config key, each value a non-empty list of its values."""
    checked = {}
    for key, values in value.items():
        if key in NOT_SWEPT or key not in FIELDS:
            why = "cannot be swept" if key in FIELDS else "is not a config key"
            raise ConfigError(f"{where}: '{key}' {why} (see `pgtui presets --keys`)")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: {key}: expected a non-empty list of values, got {values!r}")
        checked[key] = [check_value(key, v, where) for v in values]
        if len({toml_value(v) for v in checked[key]}) != len(values):
            raise ConfigError(f"{where}: {key}: a value is listed twice: {values!r}")
    return checked


def folder_name(variant: str) -> str:
    """A variant's name as a folder name: spaces and symbols become '-'."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in variant) or "variant"


def _check_variant(variant: dict, where: str, index: int) -> dict:
    name = variant.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}[{index}]: expected a 'name' string")
    checked = {"name": name}
    for k, v in variant.items():
        if k in ("name", "variants", "seeds", "sweep"):
            if k != "name":
                raise ConfigError(f"{where}[{index}]: '{k}' cannot be set in a variant")
            continue
        checked[k] = check_value(k, v, f"{where}[{index}]")
    return checked
