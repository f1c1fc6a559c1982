"""The short corridor with switched actions (Sutton and Barto, 2nd edition, Example
13.1): a task whose best policy is random.

Three states in a row, then the goal; every step costs 1. In the first state "left"
does not move; in the second the actions are switched ("left" moves right, "right"
left); in the third they act as named. The agent sees the same observation in all
three, so a policy is one number, p = pi(right). Any deterministic policy loops forever
(the step cap ends its episodes); the best stochastic one, p = 2 - sqrt(2) = 0.586,
takes 11.66 steps on average. The env publishes its model as Gymnasium's toy-text envs
do (``P[s][a] = [(prob, next_state, reward, terminated)]``), with each state's
observation, so the exact objective and policy gradient are known.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

LEFT, RIGHT = 0, 1
GOAL = 3
SWITCHED = 1  # the state where the actions are reversed
# where each action leads from states 0, 1 and 2
MOVES = {0: (0, 1), 1: (2, 0), 2: (1, GOAL)}
BEST_P = 2 - np.sqrt(2)  # argmax of the objective without a step cap
STEP_CAP = 200  # a deterministic policy loops forever: the registered time limit ends it


def objective(p: float | np.ndarray, horizon: int = 0) -> float | np.ndarray:
    """J(p): the expected return from the start with pi(right) = p, the episode cut at
    ``horizon`` steps (0: never), by dynamic programming over the three states."""
    p = np.asarray(p, dtype=np.float64)
    if horizon <= 0:  # the fixed point: V = -1 + M V, solved as three linear equations
        values = np.linalg.solve(np.eye(3) - _moves(p), -np.ones((*p.shape, 3, 1)))
        return values[..., 0, 0]
    values = np.zeros((*p.shape, 3))
    for _ in range(horizon):
        values = -1.0 + np.einsum("...st,...t->...s", _moves(p), values)
    return values[..., 0]


def _moves(p: np.ndarray) -> np.ndarray:
    """P(s' | s) among the three states (the goal absorbs), (..., 3, 3)."""
    m = np.zeros((*p.shape, 3, 3))
    for s, (left, right) in MOVES.items():
        for target, prob in ((left, 1 - p), (right, p)):
            if target != GOAL:
                m[..., s, target] += prob
    return m


class ShortCorridorEnv(gym.Env):
    """Observation: always [1.0]; actions 0 = left, 1 = right; reward -1 per step."""

    metadata = {"render_modes": [], "action_names": ("left", "right")}
    #: every state shows the same observation: a drawing asks for the true state
    aliased = True

    def __init__(self, render_mode: str | None = None) -> None:
        self.observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.initial_state_distrib = np.eye(GOAL + 1)[0]
        self.state_observations = np.ones((GOAL + 1, 1), dtype=np.float32)
        self.P = {s: {a: [(1.0, MOVES[s][a], -1.0, MOVES[s][a] == GOAL)] for a in (LEFT, RIGHT)}
                  for s in MOVES}
        self.P[GOAL] = {a: [(1.0, GOAL, 0.0, True)] for a in (LEFT, RIGHT)}  # never stepped from
        self.s = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.s = 0
        return np.ones(1, dtype=np.float32), {}

    def step(self, action):
        self.s = MOVES[self.s][int(action)]
        return np.ones(1, dtype=np.float32), -1.0, self.s == GOAL, False, {}
