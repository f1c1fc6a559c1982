"""A batch's valid steps packed per seed, and per-seed figures off the device.

A batch holds the seeds that collected it (``Batch.seeds``); its valid steps are packed
to the front of one row per seed (``pack``), so every loss is a masked mean or sum over
the last axis and returns one value per seed. Summing them and calling ``backward``
gives each seed the gradient of its own loss: the seeds share no parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..rollout import Batch

Stats = list[dict[str, float]]  # one dict per seed of the batch


@dataclass
class Samples:
    """Each seed's valid steps packed to the front of its row: (S, L, ...), ``mask`` (S, L)."""

    mask: torch.Tensor
    count: torch.Tensor  # (S,) valid steps per seed
    full: bool  # every seed has as many: the mask is all true
    obs: torch.Tensor
    actions: torch.Tensor
    targets: list[torch.Tensor]  # per-step figures packed alike (returns, advantages...)


def pack(batch: Batch, *per_step: torch.Tensor) -> Samples:
    """The valid steps of ``batch`` (T, S, N) per seed, in (t, env) order, with
    ``per_step`` tensors of the batch's shape packed the same way."""
    S = batch.valid.shape[1]
    valid = batch.valid.movedim(1, 0).reshape(S, -1)
    count = valid.sum(1)
    counts = count.tolist()
    width = max(counts)
    order = torch.argsort((~valid).to(torch.int8), dim=1, stable=True)[:, :width]
    mask = torch.arange(width, device=valid.device) < count.unsqueeze(1)

    def take(x: torch.Tensor) -> torch.Tensor:
        rows = x.movedim(1, 0).reshape(S, valid.shape[1], *x.shape[3:])
        index = order.view(S, width, *[1] * (rows.dim() - 2)).expand(S, width, *rows.shape[2:])
        return rows.gather(1, index)

    return Samples(mask, count, min(counts) == width, take(batch.obs), take(batch.actions),
                   [take(x) for x in per_step])


def mask_or_none(samples: Samples) -> torch.Tensor | None:
    """The mask of ``samples``, or None when it is all true (cheaper means)."""
    return None if samples.full else samples.mask


def per_seed(keys: tuple[str, ...], columns: list[torch.Tensor]) -> Stats:
    """Per-seed dicts from (S,) tensors: one copy off the device."""
    return [dict(zip(keys, row, strict=True)) for row in torch.stack(columns, 1).tolist()]
