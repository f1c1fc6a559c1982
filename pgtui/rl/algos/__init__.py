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

from dataclasses import replace

from ..stats import (
    APPROX_KL,
    BUFFER_FILL,
    CLIPFRAC,
    CRITIC_GRAD_NORM,
    ENTROPY,
    ESTIMATOR,
    EXPLAINED_VARIANCE,
    GRAD_NORM,
    GRADIENT_NOISE,
    LOSS,
    MOVEMENT,
    POLICY_LOSS,
    Q_MEAN,
    VALUE_LOSS,
    Stat,
)
from .plugins import PluginError, is_plugin, plugin_spec
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


_ACTOR_CRITIC_STATS = (POLICY_LOSS, VALUE_LOSS, ENTROPY, EXPLAINED_VARIANCE, LOSS, GRAD_NORM,
                       CRITIC_GRAD_NORM, *GRADIENT_NOISE)
_AGAINST_TRUTH = "the update's estimate against the true gradient (tabular envs)"
_TRUE_GRAD = (
    Stat("true_grad_cosine", "cos true grad", "cos", f"cosine of {_AGAINST_TRUTH}", ESTIMATOR,
         averaged=True),
    Stat("true_grad_mse", "MSE true grad", "mse", f"mean squared error of {_AGAINST_TRUTH}", ESTIMATOR,
         averaged=True),
)
_REINFORCE_STATS = (
    *_ACTOR_CRITIC_STATS,
    Stat("baseline_se", "baseline term", "b term", "the baseline's own term of the gradient "
         "(with it minus without), in standard errors from zero", ESTIMATOR, "{:.1f} se from 0",
         averaged=True),
    *_TRUE_GRAD,
    # the same of a race's reference estimator, measured on this variant's batch
    *(replace(s, key=f"{s.key}_ref", label=f"{s.label}, ref", short=f"{s.short} ref",
              meaning="the same of a race's first variant's estimator on this batch") for s in _TRUE_GRAD),
)
_DQN_STATS = (
    Stat("td_loss", "TD loss", "td", "the Huber loss of Q against its TD targets", board="losses/td_loss"),
    Q_MEAN,
    Stat("epsilon", "epsilon", "eps", "the exploration rate now", board="charts/epsilon"),
    BUFFER_FILL,
    Stat("target_updates", "target upd", "tgt", "target-network updates so far"),
    GRAD_NORM,
    Stat("objective_greedy", "J greedy", "J greedy", "on a tabular env: the exact expected return "
         "of its greedy policy (objective: of its epsilon-greedy one)", ESTIMATOR, shown=False),
    Stat("greedy_flips", "greedy flips", "flips", "the share of the batch's states whose greedy "
         "action the update changed", MOVEMENT, averaged=True),
)
_SAC_STATS = (
    Stat("q_loss", "Q loss", "qloss", "the twin critics' loss", board="losses/qf_loss"),
    Stat("actor_loss", "actor loss", "aloss", "the actor's loss", board="losses/actor_loss"),
    Stat("alpha", "alpha", "α", "the entropy temperature", board="losses/alpha"),
    ENTROPY, Q_MEAN, BUFFER_FILL, GRAD_NORM, CRITIC_GRAD_NORM,
)
_GRPO_STATS = (
    POLICY_LOSS, ENTROPY, APPROX_KL, CLIPFRAC,
    Stat("kl_k3", "k3 KL", "k3", "the k3 estimate of KL(pi || pi_ref) a response, before the update"),
    Stat("group_reward_std", "group std", "g std", "the spread of rewards within a prompt's group"),
    GRAD_NORM,
)
_DPO_STATS = (
    POLICY_LOSS,
    Stat("reward_chosen", "chosen", "chosen", "its implicit reward beta log(pi/pi_ref) of the "
         "chosen responses it read", shown=False),
    Stat("reward_rejected", "rejected", "rejected", "the same of the rejected ones", shown=False),
    Stat("reward_margin", "margin", "margin", "chosen less rejected"),
    Stat("reward_accuracy", "pair acc", "acc", "the share of pairs whose chosen response's "
         "implicit reward is the higher"),
    ENTROPY, GRAD_NORM,
)


def _reinforce_expectation(config) -> tuple:
    # reward-to-go without the gamma^t factor and the full return differ unless gamma = 1;
    # a baseline leaves the expectation as it is; normalized advantages rescale it
    return (config.gamma, config.return_mode if config.gamma < 1 else "either",
            config.normalize_advantage)


