"""A race's seeds as rows: every seed's parameters, gradients and Adam state in (S, P)
tensors, each seed's own tensors being views of its row.

``StackedUpdate`` (``stacked.py``) keeps each seed's actor and critic side by side in
one row, so a minibatch step clips every seed's gradient with one norm and steps Adam
once. The trainers keep their ``Parameter`` objects and optimizer state dicts, whose
tensors become views of the rows (``flat.rehome``): checkpoints, the UI and a diverged
seed's undo read and write each seed as before.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from .flat import FlatOptimizer, adam_update, rehome
from .stacked_mlp import NetLayout, layer_views


@dataclasses.dataclass
class RowAdam:
    """Adam's state of S stacked rows: moments (S, P), step counts (S,)."""

    exp_avg: torch.Tensor
    exp_avg_sq: torch.Tensor
    steps: torch.Tensor

    @torch.no_grad()
    def step(self, param: torch.Tensor, grad: torch.Tensor, lrs: torch.Tensor,
             betas: tuple[float, float], eps: float, stepping: torch.Tensor,
             every_row: bool) -> None:
        """Adam on the rows where ``stepping`` (``every_row``: all of them), each with its
        lrs (S, P); the other rows keep every bit of their state."""
        keep = None if every_row else ~stepping
        tensors = (param, self.exp_avg, self.exp_avg_sq)
        saved = [t[keep].clone() for t in tensors] if keep is not None else None
        self.steps += stepping.float()
        adam_update(param, grad, self.exp_avg, self.exp_avg_sq, self.steps.unsqueeze(1), lrs,
                    betas, eps)
        if saved is not None:
            for t, old in zip(tensors, saved, strict=True):
                t[keep] = old


class ModuleRows:
    """One module (actor or critic) of every seed: its ``columns`` of the update's rows
    of parameters, gradients and Adam moments. Each seed's tensors are views of its row,
    so the optimizer state a trainer holds is the stacked one."""

    def __init__(self, index: int, modules: list[nn.Module], optimizers: list[FlatOptimizer],
                 net: NetLayout, rows: torch.Tensor, grad: torch.Tensor, adam: RowAdam,
                 columns: slice) -> None:
        self.index, self.net, self.columns = index, net, columns
        self.param = rows[:, columns]
        self.grad = grad[:, columns]
        exp_avg, exp_avg_sq = adam.exp_avg[:, columns], adam.exp_avg_sq[:, columns]
        self.layers = layer_views(self.param, net)  # stay valid: Adam steps in place
        for i, (module, opt) in enumerate(zip(modules, optimizers, strict=True)):
            flat = opt.param_groups[index]["params"][0]
            rehome(module, flat, self.param[i], self.grad[i])
            state = opt.state[flat]
            if state:
                exp_avg[i].copy_(state["exp_avg"])
                exp_avg_sq[i].copy_(state["exp_avg_sq"])
                adam.steps[i] = float(state["step"])  # one count: both modules step together
            opt.state[flat] = {"step": adam.steps[i], "exp_avg": exp_avg[i],
                               "exp_avg_sq": exp_avg_sq[i]}
