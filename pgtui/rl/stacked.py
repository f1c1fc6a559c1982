"""PPO, A2C and REINFORCE updates for several seeds at once: one stacked network, one
backward pass, one Adam step.

A race's seeds of one variant share every shape and setting but the seed. Each seed's
actor and critic already live in one flat tensor each (``flat.py``); here they sit side
by side as a row of one (S, P) tensor (``stacked_rows.py``), so a minibatch step for S
seeds is one forward and one backward pass of a stacked MLP per module (one ``bmm`` per
layer and direction) and one Adam step. Every step writes its gradients out by hand
(``policies.head_gradient``, ``stacked_mlp.mlp_backward``): no autograd graph, which
was a third of a stacked step.

Each seed keeps what makes it that seed: its minibatch order (its own generator), its
learning rate, its gradient clipping, early stop and Adam step count. Seeds whose
rollouts hold different numbers of valid steps get padded minibatches with masked
means. So a seed trains as it would alone, up to the rounding of batched matmuls
(``tests/test_stacked.py`` compares the two).
"""

from __future__ import annotations

import dataclasses

import torch

from .algorithms import (
    DIAG_GROUPS,
    explained_variance,
    minibatch_split,
    reinforce_noise,
    reinforce_targets,
)
from .diagnostics import gradient_noises, random_groups
from .policies import (
    CategoricalActor,
    Critic,
    GaussianActor,
    categorical_terms,
    head_gradient,
    log_prob_entropy,
)
from .returns import gae
from .rollout import Batch
from .stacked_mlp import NetLayout, layer_views, mlp_backward, mlp_forward, net_layout
from .stacked_rows import ModuleRows, RowAdam


