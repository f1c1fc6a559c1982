"""Greedy evaluation: each seed's policy without exploration, on envs of its own.

DQN's training episodes carry epsilon noise to their end, and a policy gradient's
carry its sampling noise, so a run can also measure its greedy policy every
``eval_every`` env steps: ``eval_episodes`` episodes, one per env of a vector env that
training never steps, each evaluation from new starts (``SeedStreams.eval_env``). The
greedy action is the argmax of the actor's output (Q values, or a softmax policy's
logits), or a Gaussian policy's mean (SAC: its mean action), as the run's learner says
(``Learner.greedy``). Its time is not training time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..config import Config
from .envs.registry import EnvInfo, make_vec_env
from .networks import SeedNets
from .seeding import SeedStreams, separate_envs

# the greedy env actions for actor outputs (..., k) (``Learner.greedy``)
Greedy = Callable[[torch.Tensor, EnvInfo], np.ndarray]

MAX_EVAL_STEPS = 100_000  # vector steps, for an env that never ends


class Evaluator:
    """One seed's evaluation envs and schedule."""

    def __init__(self, config: Config, streams: SeedStreams, info: EnvInfo, greedy: Greedy) -> None:
        self.config, self.streams, self.info, self.greedy = config, streams, info, greedy
        self.envs = make_vec_env(config.env, config.eval_episodes, config.max_episode_steps,
                                 config.env_kwargs)
        self.done = 0  # evaluations so far

    def due(self, env_steps: int) -> bool:
        return env_steps >= (self.done + 1) * self.config.eval_every

    @torch.no_grad()
    def run(self, nets: SeedNets, seed_index: int) -> list[float]:
        """The returns of ``eval_episodes`` greedy episodes of seed ``seed_index``."""
        n = self.config.eval_episodes
        seeds = [self.streams.eval_env(self.done, i) for i in range(n)]
        self.done += 1
        obs, _ = self.envs.reset(seed=seeds if separate_envs(self.envs) else seeds[0])
        params = nets.select([seed_index])
        returns, running = np.zeros(n), np.ones(n, dtype=bool)
        for _ in range(MAX_EVAL_STEPS):
            x = torch.as_tensor(np.asarray(obs, dtype=np.float32), device=nets.rows.device)
            head = nets.head(x.unsqueeze(0), params)[0]
            action = self.greedy(head, self.info)
            obs, reward, terminated, truncated, _ = self.envs.step(action)
            returns += np.where(running, reward, 0.0)
            running &= ~(terminated | truncated)
            if not running.any():
                break
        return returns.tolist()

    def close(self) -> None:
        self.envs.close()
