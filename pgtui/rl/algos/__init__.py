"""The algorithms: each a torch-free ``AlgoSpec`` (``spec.py``) in ``ALGORITHMS`` below,
and a ``Learner`` (``interface.py``) in a module of its family, which the spec names and
only a training process imports:

- ``reinforce.py``: REINFORCE and its baselines; ``actor_critic.py``: A2C and PPO;
  ``dqn.py``: DQN (target network, epsilon-greedy); ``sac.py``: SAC (squashed
  Gaussian, twin critics, a learned temperature); ``grpo.py``: GRPO (group-relative
  advantages, the KL in the loss); ``dpo.py``: DPO (labelled pairs, no sampling);
- what they share: ``replay.py`` (the off-policy learners' buffer), ``samples.py`` (a
  batch packed per seed), ``returns.py`` (returns, GAE, masked means),
  ``diagnostics.py`` (gradient noise) and ``exact_gradient.py``
  (the true policy gradient of a tabular env);
- ``plugins.py``: a learner of the user's own, ``algo = "module:Class"``.

Adding an algorithm: a module with its ``Learner``, and its spec below.
"""

from __future__ import annotations

from .plugins import PluginError, plugin_spec
from .spec import AlgoSpec

_ACTOR_CRITIC = ("gae_lambda", "normalize_advantage", "ent_coef", "vf_coef", "max_grad_norm",
                 "num_steps")
_REPLAY = ("buffer_size", "learning_starts", "batch_size", "train_freq", "gradient_steps", "tau")


def _minibatches_fit(config) -> str | None:
    batch = config.num_envs * config.num_steps
    if config.num_minibatches > batch:
        return (f"num_minibatches: expected at most num_envs x num_steps = {batch}, "
                f"got {config.num_minibatches}")
    return None


ALGORITHMS: dict[str, AlgoSpec] = {spec.name: spec for spec in (
    AlgoSpec("reinforce", "REINFORCE", "Monte Carlo policy gradient over whole episodes",
             "pgtui.rl.algos.reinforce:Reinforce",
             settings=("baseline", "return_mode", "normalize_advantage", "ent_coef", "vf_coef",
                       "max_grad_norm", "episodes_per_update"),
             knobs="lr {lr:g} · ent {ent_coef:g} · {baseline} · {return_mode}"),
    AlgoSpec("a2c", "A2C", "advantage actor-critic: n-step GAE, one gradient step a rollout",
             "pgtui.rl.algos.actor_critic:A2C", settings=_ACTOR_CRITIC),
    AlgoSpec("ppo", "PPO", "proximal policy optimization: clipped ratio, epochs of minibatches",
             "pgtui.rl.algos.actor_critic:PPO",
             settings=(*_ACTOR_CRITIC, "clip_coef", "target_kl", "update_epochs", "num_minibatches"),
             consistency=_minibatches_fit),
    AlgoSpec("dqn", "DQN", "deep Q-learning: replay, a target network, epsilon-greedy",
             "pgtui.rl.algos.dqn:DQN", replay=True, gradient_noise=False, placeholders=(),
             settings=("max_grad_norm", *_REPLAY, "target_update_interval", "exploration_initial_eps",
                       "exploration_final_eps", "exploration_fraction", "double_q"),
             policy_title="Q(s,a), ε-greedy", knobs="lr {lr:g} · final eps {exploration_final_eps:g}"),
    AlgoSpec("sac", "SAC", "soft actor-critic: squashed Gaussian, twin critics, learned temperature",
             "pgtui.rl.algos.sac:SAC", replay=True, gradient_noise=False, placeholders=(),
             settings=(*_REPLAY, "alpha", "target_entropy"),
             # Polyak averaging after every gradient step, a step per env step
             unset={"tau": 0.005, "gradient_steps": lambda c: c.num_envs * c.train_freq},
             knobs="lr {lr:g} · alpha {alpha}"),
    AlgoSpec("grpo", "GRPO", "group-relative policy optimization: the KL to the reference in the loss",
             "pgtui.rl.algos.grpo:GRPO", kl_in_loss=True, gradient_noise=False, placeholders=(),
             settings=("ent_coef", "clip_coef", "scale_by_std", "max_grad_norm", "episodes_per_update",
                       "update_epochs"),
             knobs="lr {lr:g} · scale_by_std {scale_by_std}"),
    AlgoSpec("dpo", "DPO", "direct preference optimization on labelled pairs, no sampling",
             "pgtui.rl.algos.dpo:DPO", kl_in_loss=True, samples=False, gradient_noise=False,
             placeholders=(), settings=("max_grad_norm", "pairs_per_update"),
             knobs="lr {lr:g} · {pairs_per_update} pairs a step"),
)}

#: the settings some algorithm has of its own; every run reads the other fields
ALGORITHM_SETTINGS = frozenset(k for spec in ALGORITHMS.values() for k in spec.settings)


def algo_spec(algo: str) -> AlgoSpec:
    """The spec of a built-in algorithm, or of a learner of the user's own
    (``"module:Class"``, which this imports); raises PluginError (one line)."""
    spec = ALGORITHMS.get(algo)
    if spec is not None:
        return spec
    if ":" not in algo:
        raise PluginError(f"algo '{algo}': expected one of {', '.join(ALGORITHMS)}, "
                          "or a learner of your own as module:Class")
    return plugin_spec(algo)


__all__ = ["ALGORITHMS", "ALGORITHM_SETTINGS", "AlgoSpec", "PluginError", "algo_spec"]
