"""Tuple and Dict observations of Discretes and flat Boxes are flattened (Blackjack's
hand arrives one-hot); images and sequences keep a clear one-line refusal."""

import gymnasium as gym
import numpy as np
import pytest
from cli_helpers import call_pgtui
from gymnasium import spaces

from pgtui.rl.envs.registry import env_info, flattenable, make_env
from pgtui.rl.events import Scene
from pgtui.ui.render import render


class ImageEnv(gym.Env):
    observation_space = spaces.Tuple((spaces.Discrete(3), spaces.Box(0, 255, (8, 8, 3), np.uint8)))
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, True, False, {}


if "pgtui-test/Image-v0" not in gym.registry:
    gym.register("pgtui-test/Image-v0", entry_point=ImageEnv, max_episode_steps=5)


def test_which_spaces_flatten():
    box = spaces.Box(-1.0, 1.0, (3,))
    assert flattenable(spaces.Tuple((spaces.Discrete(32), spaces.Discrete(11), spaces.Discrete(2))))
    assert flattenable(spaces.Dict({"cards": spaces.Discrete(4), "speed": box}))
    assert not flattenable(box)  # already flat: nothing to do
    assert not flattenable(spaces.Box(0, 255, (8, 8, 3), np.uint8))  # an image
    assert not flattenable(spaces.Tuple((spaces.Discrete(2), spaces.Box(0, 1, (4, 4)))))
    assert not flattenable(spaces.Sequence(spaces.Discrete(3)))


def test_blackjacks_hand_arrives_one_hot_and_is_drawn_as_text():
    info = env_info("Blackjack-v1")
    assert info.obs_dim == 32 + 11 + 2 and info.action_names == ("stick", "hit")
    env = make_env("Blackjack-v1")
    obs, _ = env.reset(seed=3)
    total, dealer, ace = env.unwrapped._get_obs()
    assert obs.sum() == 3 and obs[total] == 1 and obs[32 + dealer] == 1 and obs[43 + ace] == 1
    frame = render("Blackjack-v1", Scene(tuple(map(float, obs))), 40, 6)
    assert f"your hand   {total}" in frame and "dealer shows" in frame


def test_blackjack_trains_headless():
    result = call_pgtui("train", "--preset", "cartpole-ppo", "--set", "env=Blackjack-v1",
                        "--set", "total_steps=4096", "--json")
    assert result.returncode == 0, result.stderr
    assert '"env": "Blackjack-v1"' in result.stdout


def test_an_image_in_a_tuple_is_refused_in_one_line():
    result = call_pgtui("train", "--preset", "cartpole-ppo", "--set",
                        'env="test_flattened_obs:pgtui-test/Image-v0"')
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "observations must be a flat Box" in lines[0] and "Tuple" in lines[0]


@pytest.mark.parametrize("env", ["FrozenLake-v1", "CliffWalking-v1"])
def test_toy_text_grids_still_arrive_one_hot(env):
    obs, _ = make_env(env).reset(seed=0)
    assert obs.sum() == 1 and obs.max() == 1
