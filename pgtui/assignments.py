"""`KEY=VALUE` assignments, as `--set` takes them: the value read as TOML (a bare word as
a string), the key and value checked as a preset's are."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from .config import FIELDS, Config, ConfigError, from_mapping
from .config_checks import check_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def parse_assignment(text: str, option: str = "--set") -> tuple[str, Any]:
    """``key=value`` with the value read as TOML, falling back to a bare string."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise ConfigError(f"{option} {text!r}: expected key=value")
    if key not in FIELDS:
        raise ConfigError(f"{option} {text!r}: unknown key '{key}'")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def apply_assignments(config: Config, assignments: list[str], option: str = "--set") -> Config:
    """``config`` with each assignment applied, the whole result checked."""
    data = dataclasses.asdict(config)
    for text in assignments:
        key, value = parse_assignment(text, option)
        data[key] = check_value(key, value, option)
    return from_mapping(data, source=option)
