"""Text frames of env states: each env's drawing, registered once in ``DRAWINGS`` as a
function of its scene (and the policy's view of it), and ``render``, which draws one.
The physics envs are drawn here; the discrete worlds in ``render_discrete.py``; the grid
they draw on in ``canvas.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..rl.envs.corridor import RIGHT
from ..rl.envs.registry import CORRIDOR_ID, DISCRETE_PENDULUM_ID
from ..rl.events import (
    DiscretePolicy,
    EpsilonGreedy,
    GaussianPolicy,
    HiddenState,
    PolicyView,
    Scene,
    TwinCritics,
)
from ..tasks import task_of
from .canvas import CELL_ASPECT, as_text, new_grid, observation_bars, put, segment, write
from .render_discrete import ARROWS, ansi_env, blackjack, corridor, tabular

CARTPOLE_X_LIMIT = 2.4  # CartPole-v1 terminates beyond this cart position (the track drawn)

def cartpole(obs: Sequence[float], width: int, height: int) -> str:
    """Cart on its track between the limits, the pole at its true angle."""
    x, _, theta, _ = obs[:4]
    grid = new_grid(width, height)
    if width < 12 or height < 4:
        return as_text(grid)
    track_row = height - 1
    left, right = 1, width - 2
    span = right - left
    for col in range(left, right + 1):
        grid[track_row][col] = "═"
    grid[track_row][left] = grid[track_row][right] = "|"
    cx = left + (min(max(x, -CARTPOLE_X_LIMIT), CARTPOLE_X_LIMIT) + CARTPOLE_X_LIMIT) / (
        2 * CARTPOLE_X_LIMIT) * span
    cart_row = track_row - 1
    half = 3
    write(grid, round(cx) - half, cart_row, "[" + "■" * (2 * half - 1) + "]")
    pole_len = max(height - 3, 1)  # rows
    tip_x = cx + math.sin(theta) * pole_len * CELL_ASPECT
    tip_y = cart_row - 1 - math.cos(theta) * pole_len
    segment(grid, cx, cart_row - 1, tip_x, tip_y)
    put(grid, tip_x, tip_y, "●")
    return as_text(grid)


def acrobot(obs: Sequence[float], width: int, height: int) -> str:
    """Two links hanging from a pivot; the dashed line is the height to swing above."""
    cos1, sin1, cos2, sin2 = obs[:4]
    th1, th2 = math.atan2(sin1, cos1), math.atan2(sin2, cos2)
    grid = new_grid(width, height)
    link = max((height - 1) / 4.2, 0.5)  # rows per link, so both fit above and below
    px, py = width / 2, height / 2
    goal_row = round(py - link)
    for col in range(0, width, 2):
        put(grid, col, goal_row, "╌")
    x1 = px + math.sin(th1) * link * CELL_ASPECT
    y1 = py + math.cos(th1) * link
    x2 = x1 + math.sin(th1 + th2) * link * CELL_ASPECT
    y2 = y1 + math.cos(th1 + th2) * link
    segment(grid, px, py, x1, y1)
    segment(grid, x1, y1, x2, y2)
    put(grid, x1, y1, "o")
    put(grid, x2, y2, "●")
    put(grid, px, py, "◎")
    return as_text(grid)


MOUNTAIN_MIN, MOUNTAIN_MAX, MOUNTAIN_GOAL = -1.2, 0.6, 0.5


def _mountain_height(pos: float) -> float:
    return math.sin(3 * pos) * 0.45 + 0.55


def mountain_car(obs: Sequence[float], width: int, height: int) -> str:
    """The valley as dots, the flag at the goal, the car where it is."""
    pos = obs[0]
    grid = new_grid(width, height)

    def cell(p: float) -> tuple[float, float]:
        x = (p - MOUNTAIN_MIN) / (MOUNTAIN_MAX - MOUNTAIN_MIN) * (width - 1)
        y = (height - 1) - _mountain_height(p) * (height - 2)
        return x, y

    for col in range(width):
        p = MOUNTAIN_MIN + col / max(width - 1, 1) * (MOUNTAIN_MAX - MOUNTAIN_MIN)
        put(grid, *cell(p), "·")
    fx, fy = cell(MOUNTAIN_GOAL)
    put(grid, fx, fy - 1, "⚑")
    put(grid, *cell(min(max(pos, MOUNTAIN_MIN), MOUNTAIN_MAX)), "■")
    return as_text(grid)


def pendulum(obs: Sequence[float], width: int, height: int) -> str:
    """A rod from the pivot; angle 0 is upright."""
    cos_t, sin_t = obs[0], obs[1]
    grid = new_grid(width, height)
    px, py = width / 2, height / 2
    length = max((height - 1) / 2 - 0.5, 0.5)
    tx = px + sin_t * length * CELL_ASPECT
    ty = py - cos_t * length
    segment(grid, px, py, tx, ty)
    put(grid, tx, ty, "●")
    put(grid, px, py, "◎")
    return as_text(grid)


LUNAR_PAD_X = 0.2  # the landing pad spans x in [-0.2, 0.2] (normalized), at y = 0
LUNAR_TOP = 1.5  # normalized height the drawing shows above the pad


def acting_probs(policy: PolicyView | None) -> tuple[float, ...] | None:
    """The probabilities a discrete policy acts by (DQN: its epsilon-greedy ones), or None."""
    return policy.probs if isinstance(policy, DiscretePolicy | EpsilonGreedy) else None


def lander_engines(policy: PolicyView | None) -> tuple[float, float] | None:
    """(main throttle 0..1, side -1 left .. +1 right) the policy fires most likely now:
    LunarLander's discrete actions (0 none, 1 left engine, 2 main, 3 right engine), or its
    continuous action's mean (main fires above 0, a side engine beyond 0.5)."""
    probs = acting_probs(policy)
    mean = policy.mean if isinstance(policy, GaussianPolicy | TwinCritics) else None
    if probs is not None and len(probs) == 4:
        best = max(range(4), key=lambda a: probs[a])
        return {0: (0.0, 0.0), 1: (0.0, -1.0), 2: (1.0, 0.0), 3: (0.0, 1.0)}[best]
    if mean is not None and len(mean) >= 2:
        main = max(0.0, min(float(mean[0]), 1.0))
        side = float(mean[1])
        return main, (0.0 if abs(side) <= 0.5 else max(-1.0, min(side, 1.0)))
    return None


