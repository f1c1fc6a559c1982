"""A module's parameters as views of one flat tensor, and their gradients as views of another.

A small MLP's update is dominated by per-tensor overhead, not arithmetic: clipping the
gradient norm and stepping Adam over a dozen tiny tensors cost more than the matmuls.
With the parameters re-homed into one flat buffer per module, the optimizer sees one
tensor per module and the gradient norm is one reduction. The module keeps its own
``Parameter`` objects (checkpoints, ``torch.func`` and the UI read them as before);
autograd accumulates into their ``.grad`` views in place, so the flat gradient fills
itself during ``backward``.
"""

from __future__ import annotations

import torch
from torch import nn


def flatten_parameters(module: nn.Module) -> nn.Parameter:
    """Re-home ``module``'s parameters into one flat Parameter and return it.

    Its ``.grad`` is the concatenation of the module's gradients. Call after the module
    has reached its device: moving it again would give it fresh, unshared storage.
    """
    flat = nn.Parameter(torch.cat([p.detach().reshape(-1) for p in module.parameters()]))
    _point(module, flat, flat.data, torch.zeros_like(flat))
    return flat


def rehome(module: nn.Module, flat: nn.Parameter, data: torch.Tensor, grad: torch.Tensor) -> None:
    """Move ``flat`` (made by ``flatten_parameters(module)``) into the 1-D tensors
    ``data`` and ``grad``, views of bigger buffers: a race stacks its seeds' parameters
    this way. The values are copied; ``flat`` and the module's parameters stay the same
    objects, so an optimizer holding ``flat`` keeps working."""
    data.copy_(flat.data)
    _point(module, flat, data, grad)


def _point(module: nn.Module, flat: nn.Parameter, data: torch.Tensor, grad: torch.Tensor) -> None:
    flat.data, flat.grad = data, grad
    offset = 0
    for p in module.parameters():
        n = p.numel()
        p.data = data[offset:offset + n].view_as(p)
        p.grad = grad[offset:offset + n].view_as(p)
        offset += n
