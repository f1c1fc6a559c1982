"""A2C and PPO for S seeds at once: n-step rollouts with GAE advantages, one loss
written once (``actor_critic_loss``) and differentiated by autograd; A2C takes one
step on the rollout, PPO clipped-surrogate epochs over each seed's own minibatches.

The live settings are read from the config passed in on every call, so a change takes
effect at the next update and never halfway through one.
"""

from __future__ import annotations

import torch

from ...config import Config
from ..networks import SeedNets
from ..optim import RowOptimizer, descend
from ..rollout import Batch
from . import diagnostics
from .interface import Learner
from .returns import explained_variance, gae, masked_mean, normalize
from .samples import Samples, Stats, mask_or_none, pack, per_seed


def rollout_samples(batch: Batch, config: Config) -> Samples:
    """An n-step rollout's valid steps with targets [GAE advantages, value targets,
    V(s) at collection]: what A2C and PPO learn from."""
    advantages, returns = gae(batch.rewards, batch.values, batch.next_values, batch.terminated,
                              batch.dones, config.gamma, config.gae_lambda)
    return pack(batch, advantages, returns, batch.values)


def rollout_noise(nets: SeedNets, params: list[torch.Tensor], samples: Samples, config: Config,
                  generators: list[torch.Generator | None]) -> Stats:
    """A2C's and PPO's gradient diagnostics: random slices of each seed's rollout,
    weighted by the advantages as the update sees them; {} for the seeds whose generator
    is None (not this update).

    A2C normalizes the advantages over the whole rollout, and so do its groups; PPO
    normalizes each minibatch's, and each group is normalized on its own: its gradient
    is the policy term's gradient PPO's first step would take on that slice.
    """
    if all(g is None for g in generators):
        return [{} for _ in generators]
    adv = samples.targets[0]
    index, mask = diagnostics.random_groups(samples.count, generators)
    if config.normalize_advantage and config.algo == "ppo":
        seed = torch.arange(len(generators), device=adv.device).view(-1, 1, 1).expand_as(index)
        grouped = normalize(adv[seed, index], mask)
        adv = torch.zeros_like(adv)
        adv[seed[mask], index[mask]] = grouped[mask]  # the groups are disjoint
    elif config.normalize_advantage:
        adv = normalize(adv, mask_or_none(samples))
    size = mask[:, 0].sum(-1, keepdim=True).clamp(min=1)  # each group's share: 1 / its size
    return diagnostics.measure(nets, params, samples, adv / size, index, mask)


def clipped_surrogate(log_ratio: torch.Tensor, adv: torch.Tensor, clip_coef: float) -> torch.Tensor:
    """Per sample, PPO's (and GRPO's) min(r A, clip(r, 1 - eps, 1 + eps) A), r = pi / pi_old."""
    ratio = log_ratio.exp()
    return torch.min(ratio * adv, ratio.clamp(1 - clip_coef, 1 + clip_coef) * adv)


def actor_critic_loss(logp: torch.Tensor, entropy: torch.Tensor, values: torch.Tensor,
                      adv: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor | None,
                      config: Config, old_logp: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, log-ratio, [policy loss, value loss, entropy]) per seed: A2C's
    -mean(A log pi), or with ``old_logp`` PPO's clipped surrogate
    -mean(min(r A, clip(r, 1 - eps, 1 + eps) A)), r = pi / pi_old; each plus
    vf_coef * 0.5 * mean((V - target)^2) - ent_coef * mean(H). Means over ``mask``
    (None: every sample)."""
    def mean(x: torch.Tensor) -> torch.Tensor:
        return masked_mean(x, mask)

    if old_logp is None:
        log_ratio = torch.zeros_like(logp)
        policy_loss = -mean(logp * adv)
    else:
        log_ratio = logp - old_logp
        policy_loss = -mean(clipped_surrogate(log_ratio, adv, config.clip_coef))
    value_loss = 0.5 * mean((values - returns).square())
    entropy_mean = mean(entropy)
    loss = policy_loss + config.vf_coef * value_loss
    if config.ent_coef:  # without a bonus the backward pass skips the entropy's graph
        loss = loss - config.ent_coef * entropy_mean
    return loss, log_ratio, torch.stack([policy_loss, value_loss, entropy_mean], 1)


def a2c_update(nets: SeedNets, optimizer: RowOptimizer, batch: Batch, config: Config,
               diagnose: list[torch.Generator | None]) -> Stats:
    """One gradient step per seed on its n-step rollout with GAE advantages.

    ``diagnose``: per seed, the generator that draws the diagnostics' random groups, or
    None to skip them (a generator of its own, so measuring never changes what is learned).
    """
    params = nets.select(batch.seeds)
    samples = rollout_samples(batch, config)
    adv, returns, old_values = samples.targets
    noise = rollout_noise(nets, params, samples, config, diagnose)
    if config.normalize_advantage:
        adv = normalize(adv, mask_or_none(samples))
    logp, entropy, values = nets.evaluate(samples.obs, samples.actions, params)
    loss, _, terms = actor_critic_loss(logp, entropy, values, adv, returns, mask_or_none(samples), config)
    norms = descend(nets, optimizer, loss, batch.seeds, config.max_grad_norm, samples.count > 0)
    stats = per_seed(("policy_loss", "value_loss", "entropy", "loss", "grad_norm",
                    "critic_grad_norm", "explained_variance"),
                   [*terms.detach().T, loss.detach(), *norms.T,
                    explained_variance(old_values, returns, samples.mask)])
    return [{**s, **n} for s, n in zip(stats, noise, strict=True)]


def k3(log_ratio: torch.Tensor) -> torch.Tensor:
    """The k3 estimator of KL(p || q) from samples of p, per sample: (r - 1) - log r with
    r = q / p; unbiased and never negative."""
    return (log_ratio.exp() - 1) - log_ratio


def approx_kl(log_ratio: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """KL(old || new) per seed from samples of the old policy (``log_ratio`` = log new -
    log old): k3's mean."""
    return masked_mean(k3(log_ratio), mask)


