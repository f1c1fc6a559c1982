"""Env steps taken and steps learned from, and the exact episode a run solved at."""

import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv

from pgtui.preset_files import load_preset
from pgtui.rl.envs.joint import hold_step
from pgtui.rl.events import EpisodesFinished, Solved, UpdateFinished
from pgtui.rl.seed_run import SOLVE_WINDOW
from pgtui.rl.trainer import Trainer


def _lengths(events):
    return [n for e in events if isinstance(e, EpisodesFinished) for n in e.lengths]


def test_reinforce_takes_no_step_it_does_not_learn_from_on_cartpole():
    """Envs whose episode is over wait for the batch's longest; they were stepped and
    counted (the steps learned from were 43% of global_step at update 20)."""
    events = []
    trainer = Trainer(load_preset("cartpole-reinforce"), events.append)
    trainer.run(max_updates=20)
    lengths = _lengths(events)
    assert trainer.learned_steps_of(0) == sum(lengths)
    # every step taken is an episode's step or the reset step that starts one
    assert sum(lengths) <= trainer.global_step <= sum(lengths) + len(lengths)
    last = [e for e in events if isinstance(e, UpdateFinished)][-1].stats
    assert last["learned_steps"] == trainer.learned_steps_of(0) and last["global_step"] == trainer.global_step


def test_envs_that_cannot_wait_are_stepped_and_counted_as_taken():
    config = load_preset("acrobot-ppo").replace(algo="reinforce", num_envs=4, episodes_per_update=4,
                                                baseline="none")
    events = []
    trainer = Trainer(config, events.append)
    trainer.run(max_updates=2)
    lengths = _lengths(events)
    assert trainer.learned_steps_of(0) == sum(lengths)
    batches = [e for e in events if isinstance(e, UpdateFinished)]
    assert trainer.global_step == 4 * max(lengths[:4]) + 4 * max(lengths[4:])  # all 4 envs, each step
    assert len(batches) == 2


def test_a2c_learns_from_every_step_but_the_resets():
    events = []
    trainer = Trainer(load_preset("cartpole-a2c"), events.append)
    trainer.run(max_updates=30)
    cfg = trainer.config
    assert trainer.global_step == 30 * cfg.num_steps * cfg.num_envs
    resets = trainer.global_step - trainer.learned_steps_of(0)
    assert 0 < resets <= len(_lengths(events))  # one reset step per ended episode, at most


def test_a_held_cartpole_keeps_its_state_and_draws_no_start():
    env, twin = CartPoleVectorEnv(num_envs=3), CartPoleVectorEnv(num_envs=3)
    env.reset(seed=5)
    twin.reset(seed=5)
    env.state[2, 1] = twin.state[2, 1] = 1.0  # env 1 falls on the next step
    actions = np.array([1, 0, 1])
    for e in (env, twin):
        e.step(actions)
    assert env.prev_done[1]
    before = env.state[:, 1].copy()
    held = np.array([False, True, False])
    obs, reward, terminated, truncated = hold_step(env, actions, held)
    assert np.array_equal(env.state[:, 1], before) and env.prev_done[1] and env.steps[1] == twin.steps[1]
    assert reward[1] == 0 and not terminated[1] and not truncated[1]
    np.testing.assert_array_equal(obs[1], before.astype(np.float32))
    # the others stepped as they would have, and env 1's reset drew nothing
    twin.prev_done[1] = False
    twin_obs, *_ = twin.step(actions)
    np.testing.assert_array_equal(obs[[0, 2]], twin_obs[[0, 2]])
    assert env.np_random.bit_generator.state == twin.np_random.bit_generator.state


@pytest.mark.parametrize("preset", ["cartpole-reinforce", "cartpole-a2c"])
def test_solved_names_the_exact_episode_the_last_100_mean_reached_the_threshold(preset):
    """Detected at update boundaries it could be up to episodes_per_update - 1 late."""
    events = []
    trainer = Trainer(load_preset(preset).replace(solved_threshold=30.0), events.append)
    trainer.run(until_solved=True, max_updates=200)
    returns = [r for e in events if isinstance(e, EpisodesFinished) for r in e.returns]
    first = next(k for k in range(SOLVE_WINDOW, len(returns) + 1)
                 if sum(returns[k - SOLVE_WINDOW:k]) / SOLVE_WINDOW >= 30.0)
    (solved,) = [e for e in events if isinstance(e, Solved)]
    assert solved.episode == first
    assert solved.last100_mean == pytest.approx(sum(returns[first - SOLVE_WINDOW:first]) / SOLVE_WINDOW)
    assert len(returns) > first  # the update went on past it: a boundary check would be late
    assert 0 < solved.learned_step <= solved.global_step <= trainer.global_step
