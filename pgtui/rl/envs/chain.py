"""A short chain: a tabular MDP small enough that its exact policy gradient is a few
lines of dynamic programming (``exact_gradient.py``), published the way Gymnasium's
toy-text envs publish theirs (``P[s][a] = [(prob, next_state, reward, terminated)]``).

States 0..n-1 in a row; the agent starts at 0. "right" moves one state right and
"left" one left, each reversed with probability ``slip``. Reaching the last state pays
1 and ends the episode; stepping left off state 0 pays ``exit_reward`` and ends it too:
a near, small reward against a far, large one.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

LEFT, RIGHT = 0, 1


class ChainEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, length: int = 6, slip: float = 0.1, exit_reward: float = 0.1,
                 render_mode: str | None = None) -> None:
        self.length, self.slip, self.exit_reward = length, slip, exit_reward
        self.observation_space = spaces.Discrete(length)
        self.action_space = spaces.Discrete(2)
        self.initial_state_distrib = np.eye(length)[0]
        self.P = {s: {a: self._outcomes(s, a) for a in (LEFT, RIGHT)} for s in range(length)}
        self.s = 0

    def _move(self, s: int, direction: int) -> tuple[int, float, bool]:
        if direction == LEFT and s == 0:
            return 0, self.exit_reward, True
        t = s + (1 if direction == RIGHT else -1)
        return (t, 1.0, True) if t == self.length - 1 else (t, 0.0, False)

    def _outcomes(self, s: int, a: int) -> list[tuple[float, int, float, bool]]:
        if s == self.length - 1:  # the goal ends the episode: never stepped from
            return [(1.0, s, 0.0, True)]
        return [(1.0 - self.slip, *self._move(s, a)), (self.slip, *self._move(s, 1 - a))]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.s = 0
        return self.s, {}

    def step(self, action):
        outcomes = self.P[self.s][int(action)]
        pick = 0 if self.np_random.random() < outcomes[0][0] else 1
        _, self.s, reward, terminated = outcomes[pick]
        return self.s, reward, terminated, False, {}
