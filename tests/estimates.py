"""Many REINFORCE gradient estimates at a fixed policy, and whether their mean is a
given gradient: the check that an estimator is unbiased."""

import math

import torch

from pgtui.exercises.reinforce.exact import agreement
from pgtui.rl.algos.reinforce import episode_returns, reinforce_loss
from pgtui.rl.algos.samples import pack
from pgtui.rl.trainer import Trainer


def reinforce_estimates(trainer: Trainer, batches: int) -> torch.Tensor:
    """Each seed's estimate of the policy gradient on each of ``batches`` fresh batches
    (no step taken), (batches x S, P_actor)."""
    config, nets = trainer.config, trainer.nets
    seeds = list(range(nets.num_seeds))
    estimates = []
    for _ in range(batches):
        batch = trainer.collector.episodes(nets, config.episodes_per_update, seeds)
        samples = pack(batch, episode_returns(batch, config), batch.episode_ids)
        returns, ids = samples.targets
        loss, _ = reinforce_loss(nets, nets.select(seeds), samples, returns, ids,
                                 batch.num_episodes.to(returns.dtype), config)
        nets.zero_grad()
        loss.sum().backward()
        estimates.append(-nets.grad[:, :nets.actor_size].clone())  # the loss is minimised
    return torch.cat(estimates)


def assert_unbiased(estimates: torch.Tensor, exact: torch.Tensor) -> None:
    """The estimates' mean lies within 2 standard errors of ``exact`` (as a vector: the
    error's norm against the root of the summed variances over n; the grader's own
    statistic, ``exact.agreement``), and ``exact`` is long enough against that noise for a
    wrong gradient to fail."""
    found = agreement(estimates, exact)
    assert found.error_se < 2, found
    noise = math.sqrt(float(estimates.var(0).sum()) / len(estimates))
    assert float(exact.norm()) > 3 * noise
