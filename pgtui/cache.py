"""Where pgtui keeps what it fits once and reuses (a task's models): one folder for every
process, a served session's included."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$PGTUI_CACHE_DIR``, else ``$XDG_CACHE_HOME/pgtui``, else ``~/.cache/pgtui``."""
    if os.environ.get("PGTUI_CACHE_DIR"):
        return Path(os.environ["PGTUI_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pgtui"