def _actor_critic_expectation(config) -> tuple:
    return config.gamma, config.gae_lambda, config.normalize_advantage


ALGORITHMS: dict[str, AlgoSpec] = {spec.name: spec for spec in (
    AlgoSpec("reinforce", "REINFORCE", "Monte Carlo policy gradient over whole episodes",
             "pgtui.rl.algos.reinforce:Reinforce",
             settings=("baseline", "return_mode", "normalize_advantage", "ent_coef", "vf_coef",
                       "max_grad_norm", "episodes_per_update"),
             stats=_REINFORCE_STATS, expectation=_reinforce_expectation,
             paired=("baseline", "return_mode", "normalize_advantage"),
             knobs="lr {lr:g} · ent {ent_coef:g} · {baseline} · {return_mode}"),
    AlgoSpec("a2c", "A2C", "advantage actor-critic: n-step GAE, one gradient step a rollout",
             "pgtui.rl.algos.actor_critic:A2C", settings=_ACTOR_CRITIC, stats=_ACTOR_CRITIC_STATS,
             expectation=_actor_critic_expectation),
    AlgoSpec("ppo", "PPO", "proximal policy optimization: clipped ratio, epochs of minibatches",
             "pgtui.rl.algos.actor_critic:PPO",
             settings=(*_ACTOR_CRITIC, "clip_coef", "target_kl", "update_epochs", "num_minibatches"),
             consistency=_minibatches_fit, expectation=_actor_critic_expectation,
             stats=(POLICY_LOSS, VALUE_LOSS, ENTROPY, APPROX_KL, CLIPFRAC, EXPLAINED_VARIANCE, GRAD_NORM,
                    CRITIC_GRAD_NORM, *GRADIENT_NOISE,
                    Stat("early_stop", "early stop", "stop", "1 where target_kl stopped the "
                         "epochs early", shown=False))),
    AlgoSpec("dqn", "DQN", "deep Q-learning: replay, a target network, epsilon-greedy",
             "pgtui.rl.algos.dqn:DQN", stats=_DQN_STATS, actions=("discrete",), replay=True,
             gradient_noise=False, placeholders=(),
             settings=("max_grad_norm", *_REPLAY, "target_update_interval", "exploration_initial_eps",
                       "exploration_final_eps", "exploration_fraction", "double_q"),
             policy_title="Q(s,a), ε-greedy", knobs="lr {lr:g} · final eps {exploration_final_eps:g}"),
    AlgoSpec("sac", "SAC", "soft actor-critic: squashed Gaussian, twin critics, learned temperature",
             "pgtui.rl.algos.sac:SAC", stats=_SAC_STATS, actions=("box",), replay=True,
             gradient_noise=False, placeholders=(),
             settings=(*_REPLAY, "alpha", "target_entropy", "compile_update"),
             # Polyak averaging after every gradient step, a step per env step
             unset={"tau": 0.005, "gradient_steps": lambda c: c.num_envs * c.train_freq},
             knobs="lr {lr:g} · alpha {alpha}"),
    AlgoSpec("grpo", "GRPO", "group-relative policy optimization: the KL to the reference in the loss",
             "pgtui.rl.algos.grpo:GRPO", stats=_GRPO_STATS, actions=("discrete",), kl_in_loss=True,
             gradient_noise=False, placeholders=(),
             settings=("ent_coef", "clip_coef", "scale_by_std", "max_grad_norm", "episodes_per_update",
                       "update_epochs"),
             knobs="lr {lr:g} · scale_by_std {scale_by_std}"),
    AlgoSpec("dpo", "DPO", "direct preference optimization on labelled pairs, no sampling",
             "pgtui.rl.algos.dpo:DPO", stats=_DPO_STATS, actions=("discrete",), kl_in_loss=True,
             samples=False, gradient_noise=False, placeholders=(),
             settings=("max_grad_norm", "pairs_per_update"),
             race_figures=("reward_margin", "reward_accuracy"),  # beta log(pi/pi_ref), chosen - rejected
             race_note="implicit reward: margin {reward_margin:.3f} · pairs ranked as labelled "
                       "{reward_accuracy:.2f}",
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
    if not is_plugin(algo):
        raise PluginError(f"algo '{algo}': expected one of {', '.join(ALGORITHMS)}, "
                          "or a learner of your own as module:Class")
    return plugin_spec(algo)


__all__ = ["ALGORITHMS", "ALGORITHM_SETTINGS", "AlgoSpec", "PluginError", "algo_spec"]
