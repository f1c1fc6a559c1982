"""Equivalence tests in float64: two paths that compute the same thing (a seed in a race
and the seed alone, the seeds' batched networks and each seed's own module) agree there
to about 1e-12 on any CPU, while a real difference (another seed's stream, an update
shifted by one) still shows at 1e-3 or more. In float32 the same two paths round
differently on AVX2 and AVX-512 kernels, and a few Adam steps carry that past any
tolerance worth asserting (docs/development.md)."""

import contextlib
import math

import torch

#: the largest relative gap two float64 paths may show: sums of up to ~1e4 terms and a few
#: Adam steps grow float64's 2.2e-16 to ~1e-12 (measured, as ``gap`` below: at most 3.4e-12,
#: REINFORCE's cancelling policy loss); 1e-9 leaves a margin of 300x, and a real bug shows
#: at 1 or more (the planted ones in test_seed_axis.py)
GAP = 1e-9
#: a figure or weight below this size is compared on this scale: a loss over normalized
#: advantages cancels to ~1e-4, and its rounding is that of its terms, not of its value
FLOOR = 1e-2


@contextlib.contextmanager
def float64():
    """torch's default float type float64, which the engine follows (``pgtui/rl/floats.py``)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def gap(a: float, b: float) -> float:
    """|a - b| relative to |b|, or to ``FLOOR`` for smaller figures; 0 for two NaNs."""
    if math.isnan(a) and math.isnan(b):
        return 0.0
    return abs(a - b) / max(abs(b), FLOOR)


def tensor_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest ``gap`` between two tensors' elements."""
    return float(((a - b).abs() / b.abs().clamp(min=FLOOR)).max())
