"""REINFORCE, A2C and PPO for S seeds at once: each loss written once, differentiated by
autograd.

A batch holds the seeds that collected it (``Batch.seeds``); its valid steps are packed
to the front of one row per seed (``pack``), so every loss is a masked mean or sum
over the last axis and returns one value per seed. Summing them and calling
``backward`` gives each seed the gradient of its own loss: the seeds share no
parameter. A single run is S = 1 of the same code.

The live parameters are read from the config passed in on every call, so a change
submitted to the Trainer takes effect at the next update and never halfway through one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..config import Config
from . import diagnostics
from .networks import SeedNets
from .optim import RowOptimizer
from .returns import explained_variance, full_episode_returns, gae, masked_mean, normalize, reward_to_go
from .rollout import Batch

Stats = list[dict[str, float]]  # one dict per seed of the batch


@dataclass
class Samples:
    """Each seed's valid steps packed to the front of its row: (S, L, ...), ``mask`` (S, L)."""

    mask: torch.Tensor
    count: torch.Tensor  # (S,) valid steps per seed
    full: bool  # every seed has as many: the mask is all true
    obs: torch.Tensor
    actions: torch.Tensor
    targets: list[torch.Tensor]  # per-step figures packed alike (returns, advantages...)


def pack(batch: Batch, *per_step: torch.Tensor) -> Samples:
    """The valid steps of ``batch`` (T, S, N) per seed, in (t, env) order, with
    ``per_step`` tensors of the batch's shape packed the same way."""
    S = batch.valid.shape[1]
    valid = batch.valid.movedim(1, 0).reshape(S, -1)
    count = valid.sum(1)
    counts = count.tolist()
    width = max(counts)
    order = torch.argsort((~valid).to(torch.int8), dim=1, stable=True)[:, :width]
    mask = torch.arange(width, device=valid.device) < count.unsqueeze(1)

    def take(x: torch.Tensor) -> torch.Tensor:
        rows = x.movedim(1, 0).reshape(S, valid.shape[1], *x.shape[3:])
        index = order.view(S, width, *[1] * (rows.dim() - 2)).expand(S, width, *rows.shape[2:])
        return rows.gather(1, index)

    return Samples(mask, count, min(counts) == width, take(batch.obs), take(batch.actions),
                   [take(x) for x in per_step])


def _every(samples: Samples) -> torch.Tensor | None:
    """The mask of ``samples``, or None when it is all true (cheaper means)."""
    return None if samples.full else samples.mask


