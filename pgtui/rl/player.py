"""A saved policy playing one env: the playground's watch mode and `pgtui watch`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..config import from_mapping
from . import checkpoint
from .envs import env_info
from .networks import SeedNets
from .policies import build_policy
from .streams import SeedStreams


class Player:
    """Rebuilds the policy of a checkpoint on the CPU, as a run of one seed."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.config = from_mapping(payload["config"], "checkpoint config")
        self.info = env_info(self.config.env, self.config.env_kwargs)
        policy = build_policy(self.info, self.config.hidden_sizes, self.config.activation,
                              tabular=self.config.policy == "tabular",
                              init_theta=self.config.init_theta,
                              q_network=self.config.algo == "dqn")
        self.nets = SeedNets([policy], torch.device("cpu"))
        try:
            self.nets.load_state_dict(0, payload["policy"])
        except (ValueError, KeyError) as err:
            raise checkpoint.CheckpointError(f"checkpoint does not fit its config: {err}") from None
        self.streams = SeedStreams(self.config.seed)  # watched episodes: streams training never used
        self.generator = torch.Generator().manual_seed(self.streams.watch_sampler())

    @classmethod
    def from_file(cls, path: str | Path) -> Player:
        return cls(checkpoint.load(path))

    def action_probs(self, obs) -> tuple[float, ...]:
        """pi(.|obs), (mean..., std...) for a Gaussian; for DQN the greedy policy it plays."""
        if self.config.algo == "dqn":
            greedy = int(self._head(obs).argmax())
            return tuple(float(a == greedy) for a in range(self.info.act_dim))
        return self.nets.summary(0, obs)

    @torch.no_grad()
    def _head(self, obs) -> torch.Tensor:
        return self.nets.head(torch.as_tensor(obs, dtype=torch.float32).reshape(1, 1, -1))[0, 0]

    def act(self, obs):
        """One env action: sampled from the policy (a Box action clipped to its bounds), or
        DQN's greedy one."""
        if self.config.algo == "dqn":
            return int(self._head(obs).argmax())
        x = torch.as_tensor(obs, dtype=torch.float32).reshape(1, 1, -1)
        action, _ = self.nets.sample(x, [self.generator], [0])
        action = action[0, 0].numpy()
        if not self.info.discrete:
            return action.clip(self.info.action_low, self.info.action_high)
        return int(action)
