"""Flat parameters: the module keeps working, and an update through the flat tensors is
the same update as through the module's own tensors."""

import copy

import pytest
import torch
from torch import nn

from pgtui.rl.algorithms import _step
from pgtui.rl.flat import FlatOptimizer, flatten_parameters
from pgtui.rl.policies import GaussianActor


def _loss(actor: GaussianActor, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    logp, entropy = actor(obs, actions)
    return -(logp * torch.linspace(-1, 1, obs.shape[0])).mean() - 0.01 * entropy.mean()


def test_flat_tensor_holds_the_parameters_and_collects_their_gradients():
    torch.manual_seed(0)
    actor = GaussianActor(obs_dim=3, act_dim=2, hidden=[8], activation="tanh")
    before = [p.detach().clone() for p in actor.parameters()]
    flat = flatten_parameters(actor)
    assert flat.numel() == sum(p.numel() for p in before) == 3 * 8 + 8 + 8 * 2 + 2 + 2
    for p, old in zip(actor.parameters(), before, strict=True):
        torch.testing.assert_close(p.detach(), old)  # same values, now living in ``flat``
    with torch.no_grad():
        flat.add_(1.0)
    torch.testing.assert_close(actor.log_std.detach(), before[-1] + 1.0)

    obs, actions = torch.randn(20, 3), torch.randn(20, 2)
    _loss(actor, obs, actions).backward()
    assert flat.grad.abs().sum() > 0
    torch.testing.assert_close(flat.grad, torch.cat([p.grad.reshape(-1) for p in actor.parameters()]))


def test_a_step_on_the_flat_tensor_equals_torch_clip_and_adam_on_each_tensor():
    torch.manual_seed(1)
    actor = GaussianActor(obs_dim=3, act_dim=2, hidden=[8, 8], activation="relu")
    reference = copy.deepcopy(actor)
    flat_optimizer = FlatOptimizer([{"params": [flatten_parameters(actor)]}], lr=0.05, eps=1e-5)
    ref_optimizer = torch.optim.Adam(reference.parameters(), lr=0.05, eps=1e-5)
    for _ in range(5):
        obs, actions = torch.randn(32, 3) * 2, torch.randn(32, 2)
        norm = _step(flat_optimizer, _loss(actor, obs, actions), max_grad_norm=0.05)
        ref_optimizer.zero_grad()
        _loss(reference, obs, actions).backward()
        ref_norm = nn.utils.clip_grad_norm_(reference.parameters(), 0.05)
        ref_optimizer.step()
        assert abs(norm - float(ref_norm)) < 1e-5 * float(ref_norm)
        assert norm > 0.05  # the clip really acted
        for p, q in zip(actor.parameters(), reference.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_the_flat_optimizer_steps_as_torch_optim_does(kind):
    torch.manual_seed(2)
    start = [torch.randn(300), torch.randn(40)]
    mine = [nn.Parameter(t.clone()) for t in start]
    theirs = [nn.Parameter(t.clone()) for t in start]
    groups = lambda ps: [{"params": [ps[0]], "lr": 0.01}, {"params": [ps[1]], "lr": 0.1}]  # noqa: E731
    lean = FlatOptimizer(groups(mine), kind=kind, eps=1e-5)
    reference = (torch.optim.Adam(groups(theirs), eps=1e-5) if kind == "adam"
                 else torch.optim.SGD(groups(theirs)))
    for step in range(1, 8):
        for a, b in zip(mine, theirs, strict=True):
            a.grad = torch.randn_like(a) * step
            b.grad = a.grad.clone()
        lean.step()
        reference.step()
        for a, b in zip(mine, theirs, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    assert (mine[0] - start[0]).abs().min() > 0  # every element moved: the steps compared
    # the state has torch's layout: each side continues from the other's checkpoint
    reference.load_state_dict(lean.state_dict())
    lean.load_state_dict(reference.state_dict())
    assert lean.state_dict()["param_groups"][1]["lr"] == 0.1


def test_a_checkpoint_whose_optimizer_state_does_not_fit_is_refused():
    small = FlatOptimizer([{"params": [nn.Parameter(torch.zeros(3))]}])
    big = FlatOptimizer([{"params": [nn.Parameter(torch.zeros(5))]}])
    big.params[0].grad = torch.ones(5)
    big.step()
    with pytest.raises(ValueError, match="shape"):
        small.load_state_dict(big.state_dict())