def _masked_sum(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.where(mask, x, torch.zeros((), device=x.device)).sum(-1)


def step(nets: SeedNets, optimizer: RowOptimizer, loss: torch.Tensor, seeds: list[int],
         max_grad_norm: float, stepping: torch.Tensor) -> torch.Tensor:
    """One optimizer step of the seeds ``seeds`` on their losses (S,); returns each one's
    actor and critic gradient norms before clipping (S, 2). A seed whose norms are not
    finite does not step (the trainer then reports the divergence); nor do those not
    ``stepping``."""
    nets.zero_grad()
    loss.sum().backward()
    norms = optimizer.clip(max_grad_norm)
    if len(seeds) == len(norms):
        moving = stepping & torch.isfinite(norms).all(1)
    else:
        norms = norms[seeds]
        moving = torch.zeros(optimizer.rows.shape[0], dtype=torch.bool, device=loss.device)
        moving[seeds] = stepping & torch.isfinite(norms).all(1)
    optimizer.step(moving)
    return norms


def _stats(keys: tuple[str, ...], columns: list[torch.Tensor]) -> Stats:
    """Per-seed dicts from (S,) tensors: one copy off the device."""
    return [dict(zip(keys, row, strict=True)) for row in torch.stack(columns, 1).tolist()]


# -- REINFORCE ---------------------------------------------------------------------------


def leave_one_out_mean(returns: torch.Tensor, episode_ids: torch.Tensor, mask: torch.Tensor,
                       num_episodes: int, groups: torch.Tensor | None = None) -> torch.Tensor:
    """Per step (S, L): the mean return over the seed's *other* episodes' steps; with
    ``groups`` (S, K), over the other episodes of the step's group where it has any
    (the other responses to the same prompt, as RLOO takes them).

    Excluding the step's own episode keeps the baseline independent of its actions, so
    the expected gradient is exactly unchanged (a plain batch mean biases it by 1/K).
    """
    S = returns.shape[0]
    ids = torch.where(mask, episode_ids, 0)
    flat = (ids + num_episodes * torch.arange(S, device=ids.device).unsqueeze(1)).reshape(-1)
    sums = returns.new_zeros(S * num_episodes).index_add_(
        0, flat, torch.where(mask, returns, 0.0).reshape(-1)).view(S, num_episodes)
    counts = returns.new_zeros(S * num_episodes).index_add_(
        0, flat, mask.reshape(-1).to(returns.dtype)).view(S, num_episodes)
    other_sum, other_count = sums.sum(1, keepdim=True) - sums, counts.sum(1, keepdim=True) - counts
    others = torch.where(other_count > 0, other_sum / other_count.clamp(min=1), 0.0)
    if groups is not None:
        group_sum = torch.zeros_like(sums).scatter_add_(1, groups, sums).gather(1, groups) - sums
        group_count = torch.zeros_like(counts).scatter_add_(1, groups, counts).gather(1, groups) - counts
        others = torch.where(group_count > 0, group_sum / group_count.clamp(min=1), others)
    return others.gather(1, ids)


def start_groups(obs: torch.Tensor, episode_ids: torch.Tensor, mask: torch.Tensor,
                 num_episodes: int) -> torch.Tensor:
    """(S, K): one number per distinct first observation of the seed's episodes, so
    episodes that began in the same state (the dialogue's responses to one prompt)
    share it. ``obs`` (S, L, d) and ``episode_ids`` (S, L) in step order."""
    S, L = episode_ids.shape
    ids = torch.where(mask, episode_ids, num_episodes)  # padding: a spare slot
    steps = torch.arange(L, device=ids.device).expand(S, L)
    first = torch.full((S, num_episodes + 1), L - 1, dtype=torch.long, device=ids.device)
    first = first.scatter_reduce(1, ids, steps, "amin")[:, :num_episodes]
    return torch.stack([torch.unique(obs[s, first[s]], dim=0, return_inverse=True)[1]
                        for s in range(S)])


def episode_score_terms(nets: SeedNets, params: list[torch.Tensor], samples: Samples,
                        episode_ids: torch.Tensor, num_episodes: int, returns: torch.Tensor
                        ) -> torch.Tensor:
    """Per episode of each seed (S, K, 2): (u . v, |v|^2), where v = sum_t grad log
    pi(a_t|s_t) and u = sum_t R_t grad log pi(a_t|s_t) is the episode's gradient with
    the returns R and no baseline, in the actor's parameters (zeros for an episode a
    seed does not have). One backward pass, both weightings as groups."""
    index, mask = diagnostics.episode_groups(episode_ids, samples.mask, num_episodes)
    S, K, W = index.shape
    if K == 0 or W == 0:
        return returns.new_zeros((S, num_episodes, 2))
    seed = torch.arange(S, device=index.device).view(S, 1, 1)
    obs, actions = samples.obs[seed, index], samples.actions[seed, index]
    ones = mask.to(obs.dtype)
    weighted = torch.where(mask, returns.detach()[seed, index], 0.0)
    grads = diagnostics.group_gradients(
        nets, [p.detach().repeat_interleave(2 * K, 0) for p in params],
        torch.cat([obs, obs], 1).flatten(0, 1), torch.cat([actions, actions], 1).flatten(0, 1),
        torch.cat([ones, weighted], 1).flatten(0, 1)).view(S, 2 * K, -1)
    v, u = grads[:, :K], grads[:, K:]
    return torch.stack([(u * v).sum(-1), v.square().sum(-1)], -1)


def optimal_baseline(episode_ids: torch.Tensor, mask: torch.Tensor, terms: torch.Tensor
                     ) -> torch.Tensor:
    """Per step (S, L): the constant b minimizing E|sum_t (R_t - b) grad log pi_t|^2, the
    trace of the estimator's covariance: b* = E[u . v] / E[|v|^2] (``episode_score_terms``;
    with the whole return on every step, E[|v|^2 G] / E[|v|^2]), estimated from the
    seed's *other* episodes so that it stays independent of the step's own actions."""
    ids = torch.where(mask, episode_ids, 0)
    uv, vv = terms[..., 0], terms[..., 1]
    other_uv, other_vv = uv.sum(1, keepdim=True) - uv, vv.sum(1, keepdim=True) - vv
    b = torch.where(other_vv > 0, other_uv / other_vv.clamp(min=1e-30), 0.0)
    return b.gather(1, ids)


ScoreTerms = Callable[[torch.Tensor], torch.Tensor]  # returns -> episode_score_terms of them


def reinforce_advantages(returns: torch.Tensor, values: torch.Tensor, samples: Samples,
                         episode_ids: torch.Tensor, num_episodes: int, config: Config,
                         score_terms: ScoreTerms | None = None) -> torch.Tensor:
    """The weight of each step's grad log pi under the config's baseline (S, L);
    ``score_terms`` gives what the optimal baseline needs (``episode_score_terms``)."""
    if config.baseline == "optimal":
        if score_terms is None:
            raise ValueError("the optimal baseline needs the episodes' score terms")
        advantages = returns - optimal_baseline(episode_ids, samples.mask, score_terms(returns))
    elif config.baseline == "value":
        advantages = returns - values
    elif config.baseline == "mean":
        groups = start_groups(samples.obs, episode_ids, samples.mask, num_episodes)
        advantages = returns - leave_one_out_mean(returns, episode_ids, samples.mask, num_episodes,
                                                  groups)
    else:
        advantages = returns
    return normalize(advantages, _every(samples)) if config.normalize_advantage else advantages


def episode_returns(batch: Batch, config: Config) -> torch.Tensor:
    """Reward-to-go or the whole episode's return, per step (T, S, N)."""
    if config.return_mode == "full":
        return full_episode_returns(batch.rewards, batch.dones, config.gamma)
    return reward_to_go(batch.rewards, batch.dones, config.gamma)


def _score_terms(nets: SeedNets, params: list[torch.Tensor], samples: Samples,
                 episode_ids: torch.Tensor, num_episodes: int) -> ScoreTerms:
    """``episode_score_terms`` of this batch for any returns, computed only if asked."""
    return lambda returns: episode_score_terms(nets, params, samples, episode_ids, num_episodes,
                                               returns)


def reinforce_loss(nets: SeedNets, params: list[torch.Tensor], samples: Samples, returns: torch.Tensor,
                   episode_ids: torch.Tensor, num_episodes: torch.Tensor, config: Config,
                   score_terms: ScoreTerms | None = None
                   ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Per seed: 1/K sum_k sum_t [-A_t log pi(a_t|s_t) - ent_coef * H(pi(.|s_t))]
    + vf_coef * value loss.

    Each step's entropy is weighed as its policy term is (summed over the episode,
    averaged over the K episodes), so ``ent_coef`` pulls as hard against the policy
    gradient here as in A2C and PPO, where both are per-step means.
    Returns (loss (S,), parts); the parts hold the policy loss, value loss and the
    per-step mean entropy (S,) and the advantages (S, L) the gradient diagnostics weigh
    the steps by.
    """
    logp, entropy, values = nets.evaluate(samples.obs, samples.actions, params)
    if score_terms is None:
        score_terms = _score_terms(nets, params, samples, episode_ids, int(num_episodes.max()))
    adv = reinforce_advantages(returns, values.detach(), samples, episode_ids,
                               int(num_episodes.max()), config, score_terms)
    mask = _every(samples)
    episodes = num_episodes.clamp(min=1)
    policy_loss = -_masked_sum(logp * adv, samples.mask) / episodes
    value_loss = 0.5 * masked_mean((values - returns).square(), mask)
    entropy_mean = masked_mean(entropy, mask)
    entropy_bonus = _masked_sum(entropy, samples.mask) / episodes
    loss = policy_loss - config.ent_coef * entropy_bonus + config.vf_coef * value_loss
    return loss, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy_mean,
                  "adv": adv.detach(), "values": values.detach(), "logp": logp}


def _against_truth(nets: SeedNets, params: list[torch.Tensor], logp: torch.Tensor,
                   mask: torch.Tensor, num_episodes: torch.Tensor,
                   weights: dict[str, torch.Tensor | None], true_grad: torch.Tensor) -> Stats:
    """Per seed, each estimate 1/K sum_k sum_t w_t grad log pi(a_t|s_t) (one per set of
    ``weights``, named by suffix) against ``true_grad``: ``true_grad_cosine<suffix>`` and
    ``true_grad_mse<suffix>`` (the mean over parameters of the squared error)."""
    actor = params[:len(nets.actor.shapes)]
    out: Stats = [{} for _ in range(true_grad.shape[0])]
    for suffix, w in weights.items():
        if w is None:
            continue
        objective = _masked_sum(logp * w.detach(), mask) / num_episodes.clamp(min=1)
        grads = torch.autograd.grad(objective.sum(), actor, retain_graph=True)
        estimate = nets.as_rows(list(grads))
        cosine = torch.nn.functional.cosine_similarity(estimate, true_grad, dim=1)
        mse = (estimate - true_grad).square().mean(1)
        for o, c, m in zip(out, cosine.tolist(), mse.tolist(), strict=True):
            o[f"true_grad_cosine{suffix}"], o[f"true_grad_mse{suffix}"] = c, m
    return out


def reinforce_update(nets: SeedNets, optimizer: RowOptimizer, batch: Batch, config: Config,
                     diagnose: bool, reference: Config | None = None,
                     true_grad: torch.Tensor | None = None) -> Stats:
    """One gradient step per seed on its K complete episodes.

    With ``reference`` (a config that differs in baseline, return mode or normalization)
    the diagnostics also measure that estimator on the same batch as ``grad_var_ref``:
    a paired comparison at the same policy, which a whole-run average is not.
    """
    params = nets.select(batch.seeds)
    samples = pack(batch, episode_returns(batch, config), batch.episode_ids)
    returns, episode_ids = samples.targets
    num_episodes = batch.num_episodes.to(returns.dtype)
    terms = _score_terms(nets, params, samples, episode_ids, int(num_episodes.max()))
    loss, parts = reinforce_loss(nets, params, samples, returns, episode_ids, num_episodes, config,
                                 terms)
    noise: Stats = [{} for _ in batch.seeds]
    width = int(num_episodes.max())
    ref_adv = None
    if reference is not None and (diagnose or true_grad is not None):
        ref_returns = pack(batch, episode_returns(batch, reference)).targets[0]
        ref_adv = reinforce_advantages(ref_returns, parts["values"], samples, episode_ids,
                                       width, reference, terms)
    if diagnose:
        index, mask = diagnostics.episode_groups(episode_ids, samples.mask, width)
        term = None
        if config.baseline != "none":  # the baseline's own term: with it minus without
            without = reinforce_advantages(returns, parts["values"], samples, episode_ids, width,
                                           dataclasses.replace(config, baseline="none"))
            term = parts["adv"] - without
        noise = diagnostics.measure(nets, params, samples, parts["adv"], index, mask, ref_adv, term)
    if true_grad is not None:  # the estimates against the true gradient, on this batch
        noise = [{**n, **t} for n, t in zip(noise, _against_truth(
            nets, params, parts["logp"], samples.mask, num_episodes,
            {"": parts["adv"], "_ref": ref_adv}, true_grad), strict=True)]
    norms = step(nets, optimizer, loss, batch.seeds, config.max_grad_norm, samples.count > 0)
    stats = _stats(("policy_loss", "value_loss", "entropy", "loss", "grad_norm",
                    "critic_grad_norm", "explained_variance"),
                   [parts["policy_loss"], parts["value_loss"], parts["entropy"], loss, *norms.T,
                    explained_variance(parts["values"], returns, samples.mask)])
    return [{**s, **n} for s, n in zip(stats, noise, strict=True)]


# -- A2C and PPO -------------------------------------------------------------------------


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
        adv = normalize(adv, _every(samples))
    size = mask[:, 0].sum(-1, keepdim=True).clamp(min=1)  # each group's share: 1 / its size
    return diagnostics.measure(nets, params, samples, adv / size, index, mask)


def actor_critic_loss(logp: torch.Tensor, entropy: torch.Tensor, values: torch.Tensor,
                      adv: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor | None,
                      config: Config, old_logp: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, log-ratio, [policy loss, value loss, entropy]) per seed: A2C's
    -mean(A log pi), or with ``old_logp`` PPO's clipped surrogate
    -mean(min(r A, clip(r, 1 - eps, 1 + eps) A)), r = pi / pi_old; each plus
    vf_coef * 0.5 * mean((V - target)^2) - ent_coef * mean(H). Means over ``mask``
    (None: every sample)."""
    if mask is None:
        mean = lambda x: x.mean(-1)  # noqa: E731
    else:
        weight = mask.to(logp.dtype)
        count = weight.sum(-1)
        mean = lambda x: (x * weight).sum(-1) / count  # noqa: E731
    if old_logp is None:
        log_ratio = torch.zeros_like(logp)
        policy_loss = -mean(logp * adv)
    else:
        log_ratio = logp - old_logp
        ratio = log_ratio.exp()
        clipped = ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef)
        policy_loss = -mean(torch.min(ratio * adv, clipped * adv))
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
        adv = normalize(adv, _every(samples))
    logp, entropy, values = nets.evaluate(samples.obs, samples.actions, params)
    loss, _, parts = actor_critic_loss(logp, entropy, values, adv, returns, _every(samples), config)
    norms = step(nets, optimizer, loss, batch.seeds, config.max_grad_norm, samples.count > 0)
    stats = _stats(("policy_loss", "value_loss", "entropy", "loss", "grad_norm",
                    "critic_grad_norm", "explained_variance"),
                   [*parts.detach().T, loss.detach(), *norms.T,
                    explained_variance(old_values, returns, samples.mask)])
    return [{**s, **n} for s, n in zip(stats, noise, strict=True)]