def _masked_mean(x: torch.Tensor, mask: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum(1) / count


def _normalize(x: torch.Tensor, mask: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Per row as ``returns.normalize``: (x - mean) / (unbiased std + 1e-8) over the mask."""
    mean = _masked_mean(x, mask, count).unsqueeze(1)
    var = (((x - mean) * mask) ** 2).sum(1, keepdim=True) / (count.unsqueeze(1) - 1).clamp(min=1)
    return (x - mean) / (var.sqrt() + 1e-8)


def _explained_variances(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                         count: torch.Tensor) -> list[float]:
    """``explained_variance`` of each row over its mask: 1 - Var(target - pred) / Var(target),
    nan for fewer than two samples or a constant target."""
    def spread(x: torch.Tensor) -> torch.Tensor:  # sum of squares about the masked mean
        mean = _masked_mean(x, mask, count).unsqueeze(1)
        return (((x - mean) * mask) ** 2).sum(1)

    total = spread(target)
    ratio = 1 - spread(target - pred) / total
    return torch.where((count < 2) | (total == 0), torch.nan, ratio).tolist()


@dataclasses.dataclass
class _ActorPass:
    """A stacked actor's forward pass, kept for its gradient written out by hand."""

    params: torch.Tensor  # (S, P)
    layers: list
    net: NetLayout
    inputs: list[torch.Tensor]
    head: torch.Tensor
    actions: torch.Tensor
    log_std: torch.Tensor | None
    logp_all: torch.Tensor | None
    logp: torch.Tensor
    entropy: torch.Tensor

    def gradient(self, grad_logp: torch.Tensor, grad_entropy: torch.Tensor) -> torch.Tensor:
        """(S, P): d loss / d params, given d loss / d log pi(a|s) and / d entropy (S, B)."""
        grad_head, grad_log_std = head_gradient(self.head, self.actions, self.log_std,
                                                self.logp_all, self.entropy, grad_logp,
                                                grad_entropy)
        grads = mlp_backward(self.params, self.layers, self.inputs, grad_head, self.net)
        if grad_log_std is not None:
            grads[:, self.net.log_std] = grad_log_std
        return grads


class StackedUpdate:
    """The PPO, A2C or REINFORCE update of S trainers' seeds at once (see the module
    docstring)."""

    def __init__(self, trainers: list, actor: NetLayout, critic: NetLayout) -> None:
        self.trainers = trainers
        optimizers = [t.optimizer for t in trainers]
        sizes = [optimizers[0].param_groups[k]["params"][0].numel() for k in (0, 1)]
        self.device = trainers[0].device
        # every seed's actor and critic side by side in one row: one Adam step, one norm
        self.rows = torch.zeros(len(trainers), sum(sizes), device=self.device)
        self.grad = torch.zeros_like(self.rows)
        self.adam = RowAdam(torch.zeros_like(self.rows), torch.zeros_like(self.rows),
                          torch.zeros(len(trainers), device=self.device))
        self.actor = ModuleRows(0, [t.policy.actor for t in trainers], optimizers, actor,
                                self.rows, self.grad, self.adam, slice(0, sizes[0]))
        self.critic = ModuleRows(1, [t.policy.critic for t in trainers], optimizers, critic,
                                 self.rows, self.grad, self.adam, slice(sizes[0], sum(sizes)))
        self.discrete = isinstance(trainers[0].policy.actor, CategoricalActor)
        self._lrs = torch.zeros(0)  # (S, P), set at the start of each update

    @classmethod
    def build(cls, trainers: list) -> StackedUpdate | None:
        """None unless the trainers use Adam, MLP policies of one shape and configs that
        differ in the seed only."""
        if len(trainers) < 2:
            return None
        first = trainers[0]
        same = dataclasses.replace(first.config, seed=0)
        if any(dataclasses.replace(t.config, seed=0) != same for t in trainers):
            return None
        if same.optimizer == "sgd":
            return None
        actor, critic = first.policy.actor, first.policy.critic
        if type(actor) not in (CategoricalActor, GaussianActor) or type(critic) is not Critic:
            return None
        layouts = net_layout(actor), net_layout(critic)
        if None in layouts:
            return None
        return cls(trainers, *layouts)

    def snapshot(self) -> tuple[torch.Tensor, ...]:
        """A copy of every seed's weights and Adam state, for ``restore_row``."""
        return tuple(t.clone() for t in (self.rows, self.adam.exp_avg,
                                                  self.adam.exp_avg_sq, self.adam.steps))

    def restore_row(self, i: int, saved: tuple[torch.Tensor, ...]) -> None:
        """Seed ``i``'s weights and Adam state as they were in ``saved`` (it diverged)."""
        for live, old in zip((self.rows, self.adam.exp_avg, self.adam.exp_avg_sq,
                              self.adam.steps), saved, strict=True):
            live[i] = old[i]

    def finite_rows(self) -> list[bool]:
        """Whether each seed's weights are all finite."""
        return torch.isfinite(self.rows).all(1).tolist()

    def accepts(self, batches: list[Batch]) -> bool:
        """Whether these batches can take one stacked update: every seed has a valid step
        and, for PPO, cuts its rollout into as many minibatches as the others (small
        rollouts need not). If not, the seeds update one after another this time."""
        sizes = [b.num_valid for b in batches]
        if min(sizes) == 0:
            return False
        cfg = self.trainers[0].config
        return cfg.algo != "ppo" or len({minibatch_split(n, cfg.num_minibatches)[1]
                                         for n in sizes}) == 1

    def update(self, batches: list[Batch], diag_rngs: list[torch.Generator | None]
               ) -> list[dict[str, float]]:
        """One update of every seed on its own batch; one stats dict per seed, with the
        keys ``ppo_update``, ``a2c_update`` or ``reinforce_update`` returns."""
        algo = self.trainers[0].config.algo
        self._lrs = self._learning_rates()
        if algo != "reinforce":
            sizes, padded, extras = self._prepare_steps(batches, diag_rngs)
            stats = (self._ppo if algo == "ppo" else self._a2c)(sizes, *padded)
            return [{**s, **e} for s, e in zip(stats, extras, strict=True)]
        prepared = [self._prepare_episodes(t, b, rng) for t, b, rng in
                    zip(self.trainers, batches, diag_rngs, strict=True)]
        sizes = [len(p["obs"]) for p in prepared]
        widest = max(sizes)

        def pad(key: str) -> torch.Tensor:  # (S, widest, ...): short rows repeat their first
            return torch.stack([torch.cat([p[key], p[key][:1].expand(
                widest - len(p[key]), *p[key].shape[1:])]) for p in prepared])

        # the policy loss is summed over each seed's episodes, / K
        episodes = torch.tensor([p["episodes"] for p in prepared], dtype=torch.float32,
                                device=self.device)
        stats = self._one_step(sizes, pad("obs"), pad("actions"), pad("adv"), pad("ret"),
                               policy_divisor=episodes)
        return [{**s, "explained_variance": p["explained_variance"], **p["diag"]}
                for s, p in zip(stats, prepared, strict=True)]

    def _a2c(self, sizes: list[int], obs: torch.Tensor, actions: torch.Tensor,
             adv: torch.Tensor, ret: torch.Tensor) -> list[dict[str, float]]:
        """One gradient step per seed on its whole rollout, as ``a2c_update``."""
        if self.trainers[0].config.normalize_advantage:
            count, mask = self._counts(sizes, obs.shape[1])
            adv = _normalize(adv, mask, count)
        return self._one_step(sizes, obs, actions, adv, ret)

    def _counts(self, sizes: list[int], width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Each seed's number of real samples (S,) and the (S, width) mask of them."""
        count = torch.tensor(sizes, dtype=torch.float32, device=self.device)
        return count, (torch.arange(width, device=self.device) < count.unsqueeze(1)).float()

    def _one_step(self, sizes: list[int], obs: torch.Tensor, actions: torch.Tensor,
                  adv: torch.Tensor, ret: torch.Tensor,
                  policy_divisor: torch.Tensor | None = None) -> list[dict[str, float]]:
        """One gradient step per seed on all its samples: the policy loss is
        -sum(adv log pi) / ``policy_divisor`` (default: the seed's sample count)."""
        cfg = self.trainers[0].config
        count, mask = self._counts(sizes, obs.shape[1])
        divisor = count if policy_divisor is None else policy_divisor
        losses, norms, _, _ = self._step_by_hand(
            obs, actions.long() if self.discrete else actions, adv, ret,
            mask / count.unsqueeze(1), policy_share=mask / divisor.unsqueeze(1))
        self._adam_step(torch.isfinite(norms))
        policy_loss, value_loss, entropy_mean = losses.T
        loss = policy_loss - cfg.ent_coef * entropy_mean + cfg.vf_coef * value_loss
        columns = torch.cat([losses, loss.unsqueeze(1), norms.unsqueeze(1)], 1).tolist()
        return [{"policy_loss": p, "value_loss": v, "entropy": e, "loss": total, "grad_norm": n}
                for p, v, e, total, n in columns]

    def _ppo(self, sizes: list[int], obs: torch.Tensor, actions: torch.Tensor,
             adv_all: torch.Tensor, ret: torch.Tensor) -> list[dict[str, float]]:
        """Clipped-surrogate epochs over each seed's minibatches, as ``ppo_update``."""
        cfg = self.trainers[0].config
        S = len(self.trainers)
        old_logp = self._actor_pass(self.actor.param, self.actor.layers, obs, actions).logp
        mb_sizes, counts = zip(*(minibatch_split(n, cfg.num_minibatches) for n in sizes), strict=True)
        if len(set(counts)) != 1:
            raise ValueError("seeds' rollouts split into different numbers of minibatches")
        mb_sizes = list(mb_sizes)
        num_mb, width = counts[0], max(mb_sizes)
        mb_size, mask = self._counts(mb_sizes, width)
        rows = torch.arange(S, device=self.device).unsqueeze(1)
        active = torch.ones(S, dtype=torch.bool, device=self.device)
        # every sample's data in one tensor: one gather per minibatch
        acts = actions.unsqueeze(-1).float() if self.discrete else actions
        data = torch.cat([obs, acts, old_logp.unsqueeze(-1), adv_all.unsqueeze(-1),
                          ret.unsqueeze(-1)], -1)
        columns = [obs.shape[-1], acts.shape[-1], 1, 1, 1]
        records = []  # per minibatch step: losses, ratio, log-ratio, weight, norms, active
        for _ in range(cfg.update_epochs):
            index = self._minibatch_index(sizes, mb_sizes, num_mb, width)
            for j in range(num_mb):
                mb_obs, mb_acts, mb_old, adv, mb_ret = data[rows, index[:, j]].split(columns, -1)
                mb_acts = mb_acts.squeeze(-1).long() if self.discrete else mb_acts
                adv = adv.squeeze(-1)
                if cfg.normalize_advantage:
                    adv = _normalize(adv, mask, mb_size)
                weight = mask * active.unsqueeze(1)  # a seed that stopped early adds nothing
                losses, norms, ratio, log_r = self._step_by_hand(
                    mb_obs, mb_acts, adv, mb_ret.squeeze(-1), weight / mb_size.unsqueeze(1),
                    old_logp=mb_old.squeeze(-1))
                self._adam_step(active & torch.isfinite(norms))
                records.append((losses, ratio, log_r, weight, norms, active))
            if cfg.target_kl > 0:  # the epoch's last minibatch decides, as in ppo_update
                last_kl = (((ratio - 1) - log_r) * weight).sum(1) / mb_size
                active = active & ~(last_kl > cfg.target_kl)
                if not bool(active.any()):
                    break
        return self._ppo_stats(records, active, cfg.clip_coef)

    @staticmethod
    def _ppo_stats(records: list[tuple[torch.Tensor, ...]], active: torch.Tensor,
                   clip_coef: float) -> list[dict[str, float]]:
        """Each seed's means over the minibatch steps it took, as ``ppo_update`` reports."""
        losses, ratio, log_r, weight, norms, took = (torch.stack(x) for x in zip(*records))
        steps = took.sum(0)  # (S,); a mean over no step is nan (0 / 0)
        samples = weight.sum((0, 2))
        figures = torch.cat([
            (losses * took.unsqueeze(-1)).sum(0) / steps.unsqueeze(-1),
            torch.stack([(((ratio - 1) - log_r) * weight).sum((0, 2)) / samples,
                         (((ratio - 1).abs() > clip_coef) * weight).sum((0, 2)) / samples,
                         torch.where(took, norms, 0.0).sum(0) / steps,
                         (~active).float()], 1)], 1)
        keys = ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac", "grad_norm",
                "early_stop")
        return [dict(zip(keys, row, strict=True)) for row in figures.tolist()]

    # -- internals ----------------------------------------------------------------------

    @torch.no_grad()
    def _step_by_hand(self, obs: torch.Tensor, actions: torch.Tensor, adv: torch.Tensor,
                      ret: torch.Tensor, share: torch.Tensor,
                      policy_share: torch.Tensor | None = None,
                      old_logp: torch.Tensor | None = None) -> tuple[torch.Tensor | None, ...]:
        """One gradient step's loss for every seed, its gradients written out by hand (no
        autograd graph: a third of a stacked step was autograd's bookkeeping). ``share``
        (S, B) is each sample's weight in its seed's mean of the value loss and the
        entropy, ``policy_share`` in the policy loss (default ``share``). With
        ``old_logp``, PPO's clipped surrogate; else -sum(adv log pi). Fills the clipped
        gradients; returns ((policy loss, value loss, entropy) (S, 3), gradient norms,
        and for PPO the ratio and log-ratio)."""
        cfg = self.trainers[0].config
        actor = self._actor_pass(self.actor.param, self.actor.layers, obs, actions)
        logp, entropy = actor.logp, actor.entropy
        ratio = log_ratio = None
        if old_logp is None:
            policy_share = share if policy_share is None else policy_share
            policy_loss = -(logp * adv * policy_share).sum(1)
            grad_logp = -(policy_share * adv)
        else:
            log_ratio = logp - old_logp
            ratio = log_ratio.exp()
            surrogate = ratio * adv
            clipped = ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef) * adv
            policy_loss = -(torch.min(surrogate, clipped) * share).sum(1)
            # d loss / d log pi: through the ratio wherever the unclipped term is the
            # minimum (inside the clip range the terms are equal, min's halves add to one)
            grad_logp = -(share * surrogate) * (surrogate <= clipped)
        values, critic_inputs = mlp_forward(self.critic.layers, obs, self.critic.net.relu)
        error = values.squeeze(-1) - ret
        value_loss = 0.5 * (error.square() * share).sum(1)
        entropy_mean = (entropy * share).sum(1)
        actor_grad = actor.gradient(grad_logp, -cfg.ent_coef * share)
        critic_grad = mlp_backward(self.critic.param, self.critic.layers, critic_inputs,
                                   (cfg.vf_coef * share * error).unsqueeze(-1), self.critic.net)
        self.actor.grad.copy_(actor_grad)
        self.critic.grad.copy_(critic_grad)
        norms = self._clip_gradients(cfg.max_grad_norm)
        return torch.stack([policy_loss, value_loss, entropy_mean], 1), norms, ratio, log_ratio

    def _prepare_steps(self, batches: list[Batch], diag_rngs: list[torch.Generator | None]
                       ) -> tuple[list[int], list[torch.Tensor], list[dict[str, float]]]:
        """Every seed's rollout as ``flat_rollout`` makes it, padded to (S, widest, ...)
        with samples the masks leave out: (sizes, [obs, actions, advantages, targets],
        per seed its explained variance and diagnostics (on the policy before the
        update)). GAE runs once for all seeds."""
        cfg = self.trainers[0].config
        S = len(batches)

        def per_seed(key: str) -> torch.Tensor:  # (S, T * N, ...), each seed's steps in order
            x = torch.stack([getattr(b, key) for b in batches])
            return x.reshape(S, -1, *x.shape[3:])

        def by_time(key: str) -> torch.Tensor:  # (T, S, N): GAE's time axis first
            return torch.stack([getattr(b, key) for b in batches], 1)

        adv, ret = gae(by_time("rewards"), by_time("values"), by_time("next_values"),
                       by_time("terminated"), by_time("dones"), cfg.gamma, cfg.gae_lambda)
        valid = per_seed("valid")
        sizes = valid.sum(1).tolist()
        # each seed's valid steps first, in order (a stable sort), cut to the widest
        order = torch.sort((~valid).to(torch.uint8), dim=1, stable=True).indices[:, :max(sizes)]

        def take(x: torch.Tensor) -> torch.Tensor:
            index = order.view(*order.shape, *[1] * (x.dim() - 2))
            return torch.take_along_dim(x, index, dim=1)

        flat = [take(per_seed("obs")), take(per_seed("actions")),
                take(adv.transpose(0, 1).reshape(S, -1)), take(ret.transpose(0, 1).reshape(S, -1))]
        values = take(per_seed("values"))
        count, mask = self._counts(sizes, order.shape[1])
        explained = _explained_variances(values, flat[3], mask, count)
        noise = self._rollout_noise(*flat[:3], sizes, diag_rngs)
        return sizes, flat, [{"explained_variance": ev, **d} for ev, d in
                             zip(explained, noise, strict=True)]

    def _rollout_noise(self, obs: torch.Tensor, actions: torch.Tensor, adv: torch.Tensor,
                       sizes: list[int], diag_rngs: list[torch.Generator | None]
                       ) -> list[dict[str, float]]:
        """``rollout_noise`` of each seed that measures this update (its generator is not
        None): the same random slices, all seeds' group gradients in one stacked pass,
        with a copy of its seed's actor per group."""
        cfg = self.trainers[0].config
        out: list[dict[str, float]] = [{} for _ in sizes]
        groups = []  # (seed, index (K, L)) of each seed that measures
        for i, (n, rng) in enumerate(zip(sizes, diag_rngs, strict=True)):
            if rng is not None:
                ones = torch.ones(n, dtype=torch.bool, device=self.device)
                index, _ = random_groups(ones, DIAG_GROUPS, rng)
                if index.shape[1] > 0:
                    groups.append((i, index))
        if not groups:
            return out
        width = max(index.shape[1] for _, index in groups)
        seeds = [i for i, _ in groups]
        index = torch.stack([torch.nn.functional.pad(ix, (0, width - ix.shape[1]))
                             for _, ix in groups])  # (M, K, width); padding weighs 0
        mask = torch.stack([torch.arange(width, device=self.device) < ix.shape[1]
                            for _, ix in groups]).unsqueeze(1)
        scale = torch.tensor([ix.shape[1] for _, ix in groups], device=self.device)
        a = adv[seeds]
        if cfg.normalize_advantage:  # over the whole rollout, as rollout_noise does
            count, valid = self._counts([sizes[i] for i in seeds], a.shape[1])
            a = _normalize(a, valid, count)
        rows = torch.arange(len(seeds), device=self.device).view(-1, 1, 1)
        seeds_t = torch.tensor(seeds, device=self.device)
        k = DIAG_GROUPS
        w = torch.where(mask, a[rows, index] / scale.view(-1, 1, 1), 0.0).flatten(0, 1)
        o = obs[seeds_t.view(-1, 1, 1), index].flatten(0, 1)  # (M * K, width, obs_dim)
        act = actions[seeds_t.view(-1, 1, 1), index].flatten(0, 1)
        params = self.actor.param[seeds_t].repeat_interleave(k, 0)
        # the estimator's loss -sum w log pi; no entropy term
        grads = self._actor_pass(params, layer_views(params, self.actor.net), o, act
                                 ).gradient(-w, torch.zeros_like(w))
        for i, stats in zip(seeds, gradient_noises(grads.view(len(seeds), k, -1)), strict=True):
            out[i] = stats
        return out

    def _prepare_episodes(self, trainer, batch: Batch, diag_rng: torch.Generator | None
                          ) -> dict:
        """A seed's K episodes, as ``reinforce_update`` starts (diagnostics on the policy
        before the update)."""
        with torch.no_grad():
            values = trainer.policy.critic(batch.obs)
        obs, actions, adv, ret = reinforce_targets(batch, values, trainer.config)
        diag = {}
        if diag_rng is not None:
            diag = reinforce_noise(trainer.policy, batch, obs, actions, adv, values,
                                   trainer.reference_config)
        return {"obs": obs, "actions": actions, "adv": adv, "ret": ret, "diag": diag,
                "episodes": max(batch.num_episodes, 1),
                "explained_variance": explained_variance(values[batch.valid], ret)}

    def _minibatch_index(self, sizes: list[int], mb_sizes: list[int], num_mb: int,
                         width: int) -> torch.Tensor:
        """(S, num_mb, width): each seed's shuffle from its own generator, cut as
        ``ppo_update`` cuts it, padded with index 0."""
        out = torch.zeros(len(sizes), num_mb, width, dtype=torch.long)
        for i, (trainer, n, m) in enumerate(zip(self.trainers, sizes, mb_sizes, strict=True)):
            perm = torch.randperm(n, generator=trainer.cpu_generator)
            out[i, :, :m] = perm[:num_mb * m].view(num_mb, m)
        return out.to(self.device)

    def _actor_pass(self, params: torch.Tensor, layers: list, obs: torch.Tensor,
                    actions: torch.Tensor) -> _ActorPass:
        """The stacked actor ``params`` (its ``layers``) on ``obs``: log pi(a|s) and the
        entropy, and what ``_ActorPass.gradient`` needs to go back."""
        head, inputs = mlp_forward(layers, obs, self.actor.net.relu)
        log_std, logp_all = None, None
        if self.discrete:
            logp, entropy, logp_all = categorical_terms(head, actions)
        else:
            log_std = params[:, self.actor.net.log_std].unsqueeze(1)
            logp, entropy = log_prob_entropy(head, actions, log_std)
        return _ActorPass(params, layers, self.actor.net, inputs, head, actions, log_std,
                          logp_all, logp, entropy)

    def _clip_gradients(self, max_grad_norm: float) -> torch.Tensor:
        """Clips each seed's gradient to ``max_grad_norm``; returns the norms before."""
        grad = self.grad
        norms = grad.square().sum(1).sqrt()
        if max_grad_norm > 0:
            grad.mul_((max_grad_norm / (norms + 1e-6)).clamp_(max=1.0).unsqueeze(1))
        return norms

    def _adam_step(self, stepping: torch.Tensor) -> None:
        group = self.trainers[0].optimizer.param_groups[0]
        self.adam.step(self.rows, self.grad, self._lrs, group["betas"], group["eps"],
                       stepping, bool(stepping.all()))

    def _learning_rates(self) -> torch.Tensor:
        """(S, P): each seed's learning rate in its actor's and its critic's columns (fixed
        within an update: a run anneals it between rollouts)."""
        return torch.cat([torch.tensor([t.optimizer.param_groups[m.index]["lr"]
                                        for t in self.trainers], device=self.device)
                          .unsqueeze(1).expand(-1, m.columns.stop - m.columns.start)
                          for m in (self.actor, self.critic)], 1)