def minibatch_split(n: int, num_minibatches: int) -> tuple[int, int]:
    """(minibatch size, number of minibatches) for ``n`` samples: a remainder is left
    out, so a small rollout may give more minibatches than asked for (5 of 3 for 15 in 4)."""
    size = max(n // num_minibatches, 1)
    return size, len(range(0, n - size + 1, size))


def _minibatch_index(counts: list[int], config: Config, drawing: list[bool],
                     generators: list[torch.Generator], device: torch.device
                     ) -> tuple[torch.Tensor, torch.Tensor, list[bool]]:
    """One epoch's minibatches of every seed, (S, J, W) positions and mask, and for
    each minibatch whether its mask is all true: seed s's own shuffle cut into its own
    minibatches. Seeds not ``drawing`` (they stopped early) draw nothing."""
    splits = [minibatch_split(n, config.num_minibatches) for n in counts]
    width, num = max(s for s, _ in splits), max(j for _, j in splits)
    index = torch.zeros(len(counts), num, width, dtype=torch.long)
    mask = torch.zeros(len(counts), num, width, dtype=torch.bool)
    for s, ((size, j), n) in enumerate(zip(splits, counts, strict=True)):
        if drawing[s] and j > 0:
            perm = torch.randperm(n, generator=generators[s])
            index[s, :j, :size] = perm[:size * j].view(j, size)
            mask[s, :j, :size] = True
    full = mask.all(2).all(0).tolist()
    return index.to(device), mask.to(device), full


def ppo_update(nets: SeedNets, optimizer: RowOptimizer, batch: Batch, config: Config,
               diagnose: list[torch.Generator | None], generators: list[torch.Generator]) -> Stats:
    """Clipped-surrogate epochs over each seed's minibatches of one rollout.

    ``generators`` shuffle each seed's minibatches; ``diagnose`` is as in ``a2c_update``.
    With ``target_kl``, a seed whose approx_kl on its epoch's last minibatch exceeds it
    stops there; the others go on.
    """
    params = nets.select(batch.seeds)
    samples = rollout_samples(batch, config)
    adv_all, returns, old_values = samples.targets
    with torch.no_grad():
        old_logp, _, _ = nets.evaluate(samples.obs, samples.actions, params, critic=False)
    noise = rollout_noise(nets, params, samples, config, diagnose)
    S, device = len(batch.seeds), samples.mask.device
    seed_index = torch.arange(S, device=device).unsqueeze(1)
    # one table of each sample's figures, so a minibatch is one gather (discrete actions
    # ride along as floats: small integers, exact)
    action_columns = samples.actions.unsqueeze(-1) if nets.discrete else samples.actions
    columns = [samples.obs.shape[-1], action_columns.shape[-1], 1, 1, 1]
    table = torch.cat([samples.obs, action_columns.to(samples.obs.dtype), adv_all.unsqueeze(-1),
                       returns.unsqueeze(-1), old_logp.unsqueeze(-1)], -1)
    counts = samples.count.tolist()
    running = [n > 0 for n in counts]  # still in their epochs
    last = [minibatch_split(n, config.num_minibatches)[1] - 1 for n in counts]
    records = []  # per minibatch step: [policy, value, entropy] (S, 3), log-ratio, mask, norms,
    # took (S,), and the epoch as an int
    for epoch in range(config.update_epochs):
        index, mask, full = _minibatch_index(counts, config, running, generators, device)
        for j in range(index.shape[1]):
            mb_mask = mask[:, j]
            stepping = mb_mask.any(1)
            every = None if full[j] else mb_mask  # None: cheaper means
            obs, actions, adv, ret, old = table[seed_index, index[:, j]].split(columns, -1)
            actions, adv, ret, old = (actions.squeeze(-1) if nets.discrete else actions,
                                      adv.squeeze(-1), ret.squeeze(-1), old.squeeze(-1))
            if config.normalize_advantage:
                adv = normalize(adv, every)
            # selected again: a subset is a copy, and the last step moved them
            logp, entropy, values = nets.evaluate(obs, actions, nets.select(batch.seeds))
            loss, log_ratio, terms = actor_critic_loss(logp, entropy, values, adv, ret, every,
                                                       config, old)
            norms = descend(nets, optimizer, loss, batch.seeds, config.max_grad_norm, stepping)
            records.append((terms.detach(), log_ratio.detach(), mb_mask, norms, stepping, epoch))
        if config.target_kl > 0:  # each seed's approx_kl on its epoch's last minibatch
            epoch = records[-index.shape[1]:]
            kl = torch.stack([approx_kl(epoch[j][1][s], epoch[j][2][s]) for s, j in enumerate(last)])
            stop = (kl > config.target_kl).tolist()
            running = [r and not s for r, s in zip(running, stop, strict=True)]
            if not any(running):
                break
    return [{**s, **n} for s, n in zip(_ppo_stats(records, running, old_values, returns, samples,
                                                  config.clip_coef), noise, strict=True)]


def _ppo_stats(records: list, running: list[bool], old_values: torch.Tensor,
               returns: torch.Tensor, samples: Samples, clip_coef: float) -> Stats:
    """Each seed's means over the minibatch steps it took: losses and grad norms per
    step, clipfrac over every sample, and approx_kl over the samples of its last epoch
    (the first epoch's first minibatch is 0 by construction, and the last epoch says
    how far the update went); nan for a seed that took no step."""
    *tensors, epochs = zip(*records, strict=True)
    terms, log_ratio, mask, norms, took = (torch.stack(x) for x in tensors)
    epoch = torch.tensor(epochs, device=took.device).unsqueeze(1)  # (steps, 1)
    steps = took.sum(0)
    losses = torch.where(took.unsqueeze(-1), terms, 0.0).sum(0) / steps.unsqueeze(-1)
    seen = mask.sum((0, 2))
    ratio = log_ratio.exp()
    last_epoch = torch.where(took, epoch, -1).max(0).values  # (S,)
    in_last = mask & (epoch == last_epoch).unsqueeze(-1)
    kl = torch.where(in_last, k3(log_ratio), 0.0).sum((0, 2)) / in_last.sum((0, 2))
    clipfrac = (((ratio - 1).abs() > clip_coef) & mask).sum((0, 2)) / seen
    return per_seed(("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac", "grad_norm",
                   "critic_grad_norm", "explained_variance", "early_stop"),
                  [*losses.T, kl, clipfrac,
                   *(torch.where(took.unsqueeze(-1), norms, 0.0).sum(0) / steps.unsqueeze(-1)).T,
                   explained_variance(old_values, returns, samples.mask),
                   1.0 - torch.tensor(running, dtype=norms.dtype, device=norms.device)])


class A2C(Learner):
    """``num_steps`` steps of every env, one gradient step per seed."""

    def collect(self, config: Config, seeds: list[int]) -> Batch | None:
        return self.parts.collector.steps(self.parts.nets, config.num_steps, seeds)

    def update(self, batch: Batch, config: Config) -> Stats:
        return a2c_update(self.parts.nets, self.parts.optimizer, batch, config,
                          self.parts.diagnosing(batch.seeds))


class PPO(A2C):
    """A2C's rollouts, learned from in clipped-surrogate epochs over minibatches that
    each seed shuffles with its own generator."""

    def update(self, batch: Batch, config: Config) -> Stats:
        return ppo_update(self.parts.nets, self.parts.optimizer, batch, config,
                          self.parts.diagnosing(batch.seeds),
                          [self.parts.runs[i].cpu_generator for i in batch.seeds])
