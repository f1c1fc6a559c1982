"""Checkpoints: tensors, config and metadata, written atomically, loaded without pickle code.

``torch.load(..., weights_only=True)`` only rebuilds tensors and plain containers, so a
checkpoint that carries a pickled object is refused instead of run.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

FORMAT = 1  # torch is imported where it is used: the screen imports this module too


class CheckpointError(ValueError):
    """A checkpoint that cannot be read; the message is one line."""


def save(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to a temporary file beside ``path`` and rename it into place."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, **payload}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path: str | Path) -> dict[str, Any]:
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"{path}: refused: not a plain-tensor checkpoint (it holds "
                              "pickled objects or is not a torch file; nothing in it was run)") from None
    except Exception as err:
        raise CheckpointError(f"{path}: not a pgtui checkpoint ({type(err).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a pgtui checkpoint (format {FORMAT} expected)")
    return data
