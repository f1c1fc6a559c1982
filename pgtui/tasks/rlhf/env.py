"""The dialogue as Gymnasium envs: each action is the next token of the response, and
the reward, at the last token, is the reward model's score of the whole dialogue.

``DialogueVectorEnv`` is a native vector env: the envs of a group of
``responses_per_prompt`` share each prompt, so a batch holds several responses to the
same prompt, which a leave-one-out baseline compares (as RLOO does). Every episode is
``RESPONSE_LENGTH`` steps, so the envs run in step; Gymnasium's next-step autoreset
applies, as in its own vector envs. ``DialogueEnv`` is one dialogue.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from .dialogue import NUM_PROMPTS, OBS_DIM, RESPONSE_LENGTH, VOCAB, encode, prompt_probs, response_index
from .models import reward_model


class DialogueVectorEnv(gym.vector.VectorEnv):
    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "action_names": VOCAB}

    def __init__(self, num_envs: int = 1, responses_per_prompt: int = 4,
                 labeler_bias: float = 0.0, render_mode: str | None = None) -> None:
        self.num_envs = num_envs
        self.responses_per_prompt = max(1, responses_per_prompt)
        self.render_mode = render_mode
        self.single_observation_space = spaces.Box(0.0, 1.0, (OBS_DIM,), dtype=np.float32)
        self.single_action_space = spaces.Discrete(len(VOCAB))
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.prompts = np.zeros(num_envs, dtype=np.int64)
        self.tokens = np.full((num_envs, RESPONSE_LENGTH), -1, dtype=np.int64)
        self.position = np.zeros(num_envs, dtype=np.int64)
        self.prev_done = np.zeros(num_envs, dtype=bool)
        self._group = np.arange(num_envs) // self.responses_per_prompt
        self._p = prompt_probs()
        self.set_labeler_bias(labeler_bias)

    def set_labeler_bias(self, labeler_bias: float) -> None:
        """Score with the reward model fitted to labelers of this bias from now on."""
        self.labeler_bias = float(labeler_bias)
        self._scores: np.ndarray | None = None

    @property
    def scores(self) -> np.ndarray:
        """The reward model's scores, (prompts, responses); fitted at first need (an env
        built only to read its spaces fits nothing)."""
        if self._scores is None:
            self._scores = reward_model(self.labeler_bias).scores
        return self._scores

    def _start(self, envs: np.ndarray) -> None:
        """New dialogues in ``envs`` (bool mask): one prompt drawn per group."""
        groups = np.unique(self._group[envs])
        drawn = self.np_random.choice(NUM_PROMPTS, size=len(groups), p=self._p)
        self.prompts[envs] = drawn[np.searchsorted(groups, self._group[envs])]
        self.tokens[envs] = -1
        self.position[envs] = 0

    def _obs(self) -> np.ndarray:
        return encode(self.prompts, self.tokens, self.position)

    def reset(self, *, seed: int | None = None, options: dict | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._start(np.ones(self.num_envs, dtype=bool))
        self.prev_done[:] = False
        return self._obs(), {}

    def step(self, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)
        if (actions < 0).any() or (actions >= len(VOCAB)).any():
            raise ValueError(f"tokens must be in 0..{len(VOCAB) - 1}, got {actions}")
        reward = np.zeros(self.num_envs, dtype=np.float32)
        writing = ~self.prev_done
        rows = np.nonzero(writing)[0]
        self.tokens[rows, self.position[rows]] = actions[rows]
        self.position[rows] += 1
        terminated = writing & (self.position == RESPONSE_LENGTH)
        if terminated.any():
            done = np.nonzero(terminated)[0]
            reward[done] = self.scores[self.prompts[done], response_index(self.tokens[done])]
        if self.prev_done.any():
            self._start(self.prev_done)
        self.prev_done = terminated
        truncated = np.zeros(self.num_envs, dtype=bool)
        return self._obs(), reward, terminated, truncated, {}


class DialogueEnv(gym.Env):
    """One dialogue (watch mode, Gymnasium's checks)."""

    metadata = {"render_modes": [], "render_fps": 4,  # watch mode: a token a quarter second
                "action_names": VOCAB}

    def __init__(self, labeler_bias: float = 0.0, render_mode: str | None = None) -> None:
        self._envs = DialogueVectorEnv(1, 1, labeler_bias)
        self.observation_space = self._envs.single_observation_space
        self.action_space = self._envs.single_action_space

    def set_labeler_bias(self, labeler_bias: float) -> None:
        self._envs.set_labeler_bias(labeler_bias)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, info = self._envs.reset(seed=seed if seed is not None else
                                     int(self.np_random.integers(2**63 - 1)))
        return obs[0], info

    def step(self, action):
        obs, reward, terminated, truncated, info = self._envs.step(np.array([action]))
        return obs[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

