"""The algorithms, one module per family, each a ``Learner`` (``interface.py``):

- ``reinforce.py``: REINFORCE and its baselines; ``actor_critic.py``: A2C and PPO;
  ``dqn.py``: DQN (target network, epsilon-greedy); ``sac.py``: SAC (squashed
  Gaussian, twin critics, a learned temperature); ``grpo.py``: GRPO (group-relative
  advantages, the KL in the loss); ``dpo.py``: DPO (labelled pairs, no sampling);
- what they share: ``replay.py`` (the off-policy learners' buffer), ``samples.py`` (a
  batch packed per seed), ``returns.py`` (returns, GAE, masked means),
  ``diagnostics.py`` (gradient noise) and ``exact_gradient.py``
  (the true policy gradient of a tabular env).

Adding an algorithm: a module with its ``Learner``, a line in ``LEARNERS``, its name in
``config.ALGOS`` and, for settings of its own, ``algos=`` on their config fields.
"""

from __future__ import annotations

from .actor_critic import A2C, PPO
from .dpo import Dpo
from .dqn import Dqn
from .grpo import Grpo
from .interface import Learner
from .reinforce import Reinforce
from .sac import Sac

LEARNERS: dict[str, type[Learner]] = {"reinforce": Reinforce, "a2c": A2C, "ppo": PPO, "dqn": Dqn,
                                     "sac": Sac, "grpo": Grpo, "dpo": Dpo}
