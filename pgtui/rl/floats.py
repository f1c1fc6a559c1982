"""The engine's float type: torch's default (float32), which torch's modules follow too.

Arrays from envs and buffers (numpy, float32) enter torch through ``as_float``, so that
a caller who sets float64 (the equivalence tests do: ``tests/numerics.py``) runs every
product and every update in float64, where two paths that compute the same thing agree
to about 1e-12 on any CPU.
"""

from __future__ import annotations

import torch


def as_float(x, device: torch.device | str | None = None) -> torch.Tensor:
    """``x`` as a tensor of the engine's float type, on ``device``."""
    return torch.as_tensor(x, dtype=torch.get_default_dtype(), device=device)


def as_tensor(x, device: torch.device | str | None = None) -> torch.Tensor:
    """``x`` as a tensor on ``device``: floats in the engine's float type, integers and
    booleans as they are (actions are either)."""
    t = torch.as_tensor(x, device=device)
    return t.to(torch.get_default_dtype()) if t.is_floating_point() else t
