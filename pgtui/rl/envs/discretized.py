"""Pendulum with k torque levels: Gymnasium's Pendulum-v1 behind an action wrapper, so a
value-based learner (DQN: one Q value per action, argmax) can drive it, and a race can
show what discretizing a continuous action costs as k grows."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.pendulum import PendulumEnv


class DiscreteTorque(gym.ActionWrapper):
    """Action i of ``levels`` applies torque low + i (high - low) / (levels - 1): evenly
    spaced from the env's lowest to its highest (1-d Box actions)."""

    def __init__(self, env: gym.Env, levels: int) -> None:
        super().__init__(env)
        box = env.action_space
        if not isinstance(box, gym.spaces.Box) or box.shape != (1,):
            raise ValueError(f"DiscreteTorque needs a 1-d Box action space, got {box}")
        if not isinstance(levels, int) or levels < 2:
            raise ValueError(f"levels must be an integer of at least 2, got {levels!r}")
        self.torques = np.linspace(box.low[0], box.high[0], levels, dtype=np.float32)
        self.action_space = gym.spaces.Discrete(levels)
        self.metadata = {**env.metadata, "action_names": tuple(f"{t:+.1f}" for t in self.torques)}

    def action(self, action) -> np.ndarray:
        return self.torques[int(action)].reshape(1)


def discrete_pendulum(levels: int = 5, render_mode: str | None = None, g: float = 10.0) -> gym.Env:
    """Pendulum-v1's physics with ``levels`` evenly spaced torques in [-2, 2]."""
    return DiscreteTorque(PendulumEnv(render_mode=render_mode, g=g), levels)
