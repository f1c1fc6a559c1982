"""A test env that fails mid-run, as a buggy user env would: ``raising_env:pgtui-test/Raising-v0``."""

import gymnasium as gym
import numpy as np

from pgtui.rl.seeding import SeedStreams

FAIL_AFTER_STEPS = 300


class RaisingEnv(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self.steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.steps += 1
        if self.steps > FAIL_AFTER_STEPS:
            raise RuntimeError("the simulator lost its state")
        return np.zeros(2, np.float32), 1.0, self.steps % 20 == 0, False, {}


if "pgtui-test/Raising-v0" not in gym.registry:
    gym.register("pgtui-test/Raising-v0", entry_point=RaisingEnv)


class RaisingOnSeedOneEnv(RaisingEnv):
    """Fails as ``RaisingEnv`` does, but only when first reset with seed 1: in a race of
    seeds 0 and 1 of one env each, seed 1's env."""

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.doomed = seed == SeedStreams(1).env_seed(0)
        return super().reset(seed=seed, options=options)

    def step(self, action):
        if getattr(self, "doomed", False):
            return super().step(action)
        self.steps += 1
        return np.zeros(2, np.float32), 1.0, self.steps % 20 == 0, False, {}


if "pgtui-test/RaisingOnSeedOne-v0" not in gym.registry:
    gym.register("pgtui-test/RaisingOnSeedOne-v0", entry_point=RaisingOnSeedOneEnv)
