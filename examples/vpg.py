"""A vanilla policy gradient, written the way the course asks you to write it.

pgtui collects whole episodes and keeps the weights; this file turns the episodes into a
loss. Train it, race it, watch it:

    pgtui train --preset examples/vpg.toml --until-solved
    pgtui compare --preset examples/vpg-vs-reinforce.toml
    pgtui --preset examples/vpg.toml
"""

import torch
from torch.distributions import Categorical

from pgtui.rl.algos.interface import AlgoSpec, Batch, Config, Learner, Stats
from pgtui.rl.stats import ENTROPY, GRAD_NORM, POLICY_LOSS


class VPG(Learner):
    """Vanilla policy gradient: reward-to-go, standardized, one step per batch of episodes."""

    spec = AlgoSpec("vpg", "VPG", "vanilla policy gradient, from examples/vpg.py",
                    settings=("episodes_per_update",), stats=(POLICY_LOSS, ENTROPY, GRAD_NORM),
                    gradient_noise=False,
                    placeholders=("policy_loss",), knobs="lr {lr:g} · {episodes_per_update} episodes")

    @classmethod
    def check(cls, config, envs, task):
        if not hasattr(envs.single_action_space, "n"):
            return "this VPG's policy is a Categorical: it acts in discrete action spaces only"
        return None

    def collect(self, config: Config, seeds: list[int]) -> Batch | None:
        # each seed's envs run until it has episodes_per_update whole episodes
        return self.parts.collector.episodes(self.parts.nets, config.episodes_per_update, seeds)

    def update(self, batch: Batch, config: Config) -> Stats:
        # batch tensors are time-major (T, S, N): steps x seeds x envs
        returns = torch.zeros_like(batch.rewards)
        future = torch.zeros_like(batch.rewards[0])
        for t in reversed(range(len(batch.rewards))):  # G_t = r_t + gamma G_{t+1}, per episode
            future = batch.rewards[t] + config.gamma * future * ~batch.dones[t]
            returns[t] = future

        # standardize each seed's returns over its real steps: a baseline, and a scale
        real = batch.valid.to(returns.dtype)
        steps = real.sum((0, 2), keepdim=True)
        mean = (returns * real).sum((0, 2), keepdim=True) / steps
        std = (((returns - mean) * real).square().sum((0, 2), keepdim=True) / steps).sqrt()
        weights = (returns - mean) / (std + 1e-8) * real

        # one row of weights per seed: the policy's logits at every step of its episodes
        def per_seed(x: torch.Tensor) -> torch.Tensor:  # (T, S, N, ...) -> (S, T N, ...)
            return x.transpose(0, 1).flatten(1, 2)

        nets = self.parts.nets
        pi = Categorical(logits=nets.head(per_seed(batch.obs), nets.select(batch.seeds)))
        log_prob = pi.log_prob(per_seed(batch.actions))
        # the gradient of this is the policy gradient: 1/K sum_k sum_t A_t grad log pi(a_t|s_t)
        loss = -(log_prob * per_seed(weights)).sum(1) / batch.num_episodes
        grad_norm = self.descend(loss, batch.seeds)
        entropy = (pi.entropy() * per_seed(real)).sum(1) / per_seed(real).sum(1)
        figures = torch.stack([loss, entropy, grad_norm], 1).detach().tolist()
        return [dict(zip(("policy_loss", "entropy", "grad_norm"), row, strict=True)) for row in figures]
