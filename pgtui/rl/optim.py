"""Adam (or plain SGD) over the seeds' rows, each seed with its own lr, steps and clipping.

``torch.optim`` steps parameters, not rows: it cannot leave one seed untouched while
the others step (a seed that stopped its epochs early, or whose gradient is not
finite), nor give each seed its own learning rate. This is ``torch.optim.Adam``'s
arithmetic (no weight decay; ``tests/test_optim.py`` compares the two step by step) on
(S, P) tensors, with a mask of the rows that step. Importing ``torch.optim`` would also
import ``torch._dynamo``, 1.4 s of every start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from ..config import Config
    from .networks import SeedNets

BETAS = (0.9, 0.999)


class RowOptimizer:
    """Steps ``rows`` (S, P) by their gradients ``grad`` (S, P).

    ``lr`` (S,) is each seed's learning rate, set between updates with ``set_lr``
    (annealing, live changes); ``column_scale`` (P,) multiplies it per parameter (the
    critic's columns learn at ``critic_lr_scale`` times the actor's). The columns from
    ``critic_from`` on are the critic's: it is clipped on a norm of its own.
    """

    def __init__(self, rows: torch.Tensor, grad: torch.Tensor, kind: str, lr: torch.Tensor,
                 column_scale: torch.Tensor, eps: float = 1e-5, critic_from: int | None = None
                 ) -> None:
        if kind not in ("adam", "sgd"):
            raise ValueError(f"unknown optimizer {kind!r}")
        self.rows, self.grad, self.kind, self.eps = rows, grad, kind, eps
        self.critic_from = rows.shape[1] if critic_from is None else critic_from
        self.column_scale = column_scale
        self.lr = lr.clone()
        self._lr_columns = lr.unsqueeze(1) * column_scale  # (S, P), kept with ``lr``
        self.exp_avg = torch.zeros_like(rows)
        self.exp_avg_sq = torch.zeros_like(self.exp_avg)
        self.steps = torch.zeros(rows.shape[0], device=rows.device)
        self._betas = torch.tensor(BETAS, device=rows.device)

    @classmethod
    def for_nets(cls, nets: SeedNets, config: Config) -> RowOptimizer:
        """``config``'s optimizer over every seed's row at its lr; the critic's columns
        at critic_lr_scale times it."""
        device = nets.rows.device
        scale = torch.cat([torch.ones(nets.actor_size),
                           torch.full((nets.rows.shape[1] - nets.actor_size,), config.critic_lr_scale)])
        lr = torch.full((nets.num_seeds,), config.lr, device=device)
        return cls(nets.rows, nets.grad, config.optimizer, lr, scale.to(device), critic_from=nets.actor_size)

    def set_lr(self, seed: int | slice, lr: float) -> None:
        """Seed ``seed``'s learning rate (a slice: several seeds')."""
        self.lr[seed] = lr
        self._lr_columns[seed] = lr * self.column_scale

    def clip(self, max_norm: float) -> torch.Tensor:
        """Scale each row's actor gradient and its critic gradient each to at most
        ``max_norm`` (0: leave them); returns their norms (S, 2) before clipping.

        They are separate networks: one norm over both would let a large value-loss
        gradient (returns in the hundreds) shrink the policy's step."""
        halves = (self.grad[:, :self.critic_from], self.grad[:, self.critic_from:])
        norms = torch.stack([torch.linalg.vector_norm(p, dim=1) for p in halves], 1)
        if max_norm > 0:
            scale = (max_norm / (norms + 1e-6)).clamp_(max=1.0)
            for j, half in enumerate(halves):
                half.mul_(scale[:, j:j + 1])
        return norms

    @torch.no_grad()
    def step(self, stepping: torch.Tensor) -> None:
        """One step of the rows where ``stepping`` (S,) is true; the others keep every bit
        of their weights and state."""
        # written without a branch on the mask's values, so torch.compile traces it whole
        # (sac.py's compiled gradient step); a row not stepping is put back bit for bit
        keep = ~stepping.unsqueeze(1)
        grad = self.grad
        if self.kind == "sgd":
            self.rows.copy_(torch.where(keep, self.rows, self.rows - grad * self._lr_columns))
            return
        self.steps += stepping
        beta1, beta2 = BETAS
        # each row's bias corrections (S, 1); a row that never stepped counts one step
        corrections = 1 - self._betas ** self.steps.clamp(min=1).unsqueeze(1)
        exp_avg = self.exp_avg.lerp(grad, 1 - beta1)
        exp_avg_sq = self.exp_avg_sq.mul(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = exp_avg_sq.sqrt().div_(corrections[:, 1:].sqrt()).add_(self.eps)
        rows = self.rows.addcdiv(exp_avg * (self._lr_columns / corrections[:, :1]), denom, value=-1.0)
        for state, new in ((self.rows, rows), (self.exp_avg, exp_avg), (self.exp_avg_sq, exp_avg_sq)):
            state.copy_(torch.where(keep, state, new))

    def snapshot(self) -> tuple[torch.Tensor, ...]:
        """A copy of every row's weights and state, for ``restore``."""
        return tuple(t.detach().clone() for t in (self.rows, self.exp_avg, self.exp_avg_sq,
                                                  self.steps))

    @torch.no_grad()
    def restore(self, seed: int, saved: tuple[torch.Tensor, ...]) -> None:
        """Seed ``seed``'s weights and state as they were in ``saved``."""
        for live, old in zip((self.rows, self.exp_avg, self.exp_avg_sq, self.steps), saved,
                             strict=True):
            live[seed] = old[seed]

    def state_dict(self, seed: int) -> dict[str, torch.Tensor]:
        return {"step": self.steps[seed].clone(), "exp_avg": self.exp_avg[seed].clone(),
                "exp_avg_sq": self.exp_avg_sq[seed].clone()}

    @torch.no_grad()
    def load_state_dict(self, seed: int, state: dict[str, torch.Tensor]) -> None:
        for key in ("exp_avg", "exp_avg_sq"):
            if state[key].shape != self.exp_avg[seed].shape:
                raise ValueError(f"optimizer state {key} has shape {tuple(state[key].shape)}, "
                                 f"this run {tuple(self.exp_avg[seed].shape)}")
        self.steps[seed] = state["step"].to(self.steps.device)
        self.exp_avg[seed] = state["exp_avg"].to(self.rows.device)
        self.exp_avg_sq[seed] = state["exp_avg_sq"].to(self.rows.device)


def descend(nets: SeedNets, optimizer: RowOptimizer, loss: torch.Tensor, seeds: list[int],
            max_grad_norm: float, stepping: torch.Tensor) -> torch.Tensor:
    """One optimizer step of the seeds ``seeds`` on their losses (S,); returns each one's
    actor and critic gradient norms before clipping (S, 2). A seed whose norms are not
    finite does not step (the trainer then reports the divergence); nor do those not
    ``stepping``."""
    nets.zero_grad()
    loss.sum().backward()
    return step_rows(optimizer, seeds, max_grad_norm, stepping)


def step_rows(optimizer: RowOptimizer, seeds: list[int], max_grad_norm: float,
              stepping: torch.Tensor) -> torch.Tensor:
    """``descend`` once the gradients are in ``optimizer.grad``: clip, and step the seeds
    ``seeds`` whose norms are finite and that are ``stepping``; their norms (S, 2)."""
    norms = optimizer.clip(max_grad_norm)
    if len(seeds) == len(norms):
        moving = stepping & torch.isfinite(norms).all(1)
    else:
        norms = norms[seeds]
        moving = torch.zeros(optimizer.rows.shape[0], dtype=torch.bool, device=norms.device)
        moving[seeds] = stepping & torch.isfinite(norms).all(1)
    optimizer.step(moving)
    return norms
