"""A saved policy playing one env: the playground's watch mode and `pgtui watch`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..config import from_mapping
from . import checkpoint
from .envs import env_info
from .policies import action_summary, build_policy, env_action

WATCH_SEED_OFFSET = 10_000  # watched episodes start from env seeds training never used


class Player:
    """Rebuilds the policy of a checkpoint on the CPU."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.config = from_mapping(payload["config"], "checkpoint config")
        self.info = env_info(self.config.env)
        self.policy = build_policy(self.info, self.config.hidden_sizes, self.config.activation,
                                   tabular=self.config.policy == "tabular",
                                   init_theta=self.config.init_theta)
        try:
            self.policy.load_state_dict(payload["policy"])
        except (RuntimeError, KeyError) as err:
            raise checkpoint.CheckpointError(f"checkpoint does not fit its config: {err}") from None
        self.policy.eval()
        self.generator = torch.Generator().manual_seed(self.config.seed)

    @classmethod
    def from_file(cls, path: str | Path) -> Player:
        return cls(checkpoint.load(path))

    def action_probs(self, obs) -> tuple[float, ...]:
        return action_summary(self.policy.actor, obs)

    def act(self, obs):
        return env_action(self.policy.actor, obs, self.info, self.generator)