def approx_kl(log_ratio: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """KL(old || new) per seed from samples of the old policy: the k3 estimator, >= 0."""
    return masked_mean((log_ratio.exp() - 1) - log_ratio, mask)


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
            loss, log_ratio, parts = actor_critic_loss(logp, entropy, values, adv, ret, every,
                                                       config, old)
            norms = step(nets, optimizer, loss, batch.seeds, config.max_grad_norm, stepping)
            records.append((parts.detach(), log_ratio.detach(), mb_mask, norms, stepping, epoch))
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
    parts, log_ratio, mask, norms, took = (torch.stack(x) for x in tensors)
    epoch = torch.tensor(epochs, device=took.device).unsqueeze(1)  # (steps, 1)
    steps = took.sum(0)
    losses = torch.where(took.unsqueeze(-1), parts, 0.0).sum(0) / steps.unsqueeze(-1)
    seen = mask.sum((0, 2))
    ratio = log_ratio.exp()
    last_epoch = torch.where(took, epoch, -1).max(0).values  # (S,)
    in_last = mask & (epoch == last_epoch).unsqueeze(-1)
    kl = torch.where(in_last, (ratio - 1) - log_ratio, 0.0).sum((0, 2)) / in_last.sum((0, 2))
    clipfrac = (((ratio - 1).abs() > clip_coef) & mask).sum((0, 2)) / seen
    return _stats(("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac", "grad_norm",
                   "critic_grad_norm", "explained_variance", "early_stop"),
                  [*losses.T, kl, clipfrac,
                   *(torch.where(took.unsqueeze(-1), norms, 0.0).sum(0) / steps.unsqueeze(-1)).T,
                   explained_variance(old_values, returns, samples.mask),
                   1.0 - torch.tensor(running, dtype=torch.float32, device=norms.device)])
