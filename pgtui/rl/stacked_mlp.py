"""S copies of one MLP evaluated in one pass, each with its own parameters.

``flat`` is (S, P): row s holds copy s's parameters in ``flatten_parameters`` order
(``flat.py``), and ``net_layout`` says where each layer sits in a row. Races use it
to update all seeds of a variant at once (``stacked.py``); the gradient diagnostics
use it for per-group gradients, the rows then being copies of one actor.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn


@dataclasses.dataclass(frozen=True)
class _Linear:
    weight: slice  # where the layer's weight and bias sit in a flat row
    bias: slice
    fan_out: int
    fan_in: int


@dataclasses.dataclass(frozen=True)
class NetLayout:
    layers: tuple[_Linear, ...]
    relu: bool  # else tanh
    log_std: slice | None  # a Gaussian actor's log-std


def net_layout(module: nn.Module) -> NetLayout | None:
    """Where each layer of ``module.net`` sits in ``flatten_parameters(module)``; None
    when ``module`` is not an MLP of Linear layers and one activation (ReLU or tanh)."""
    if not isinstance(getattr(module, "net", None), nn.Sequential):
        return None
    offsets, offset = {}, 0
    for name, p in module.named_parameters():
        offsets[name] = slice(offset, offset + p.numel())
        offset += p.numel()
    layers, activations = [], set()
    for i, layer in enumerate(module.net):
        if isinstance(layer, nn.Linear):
            layers.append(_Linear(offsets[f"net.{i}.weight"], offsets[f"net.{i}.bias"],
                                  layer.out_features, layer.in_features))
        else:
            activations.add(type(layer))
    if not activations <= {nn.ReLU} and not activations <= {nn.Tanh}:
        return None
    return NetLayout(tuple(layers), nn.ReLU in activations, offsets.get("log_std"))


Layer = tuple[torch.Tensor, torch.Tensor]  # weight (S, out, in), bias (S, 1, out)


def layer_views(flat: torch.Tensor, net: NetLayout) -> list[Layer]:
    """Each layer's weight and bias of every row, as views of ``flat``: they follow the
    rows' values as an optimizer updates ``flat`` in place."""
    return [(flat[:, layer.weight].view(-1, layer.fan_out, layer.fan_in),
             flat[:, layer.bias].unsqueeze(1)) for layer in net.layers]


def mlp_forward(layers: list[Layer], x: torch.Tensor, relu: bool
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(S, B, out) and each layer's input (what ``mlp_backward`` needs); no autograd."""
    inputs = []
    for k, (weight, bias) in enumerate(layers):
        inputs.append(x)
        x = torch.baddbmm(bias, x, weight.mT)
        if k < len(layers) - 1:  # in place, while x is still in the cache
            x = x.relu_() if relu else x.tanh_()
    return x, inputs


def mlp_backward(flat: torch.Tensor, layers: list[Layer], inputs: list[torch.Tensor],
                 grad_out: torch.Tensor, net: NetLayout) -> torch.Tensor:
    """The (S, P) gradient of the rows of ``flat`` (whose views are ``layers``) given
    d loss / d output ``grad_out`` (S, B, out); zero where no layer sits (a Gaussian's
    log-std)."""
    rows = flat.shape[0]
    pieces = {}  # offset in the flat row -> (S, n) gradient
    for k in reversed(range(len(net.layers))):
        layer, x = net.layers[k], inputs[k]
        if layer.fan_in < layer.fan_out:  # the fastest layouts, measured per shape
            grad_weight = torch.bmm(x.mT, grad_out).mT.contiguous()
        else:
            grad_weight = torch.bmm(grad_out.mT, x)
        pieces[layer.weight.start] = grad_weight.view(rows, -1)
        pieces[layer.bias.start] = grad_out.sum(1)
        if k > 0:
            grad_out = torch.bmm(grad_out, layers[k][0])
            # in place: the op autograd itself uses for relu, 8x faster than a mask
            if net.relu:
                torch.ops.aten.threshold_backward.grad_input(grad_out, x, 0.0,
                                                             grad_input=grad_out)
            else:
                grad_out.mul_(1 - x * x)
    parts, position = [], 0
    for start in sorted(pieces):
        if start > position:
            parts.append(flat.new_zeros(rows, start - position))
        parts.append(pieces[start])
        position = start + pieces[start].shape[1]
    if position < flat.shape[1]:
        parts.append(flat.new_zeros(rows, flat.shape[1] - position))
    return torch.cat(parts, 1)


class _StackedMLP(torch.autograd.Function):
    """S MLPs at once: ``flat`` (S, P) holds each one's parameters, ``x`` is (S, B, in).

    Written out by hand, backward included: autograd's own backward of ``baddbmm``
    picks slow layouts for the thin output layers (a 64 -> 2 weight gradient cost as
    much as a 64 -> 64 one), and the per-layer views of ``flat`` would each scatter a
    full-size gradient.
    """

    @staticmethod
    def forward(ctx, flat: torch.Tensor, x: torch.Tensor, net: NetLayout) -> torch.Tensor:
        out, inputs = mlp_forward(layer_views(flat, net), x, net.relu)
        ctx.save_for_backward(flat, *inputs)
        ctx.net = net
        return out

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        flat, *inputs = ctx.saved_tensors
        return mlp_backward(flat, layer_views(flat, ctx.net), inputs, grad_out, ctx.net), None, None


def stacked_mlp(flat: torch.Tensor, x: torch.Tensor, layout: NetLayout) -> torch.Tensor:
    """(S, B, out): row s of ``flat`` applied to ``x[s]``; differentiable in ``flat``."""
    return _StackedMLP.apply(flat, x, layout)
