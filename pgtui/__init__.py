"""pgtui: a terminal playground for policy-gradient reinforcement learning.

From Python: ``pgtui.train``, ``pgtui.compare``, ``pgtui.sweep``, ``pgtui.load``,
``pgtui.presets``, ``pgtui.keys`` (``pgtui/api.py``). They load on first use, so that
``import pgtui`` stays quick and imports no torch. (No subpackage may take one of their
names: ``pgtui.sweeps`` and ``pgtui.preset_files`` are named so.)
"""

from typing import Any

__version__ = "0.1.0"

_API = ("train", "compare", "sweep", "load", "presets", "keys", "Run", "Race", "Sweep", "Policy")


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    if name == "ConfigError":
        from .config import ConfigError

        return ConfigError
    raise AttributeError(f"module 'pgtui' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API, "ConfigError"])


__all__ = [*_API, "ConfigError", "__version__"]
