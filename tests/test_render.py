"""Text renders of env states: pure functions, checked against geometry."""

import math

import pytest

from pgtui.rl.events import DiscretePolicy, EpsilonGreedy, GaussianPolicy, Scene, TwinCritics
from pgtui.ui.render import render


def cells(frame, ch):
    return [(r, c) for r, line in enumerate(frame.splitlines()) for c, x in enumerate(line) if x == ch]


@pytest.mark.parametrize("env", ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1", "Other-v0"])
@pytest.mark.parametrize("size", [(40, 9), (20, 5), (1, 1)])
def test_every_frame_has_the_requested_size(env, size):
    obs = [0.1, 0.0, 0.05, 0.0, 0.0, 0.0]
    frame = render(env, Scene(tuple(map(float, obs))), *size)
    lines = frame.split("\n")
    assert len(lines) == size[1] and all(len(line) == size[0] for line in lines)


def test_cartpole_cart_follows_x_and_pole_leans_with_theta():
    centre = render("CartPole-v1", Scene((0.0, 0, 0.0, 0)), 42, 9)
    right = render("CartPole-v1", Scene((1.2, 0, 0.3, 0)), 42, 9)
    left = render("CartPole-v1", Scene((-1.2, 0, -0.3, 0)), 42, 9)
    col = lambda f: cells(f, "[")[0][1]  # noqa: E731
    assert col(left) < col(centre) < col(right)
    (_tip_r, tip_c), = cells(centre, "●")
    assert abs(tip_c - (col(centre) + 3)) <= 1, "upright pole stands over the cart"
    assert cells(right, "●")[0][1] > col(right) + 3 > cells(left, "●")[0][1] - 20
    assert cells(left, "●")[0][1] < col(left) + 3
    track = centre.splitlines()[-1]
    assert track.count("|") == 2, "both track limits are drawn"


def test_pendulum_tip_is_up_at_angle_zero_and_down_at_pi():
    up = render("Pendulum-v1", Scene((1.0, 0.0, 0.0)), 21, 11)
    down = render("Pendulum-v1", Scene((math.cos(math.pi), math.sin(math.pi), 0.0)), 21, 11)
    pivot_row = cells(up, "◎")[0][0]
    assert cells(up, "●")[0][0] < pivot_row < cells(down, "●")[0][0]


def test_acrobot_hanging_links_point_down():
    frame = render("Acrobot-v1", Scene((1, 0, 1, 0, 0, 0)), 41, 13)
    pivot = cells(frame, "◎")[0]
    tip = cells(frame, "●")[0]
    assert tip[1] == pivot[1] and tip[0] > pivot[0]


def test_mountain_car_moves_right_with_position():
    a = render("MountainCar-v0", Scene((-1.0, 0.0)), 40, 9)
    b = render("MountainCar-v0", Scene((0.3, 0.0)), 40, 9)
    assert cells(a, "■")[0][1] < cells(b, "■")[0][1]


def test_unknown_env_shows_labelled_bars():
    frame = render("Other-v0", Scene((0.5, -2.0)), 40, 2)
    first, second = frame.splitlines()
    assert first.startswith("obs[0]") and "+0.50" in first
    assert "-2.00" in second and second.index("█") < second.index("│")


def test_a_tabular_env_is_drawn_with_the_agent_and_the_policys_arrows():
    from pgtui.ui.render import render

    chain = render("pgtui/Chain-v0", Scene((0, 0, 1, 0, 0, 0)), 30, 4,
                   DiscretePolicy((0.5, 0.5), table=((0.9, 0.1), (0.2, 0.8)) * 3)).splitlines()
    assert chain[0].split() == ["<", ".", "@", ".", ".", "G"]
    assert chain[1].split() == ["←", "→", "←", "→", "←"]  # none on the goal
    one_hot = [0.0] * 16
    one_hot[6] = 1.0  # FrozenLake's row 1, column 2
    arrows = ((0.1, 0.7, 0.1, 0.1),) * 16
    lake = render("FrozenLake-v1", Scene(tuple(one_hot)), 20, 9,
                  EpsilonGreedy((0.0,) * 4, (0.25,) * 4, arrows)).splitlines()
    assert [line.split() for line in lake[0:8:2]] == [["S", ".", ".", "."], [".", "H", "@", "H"],
                                                      [".", ".", ".", "H"], ["H", ".", ".", "G"]]
    assert lake[1].split() == ["↓"] * 4 and lake[3].split() == ["↓", "↓"]  # not on holes
    assert len(lake) == 9 and all(len(line) == 20 for line in lake)


def test_lunar_lander_from_a_reset_state_and_a_landed_one():
    pytest.importorskip("Box2D")
    import gymnasium as gym

    from pgtui.ui.render import render

    obs, _ = gym.make("LunarLander-v3").reset(seed=0)
    frame = render("LunarLander-v3", Scene(tuple(map(float, obs))), 48, 14,
                   DiscretePolicy((0.1, 0.1, 0.7, 0.1))).splitlines()
    assert len(frame) == 14 and all(len(line) == 48 for line in frame)
    top = next(i for i, line in enumerate(frame) if "█" in line)
    assert top <= 2  # it starts at the top of the sky
    assert "▼" in frame[top + 1] and "║" in frame[top + 2]  # the main engine fires
    assert frame[12] == "▁" * 48 and frame[11].count("⚑") == 2
    assert frame[13].startswith("x +0.01  y +1.40  tilt -0°  legs ··")
    landed = render("LunarLander-v3", Scene((0.0, 0.0, 0, 0, 0.0, 0, 1.0, 1.0)), 48, 14).splitlines()
    assert "█" in landed[11] and landed[12].count("●") == 2  # both feet on the pad
    assert "legs ●●" in landed[13]


def test_lander_engines_read_the_policys_likeliest_action():
    from pgtui.ui.render import lander_engines

    assert lander_engines(DiscretePolicy((0.1, 0.6, 0.2, 0.1))) == (0.0, -1.0)
    assert lander_engines(EpsilonGreedy((0.0,) * 4, (0.1, 0.1, 0.2, 0.6))) == (0.0, 1.0)
    assert lander_engines(GaussianPolicy((0.8, -0.7), (0.1, 0.1))) == (0.8, -0.7)
    assert lander_engines(TwinCritics((-0.3, 0.2), (0.1, 0.1), (1.0, 1.0))) == (0.0, 0.0)
    assert lander_engines(None) is None


def test_taxi_is_drawn_from_gymnasiums_own_text_render_with_its_colours_as_marks():
    import numpy as np

    from pgtui.ui.render import render

    frame = render("Taxi-v4", Scene(tuple(np.eye(500)[123])), 20, 8).splitlines()
    # state 123: the taxi at row 1, column 1; the passenger at R; the destination B
    assert [line.rstrip() for line in frame[:7]] == [
        "+---------+", "|r: | : :G|", "| :@| : : |", "| : : : : |", "| | : | : |", "|Y| : |*: |",
        "+---------+"]