def lunar_lander(obs: Sequence[float], width: int, height: int,
                 engines: tuple[float, float] | None = None) -> str:
    """LunarLander: the ground and the pad's flags, the lander tilted, its legs (● on the
    ground, · in the air) and the engines' flames. The terrain beyond the pad is not in
    the observation, so the ground is drawn flat."""
    x, y, _, _, angle, _, left, right = (list(obs) + [0.0] * 8)[:8]
    grid = new_grid(width, height)
    ground = height - 2  # the pad's row; the status line below it
    col = lambda nx: (nx + 1) / 2 * (width - 1)  # noqa: E731
    row = lambda ny: ground - 1 - ny / LUNAR_TOP * (ground - 1)  # noqa: E731
    write(grid, 0, ground, "▁" * width)
    for flag in (-LUNAR_PAD_X, LUNAR_PAD_X):
        put(grid, col(flag), ground - 1, "⚑")
    bx, by = round(col(x)), round(row(y))  # whole cells: the body's three glyphs stay apart
    cos_a, sin_a = math.cos(angle), math.sin(angle)

    def at(dx: float, dy: float) -> tuple[float, float]:
        """A point ``dx`` cells right, ``dy`` rows down of the body, tilted by the angle."""
        px, py = dx, -dy * CELL_ASPECT  # upward, in cell widths
        rx, ry = cos_a * px - sin_a * py, sin_a * px + cos_a * py
        return bx + rx, by - ry / CELL_ASPECT

    for side, contact in ((-1, left), (1, right)):
        fx, fy = at(2.0 * side, 1.0)
        segment(grid, *at(side, 0.5), fx, fy)
        put(grid, fx, fy, "●" if contact > 0.5 else "·")
    if engines is not None:
        main, lateral = engines
        if main > 0:
            put(grid, *at(0, 1), "▼")
            put(grid, *at(0, 2), "║" if main > 0.5 else "¦")
        if lateral < 0:  # the left engine fires: its jet leaves the left side
            put(grid, *at(-2, 0), "◀")
        elif lateral > 0:
            put(grid, *at(2, 0), "▶")
    put(grid, bx - 1, by, "◖")
    put(grid, bx, by, "█")
    put(grid, bx + 1, by, "◗")
    legs = "".join("●" if c > 0.5 else "·" for c in (left, right))
    status = f"x {x:+.2f}  y {y:+.2f}  tilt {math.degrees(angle):+.0f}°  legs {legs}"
    write(grid, 0, ground + 1, status[:width])
    return as_text(grid)


