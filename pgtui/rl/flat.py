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

import collections

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


def adam_update(p: torch.Tensor, grad: torch.Tensor, exp_avg: torch.Tensor,
                exp_avg_sq: torch.Tensor, step: float | torch.Tensor, lr: float | torch.Tensor,
                betas: tuple[float, float], eps: float) -> None:
    """One Adam step in place, ``torch.optim.Adam``'s arithmetic (no weight decay).

    ``step`` is the count including this step. For S stacked rows (a race's seeds),
    ``step`` and ``lr`` are (S, 1) columns: each row keeps its own.
    """
    beta1, beta2 = betas
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = exp_avg_sq.sqrt().div_((1 - beta2**step) ** 0.5).add_(eps)
    p.addcdiv_(exp_avg * (lr / (1 - beta1**step)), denom, value=-1.0)


class FlatOptimizer:
    """Adam, or plain SGD, for a few flat tensors, written without ``torch.optim``.

    The first ``torch.optim`` optimizer of a process imports ``torch._dynamo`` (its
    ``add_param_group`` is wrapped to keep the compiler out): 1.4 s of every start-up
    here, a third of a CartPole run. The arithmetic is ``torch.optim.Adam``'s and
    ``SGD``'s (``tests/test_flat.py`` compares them step by step), and ``state_dict``
    has their layout, so checkpoints load either way. ``param_groups`` and ``state``
    are plain dicts, as in ``torch.optim``.
    """

    def __init__(self, groups: list[dict], *, kind: str = "adam", lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        if kind not in ("adam", "sgd"):
            raise ValueError(f"unknown optimizer {kind!r}")
        self.kind = kind
        defaults = {"lr": lr} if kind == "sgd" else {"lr": lr, "betas": betas, "eps": eps}
        self.param_groups = [{**defaults, **group} for group in groups]
        self.state: collections.defaultdict[torch.Tensor, dict] = collections.defaultdict(dict)

    @property
    def params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if self.kind == "sgd":
                    p.sub_(p.grad, alpha=group["lr"])
                else:
                    self._adam(p, group)

    def _adam(self, p: torch.Tensor, group: dict) -> None:
        state = self.state[p]
        if not state:
            state.update(step=torch.tensor(0.0), exp_avg=torch.zeros_like(p),
                         exp_avg_sq=torch.zeros_like(p))
        state["step"] += 1
        adam_update(p, p.grad, state["exp_avg"], state["exp_avg_sq"], float(state["step"]),
                    group["lr"], group["betas"], group["eps"])

    def state_dict(self) -> dict:
        """``torch.optim``'s layout: state by parameter index, groups without tensors."""
        index = {id(p): i for i, p in enumerate(self.params)}
        return {
            "state": {index[id(p)]: dict(s) for p, s in self.state.items() if s and id(p) in index},
            "param_groups": [{**{k: v for k, v in g.items() if k != "params"},
                              "params": [index[id(p)] for p in g["params"]]}
                             for g in self.param_groups],
        }

    def load_state_dict(self, saved: dict) -> None:
        if len(saved["param_groups"]) != len(self.param_groups):
            raise ValueError("the saved optimizer has a different number of parameter groups")
        for group, old in zip(self.param_groups, saved["param_groups"], strict=True):
            group.update({k: v for k, v in old.items() if k != "params"})
        self.state.clear()
        for i, p in enumerate(self.params):
            for key, value in saved["state"].get(i, {}).items():
                if torch.is_tensor(value) and key != "step":
                    if value.shape != p.shape:
                        raise ValueError(f"optimizer state {key} has shape {tuple(value.shape)}, "
                                         f"its parameter {tuple(p.shape)}")
                    value = value.detach().clone().to(p.device)
                elif torch.is_tensor(value):
                    value = value.detach().clone()
                self.state[p][key] = value
