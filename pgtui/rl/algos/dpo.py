"""DPO (direct preference optimization) for S seeds at once: the policy learns from
labelled preference pairs of the reference policy's responses (the pairs the reward
model was fitted to), with no reward model and no sampling. Its implicit reward of a
response is beta log(pi(y|x) / pi_ref(y|x)), and its loss is the Bradley-Terry
negative log-likelihood of the labels under that reward:
-log sigmoid(beta [(log pi - log pi_ref)(chosen) - (log pi - log pi_ref)(rejected)]).
beta is the run's ``kl_coef``: the same leash the other methods hold the policy on.

A DPO step reads ``pairs_per_update`` pairs; its "env steps" are the tokens of the
responses it read, so a budget of steps buys it as many tokens as a sampling method
writes.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from ...config import Config
from ..floats import as_float
from ..networks import categorical_log_prob
from ..optim import descend
from ..rollout import Batch
from ..task import TaskHook
from .interface import Learner
from .samples import Stats, per_seed


def dpo_loss(chosen_log_ratio: torch.Tensor, rejected_log_ratio: torch.Tensor, beta: float
             ) -> torch.Tensor:
    """Per pair: -log sigmoid(beta (h_chosen - h_rejected)), h = log pi(y|x) - log pi_ref(y|x)."""
    return -F.logsigmoid(beta * (chosen_log_ratio - rejected_log_ratio))


class DPO(Learner):
    """``pairs_per_update`` labelled pairs per seed, drawn with the seed's own generator,
    one gradient step on them."""

    watched = ("policy_loss", "grad_norm")

    @classmethod
    def check(cls, config: Config, envs: gym.vector.VectorEnv, task: TaskHook) -> str | None:
        if task.preferences() is None:
            return "DPO learns from labelled preference pairs, and this env has none (try pgtui/Dialogue-v0)"
        if config.kl_coef <= 0:
            return "DPO's beta is kl_coef, and at 0 its loss is flat: set kl_coef > 0"
        return None

    def shaping(self) -> None:  # the KL to the reference is in its loss (beta)
        return None

    def task_figures(self, batch: Batch) -> Stats | None:  # the pairs are not the policy's samples
        return self.parts.task.measure(self.parts.nets, batch, sampled=False)

    def collect(self, config: Config, seeds: list[int]) -> Batch | None:
        """Each seed's pairs, chosen response's steps then the rejected one's: (2 L, S,
        pairs, ...)."""
        pairs, collector = self.parts.task.preferences(), self.parts.collector
        n = config.pairs_per_update
        runs = self.parts.runs
        draws = [pairs.take(torch.randint(len(pairs), (n,), generator=runs[i].cpu_generator).numpy())
                 for i in seeds]
        obs = np.stack([np.concatenate([d[0], d[2]], 1) for d in draws], 2)  # (pairs, 2L, S, d)
        actions = np.stack([np.concatenate([d[1], d[3]], 1) for d in draws], 2)
        device = self.parts.nets.rows.device
        obs = as_float(obs, device).movedim(0, 2)  # (2L, S, pairs, d)
        actions = torch.as_tensor(actions, device=device).movedim(0, 2)
        ones = torch.ones(actions.shape, dtype=torch.bool, device=device)
        zeros = torch.zeros(actions.shape, device=device)
        collector.read_offline(seeds, actions[:, 0].numel())
        return Batch(seeds, obs, actions, zeros, ~ones, ~ones, ones)

    def update(self, batch: Batch, config: Config) -> Stats:
        nets, beta = self.parts.nets, config.kl_coef
        T, S, N = batch.actions.shape
        obs = batch.obs.movedim(1, 0).reshape(S, T * N, -1)
        actions = batch.actions.movedim(1, 0).reshape(S, T * N)
        logp, entropy, _ = nets.evaluate(obs, actions, nets.select(batch.seeds), critic=False)
        ref_logp = categorical_log_prob(self.parts.task.reference_logits(obs), actions)
        # per pair, summed over each response's steps: (S, 2, pairs)
        log_ratio = (logp - ref_logp).view(S, 2, T // 2, N).sum(2)
        chosen, rejected = log_ratio[:, 0], log_ratio[:, 1]
        loss = dpo_loss(chosen, rejected, beta).mean(1)
        norms = descend(nets, self.parts.optimizer, loss, batch.seeds, config.max_grad_norm,
                        torch.ones(S, dtype=torch.bool, device=loss.device))
        chosen, rejected = beta * chosen.detach(), beta * rejected.detach()
        self.parts.collector.show(nets)  # no env stepped: the screen still sees the policy
        return per_seed(("policy_loss", "reward_chosen", "reward_rejected", "reward_margin",
                         "reward_accuracy", "entropy", "grad_norm"),
                        [loss.detach(), chosen.mean(1), rejected.mean(1), (chosen - rejected).mean(1),
                         (chosen > rejected).to(loss.dtype).mean(1), entropy.detach().mean(1),
                         norms[:, 0]])