#: an env's drawing: a frame of its scene, with what it shows of the policy's view of it
Drawing = Callable[[Scene, PolicyView | None, int, int], str]


def of_obs(draw: Callable[[Sequence[float], int, int], str]) -> Drawing:
    """A drawing of the observation alone."""
    return lambda scene, policy, width, height: draw(scene.obs, width, height)


def lander(scene: Scene, policy: PolicyView | None, width: int, height: int) -> str:
    return lunar_lander(scene.obs, width, height, lander_engines(policy))


def short_corridor(scene: Scene, policy: PolicyView | None, width: int, height: int) -> str:
    probs = acting_probs(policy)
    state = scene.detail.index if isinstance(scene.detail, HiddenState) else None
    return corridor(state, probs[RIGHT] if probs else None, width, height)


def tabular_drawing(env_id: str) -> Drawing:
    """A chain or toy-text grid, with the arrows of the policy's table where it has one."""
    def draw(scene: Scene, policy: PolicyView | None, width: int, height: int) -> str:
        table = policy.table if isinstance(policy, DiscretePolicy | EpsilonGreedy) else None
        return tabular(env_id, scene.obs, width, height, table)
    return draw


#: each env's drawing, registered once by its id
DRAWINGS: dict[str, Drawing] = {
    "CartPole-v1": of_obs(cartpole),
    "CartPole-v0": of_obs(cartpole),
    "Acrobot-v1": of_obs(acrobot),
    "MountainCar-v0": of_obs(mountain_car),
    "MountainCarContinuous-v0": of_obs(mountain_car),
    "Pendulum-v1": of_obs(pendulum),
    DISCRETE_PENDULUM_ID: of_obs(pendulum),
    "Blackjack-v1": of_obs(blackjack),
    "LunarLander-v3": lander,
    "LunarLanderContinuous-v3": lander,
    CORRIDOR_ID: short_corridor,
    **{env_id: tabular_drawing(env_id) for env_id in ARROWS},
}


def drawing_of(env_id: str, obs: Sequence[float]) -> Drawing | None:
    """``env_id``'s drawing: its registered one, its task's, or, for another toy-text env
    (one-hot observations), its grid; None: the observation is drawn as bars."""
    if env_id in DRAWINGS:
        return DRAWINGS[env_id]
    task = task_of(env_id)
    if task is not None and task.draw is not None:
        return task.draw
    one_hot = len(obs) > 8 and max(obs) == 1.0 and sum(obs) == 1.0
    return tabular_drawing(env_id) if one_hot and ansi_env(env_id) is not None else None


def render(env_id: str, scene: Scene, width: int, height: int, policy: PolicyView | None = None) -> str:
    """A frame of ``scene`` for ``env_id``, with what its drawing shows of ``policy``
    (LunarLander's firing engines, the corridor's p(right), a table's arrows); envs
    without a drawing, or a scene their drawing does not know, get the observation as bars."""
    width, height = max(width, 1), max(height, 1)
    draw = drawing_of(env_id, scene.obs)
    frame = draw(scene, policy, width, height) if draw is not None else None
    return frame if frame is not None else observation_bars(scene.obs, width, height)
