"""Which torch device a run uses, decided without importing torch for the CPU.

The screen and the compare command check a config's device before they start the
training processes; for ``cpu`` and ``auto`` that needs no torch, whose import alone
takes seconds and belongs in the processes that train.
"""

from __future__ import annotations

from ..config import ConfigError


class DeviceError(ConfigError):
    """The requested torch device is not available here."""


def device_name(name: str) -> str:
    """``cpu`` or ``cuda``. ``auto`` is the CPU: for the small MLPs of classic control a
    GPU adds latency per step. ``cuda`` without a GPU raises ``DeviceError``."""
    if name != "cuda":
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        raise DeviceError("device cuda: no CUDA GPU is available (use --device cpu)")
    return "cuda"
