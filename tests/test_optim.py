"""The optimizer over the seeds' rows: torch.optim's arithmetic per row, rows that do not
step untouched, each row clipped on its own norm."""

import pytest
import torch

from pgtui.rl.optim import RowOptimizer

pytestmark = pytest.mark.numerics


@pytest.mark.usefixtures("in_float64")  # two implementations of one arithmetic
@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_each_row_steps_as_torch_optim_steps_its_own_parameter(kind):
    torch.manual_seed(0)
    rows, grad = torch.randn(3, 40), torch.zeros(3, 40)
    lrs = torch.tensor([0.1, 0.01, 0.05])
    scale = torch.cat([torch.ones(30), torch.full((10,), 3.0)])  # a critic's columns at 3x
    opt = RowOptimizer(rows, grad, kind, lrs, scale)
    before = rows.clone()
    reference = [[torch.nn.Parameter(r[:30].clone()), torch.nn.Parameter(r[30:].clone())]
                 for r in rows]
    make = torch.optim.Adam if kind == "adam" else torch.optim.SGD
    extra = {"eps": 1e-5} if kind == "adam" else {}
    theirs = [make([{"params": [a], "lr": float(lr)}, {"params": [c], "lr": float(lr) * 3}], **extra)
              for (a, c), lr in zip(reference, lrs, strict=True)]
    stepping = torch.tensor([True, False, True])
    for _ in range(5):
        g = torch.randn(3, 40)
        grad.copy_(g)
        opt.step(stepping)
        for i in (0, 2):
            reference[i][0].grad, reference[i][1].grad = g[i, :30].clone(), g[i, 30:].clone()
            theirs[i].step()
            torch.testing.assert_close(rows[i], torch.cat([p.data for p in reference[i]]))
    assert torch.equal(rows[1], before[1])  # never stepped: as it started
    if kind == "adam":
        assert opt.steps.tolist() == [5.0, 0.0, 5.0] and not opt.exp_avg[1].any()


def test_each_row_is_clipped_on_its_own_norm():
    rows, grad = torch.zeros(2, 4), torch.tensor([[3.0, 4.0, 0.0, 0.0], [0.3, 0.4, 0.0, 0.0]])
    opt = RowOptimizer(rows, grad, "sgd", torch.ones(2), torch.ones(4))
    norms = opt.clip(1.0)
    assert norms[:, 0].tolist() == pytest.approx([5.0, 0.5])
    assert grad[0].tolist() == pytest.approx([0.6, 0.8, 0.0, 0.0], abs=1e-6)  # clipped to 1
    assert grad[1].tolist() == pytest.approx([0.3, 0.4, 0.0, 0.0])  # under the bound: as it was


def test_a_large_critic_gradient_does_not_shrink_the_actors_step():
    """Columns 0-1 the actor's, 2-3 the critic's: each part is clipped on its own norm."""
    rows = torch.zeros(1, 4)
    grad = torch.tensor([[0.3, 0.4, 60.0, 80.0]])
    opt = RowOptimizer(rows, grad, "sgd", torch.ones(1), torch.ones(4), critic_from=2)
    norms = opt.clip(0.5)
    assert norms.tolist() == [pytest.approx([0.5, 100.0])]
    assert grad[0, :2].tolist() == pytest.approx([0.3, 0.4], rel=1e-5)  # at the bound: as it was
    assert grad[0, 2:].tolist() == pytest.approx([0.3, 0.4], rel=1e-5)  # 100 -> 0.5


def test_a_restored_row_gets_its_weights_and_state_back():
    rows, grad = torch.randn(2, 6), torch.randn(2, 6)
    opt = RowOptimizer(rows, grad, "adam", torch.full((2,), 0.1), torch.ones(6))
    saved = opt.snapshot()
    opt.step(torch.tensor([True, True]))
    moved = rows[1].clone()
    opt.restore(0, saved)
    assert torch.equal(rows[0], saved[0][0]) and opt.steps.tolist() == [0.0, 1.0]
    assert not opt.exp_avg[0].any() and torch.equal(rows[1], moved)
