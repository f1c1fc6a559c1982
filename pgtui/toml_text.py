"""Python values as TOML text, for a resolved config written back as a preset."""

from __future__ import annotations

from typing import Any


def toml_value(value: Any) -> str:
    """A value's TOML text (a table inline); it loads back to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + "".join(toml_char(c) for c in value) + '"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


def toml_char(char: str) -> str:
    """One character of a TOML basic string: quotes, backslashes and controls escaped."""
    if char in '"\\':
        return "\\" + char
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\u{ord(char):04x}"
    return char
