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
  (the true policy gradient of a tabular env).

Adding an algorithm: a module with its ``Learner`` and its spec below; for settings of
its own, ``algos=`` on their config fields.
"""

from __future__ import annotations

from .spec import AlgoSpec

ALGORITHMS: dict[str, AlgoSpec] = {spec.name: spec for spec in (
    AlgoSpec("reinforce", "REINFORCE", "Monte Carlo policy gradient over whole episodes",
             "pgtui.rl.algos.reinforce:Reinforce",
             knobs="lr {lr:g} · ent {ent_coef:g} · {baseline} · {return_mode}"),
    AlgoSpec("a2c", "A2C", "advantage actor-critic: n-step GAE, one gradient step a rollout",
             "pgtui.rl.algos.actor_critic:A2C"),
    AlgoSpec("ppo", "PPO", "proximal policy optimization: clipped ratio, epochs of minibatches",
             "pgtui.rl.algos.actor_critic:PPO"),
    AlgoSpec("dqn", "DQN", "deep Q-learning: replay, a target network, epsilon-greedy",
             "pgtui.rl.algos.dqn:DQN", replay=True, gradient_noise=False, placeholders=(),
             policy_title="Q(s,a), ε-greedy", knobs="lr {lr:g} · final eps {exploration_final_eps:g}"),
    AlgoSpec("sac", "SAC", "soft actor-critic: squashed Gaussian, twin critics, learned temperature",
             "pgtui.rl.algos.sac:SAC", replay=True, gradient_noise=False, placeholders=(),
             # Polyak averaging after every gradient step, a step per env step
             unset={"tau": 0.005, "gradient_steps": lambda c: c.num_envs * c.train_freq},
             knobs="lr {lr:g} · alpha {alpha}"),
    AlgoSpec("grpo", "GRPO", "group-relative policy optimization: the KL to the reference in the loss",
             "pgtui.rl.algos.grpo:GRPO", kl_in_loss=True, gradient_noise=False, placeholders=(),
             knobs="lr {lr:g} · scale_by_std {scale_by_std}"),
    AlgoSpec("dpo", "DPO", "direct preference optimization on labelled pairs, no sampling",
             "pgtui.rl.algos.dpo:DPO", kl_in_loss=True, samples=False, gradient_noise=False,
             placeholders=(),
             knobs="lr {lr:g} · {pairs_per_update} pairs a step"),
)}
