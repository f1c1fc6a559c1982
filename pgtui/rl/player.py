"""A saved policy playing one env: the playground's watch mode and `pgtui watch`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from ..config import from_mapping
from . import checkpoint
from .algos import algo_spec
from .algos.plugins import learner_class
from .envs.registry import env_info, make_env
from .floats import as_float
from .networks import SeedNets
from .policies import policy_for
from .seeding import SeedStreams
from .tasks import env_kwargs_of


class Player:
    """Rebuilds the policy of a checkpoint on the CPU, as a run of one seed."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.config = from_mapping(payload["config"], "checkpoint config")
        self.info = env_info(self.config.env, self.config.env_kwargs)
        self.learner = learner_class(algo_spec(self.config.algo))
        self.nets = SeedNets([policy_for(self.config, self.info, self.learner.networks)], torch.device("cpu"))
        try:
            self.nets.load_state_dict(0, payload["policy"])
        except (ValueError, KeyError) as err:
            raise checkpoint.CheckpointError(f"checkpoint does not fit its config: {err}") from None
        self.streams = SeedStreams(self.config.seed)  # watched episodes: streams training never used
        self.generator = torch.Generator().manual_seed(self.streams.watch_sampler())

    def make_env(self) -> gym.Env:
        """One env as the run that saved the policy had it (its task's settings included)."""
        return make_env(self.config.env, self.config.max_episode_steps, env_kwargs_of(self.config))

    @classmethod
    def from_file(cls, path: str | Path) -> Player:
        return cls(checkpoint.load(path))

    def action_probs(self, obs) -> tuple[float, ...]:
        """pi(.|obs), (mean..., std...) for a Gaussian; for DQN the greedy policy it plays."""
        head = self.nets.head_at(0, obs)
        if self.learner.q_network:
            greedy = int(head.argmax())
            return tuple(float(a == greedy) for a in range(self.info.act_dim))
        return self.learner.head_summary(self.nets, 0, head, self.info)

    def act(self, obs):
        """One env action: sampled from the policy (a Box action clipped to its bounds), or
        the greedy one of a learner that plays greedily (DQN's argmax, SAC's mean action)."""
        if self.learner.plays_greedy:
            action = self.learner.greedy(self.nets.head_at(0, obs), self.info)
            return int(action) if self.info.discrete else action
        x = as_float(obs).reshape(1, 1, -1)
        action, _ = self.nets.sample(x, [self.generator], [0])
        action = action[0, 0].numpy()
        if not self.info.discrete:
            return action.clip(self.info.action_low, self.info.action_high)
        return int(action)
