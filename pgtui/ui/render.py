"""Text frames of env states: pure functions ``(obs, width, height) -> str``.

Terminal cells are about twice as tall as they are wide, so horizontal distances are
doubled to keep angles true. Every frame has exactly ``height`` lines of ``width``
characters.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence

import numpy as np

from ..rl.envs.corridor import BEST_P, RIGHT, STEP_CAP, SWITCHED, objective
from ..rl.envs.registry import CORRIDOR_ID, DISCRETE_PENDULUM_ID
from ..tasks.rlhf.dialogue import claim, decode, words

CARTPOLE_X_LIMIT = 2.4  # CartPole-v1 terminates beyond this cart position (the track drawn)
CELL_ASPECT = 2.0  # a cell's height in widths

Grid = list[list[str]]


def _grid(width: int, height: int) -> Grid:
    return [[" "] * width for _ in range(height)]


def _text(grid: Grid) -> str:
    return "\n".join("".join(row) for row in grid)


def _put(grid: Grid, x: float, y: float, ch: str) -> None:
    col, row = round(x), round(y)
    if 0 <= row < len(grid) and 0 <= col < len(grid[0]):
        grid[row][col] = ch


def _write(grid: Grid, x: int, y: int, text: str) -> None:
    for i, ch in enumerate(text):
        _put(grid, x + i, y, ch)


def _slope_char(dx: float, dy: float) -> str:
    """A line glyph for direction (dx, dy) in screen cells (y grows downward)."""
    angle = math.degrees(math.atan2(-dy, dx * 1.0)) % 180
    if angle < 22.5 or angle >= 157.5:
        return "─"
    if angle < 67.5:
        return "/"
    if angle < 112.5:
        return "│"
    return "\\"


def _line(grid: Grid, x0: float, y0: float, x1: float, y1: float, ch: str | None = None) -> None:
    """Points every half cell along the segment; glyph from its slope unless given."""
    steps = max(int(max(abs(x1 - x0), abs(y1 - y0)) * 2), 1)
    glyph = ch or _slope_char(x1 - x0, (y1 - y0) * CELL_ASPECT)
    for i in range(steps + 1):
        t = i / steps
        _put(grid, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, glyph)


def cartpole(obs: Sequence[float], width: int, height: int) -> str:
    """Cart on its track between the limits, the pole at its true angle."""
    x, _, theta, _ = obs[:4]
    grid = _grid(width, height)
    if width < 12 or height < 4:
        return _text(grid)
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
    _write(grid, round(cx) - half, cart_row, "[" + "■" * (2 * half - 1) + "]")
    pole_len = max(height - 3, 1)  # rows
    tip_x = cx + math.sin(theta) * pole_len * CELL_ASPECT
    tip_y = cart_row - 1 - math.cos(theta) * pole_len
    _line(grid, cx, cart_row - 1, tip_x, tip_y)
    _put(grid, tip_x, tip_y, "●")
    return _text(grid)


def acrobot(obs: Sequence[float], width: int, height: int) -> str:
    """Two links hanging from a pivot; the dashed line is the height to swing above."""
    cos1, sin1, cos2, sin2 = obs[:4]
    th1, th2 = math.atan2(sin1, cos1), math.atan2(sin2, cos2)
    grid = _grid(width, height)
    link = max((height - 1) / 4.2, 0.5)  # rows per link, so both fit above and below
    px, py = width / 2, height / 2
    goal_row = round(py - link)
    for col in range(0, width, 2):
        _put(grid, col, goal_row, "╌")
    x1 = px + math.sin(th1) * link * CELL_ASPECT
    y1 = py + math.cos(th1) * link
    x2 = x1 + math.sin(th1 + th2) * link * CELL_ASPECT
    y2 = y1 + math.cos(th1 + th2) * link
    _line(grid, px, py, x1, y1)
    _line(grid, x1, y1, x2, y2)
    _put(grid, x1, y1, "o")
    _put(grid, x2, y2, "●")
    _put(grid, px, py, "◎")
    return _text(grid)


MOUNTAIN_MIN, MOUNTAIN_MAX, MOUNTAIN_GOAL = -1.2, 0.6, 0.5


def _mountain_height(pos: float) -> float:
    return math.sin(3 * pos) * 0.45 + 0.55


def mountain_car(obs: Sequence[float], width: int, height: int) -> str:
    """The valley as dots, the flag at the goal, the car where it is."""
    pos = obs[0]
    grid = _grid(width, height)

    def cell(p: float) -> tuple[float, float]:
        x = (p - MOUNTAIN_MIN) / (MOUNTAIN_MAX - MOUNTAIN_MIN) * (width - 1)
        y = (height - 1) - _mountain_height(p) * (height - 2)
        return x, y

    for col in range(width):
        p = MOUNTAIN_MIN + col / max(width - 1, 1) * (MOUNTAIN_MAX - MOUNTAIN_MIN)
        _put(grid, *cell(p), "·")
    fx, fy = cell(MOUNTAIN_GOAL)
    _put(grid, fx, fy - 1, "⚑")
    _put(grid, *cell(min(max(pos, MOUNTAIN_MIN), MOUNTAIN_MAX)), "■")
    return _text(grid)


def pendulum(obs: Sequence[float], width: int, height: int) -> str:
    """A rod from the pivot; angle 0 is upright."""
    cos_t, sin_t = obs[0], obs[1]
    grid = _grid(width, height)
    px, py = width / 2, height / 2
    length = max((height - 1) / 2 - 0.5, 0.5)
    tx = px + sin_t * length * CELL_ASPECT
    ty = py - cos_t * length
    _line(grid, px, py, tx, ty)
    _put(grid, tx, ty, "●")
    _put(grid, px, py, "◎")
    return _text(grid)


def observation_bars(obs: Sequence[float], width: int, height: int,
                     labels: Sequence[str] | None = None) -> str:
    """Any env: each observation as a labelled bar, squashed by tanh to fit."""
    grid = _grid(width, height)
    labels = labels or [f"obs[{i}]" for i in range(len(obs))]
    label_w = min(max((len(s) for s in labels), default=0), 10)
    bar_w = max(width - label_w - 10, 1)
    half = bar_w // 2
    for row, (label, value) in enumerate(zip(labels, obs)):
        if row >= height:
            break
        n = round(abs(math.tanh(value)) * half)
        bar = [" "] * bar_w
        bar[half] = "│"
        for i in range(1, n + 1):
            idx = half + i if value > 0 else half - i
            if 0 <= idx < bar_w:
                bar[idx] = "█"
        _write(grid, 0, row, f"{label[:label_w]:<{label_w}} {''.join(bar)} {value:+.2f}"[:width])
    return _text(grid)


def _exchange(obs: Sequence[float], cursor: str) -> list[str]:
    """One dialogue's lines: the question, the user's belief, the response and, once it
    claims an answer, whether that is right and whether it agrees."""
    prompt, tokens = decode(obs)
    said = claim(prompt, tokens)
    lines = [f"user  {prompt.text()}",
             f"      (the user is {'wrong' if prompt.user_wrong else 'right'}: "
             f"{prompt.a} + {prompt.b} = {prompt.truth})",
             f"model {words(tokens)}{cursor}"]
    if said is None:
        lines.append("      claims no answer" if not cursor else "")
    else:
        lines.append("      " + ("✓ right" if said == prompt.truth else "✗ wrong") + " · "
                     + ("agrees with the user" if said == prompt.belief else "disagrees"))
    return lines


def dialogue(obs: Sequence[float], width: int, height: int,
             last: Sequence[float] | None = None) -> str:
    """The RLHF dialogue being written and, below it, the last one finished."""
    if decode(obs) is None:
        return observation_bars(obs, width, height)
    lines = _exchange(obs, "▌")
    if last is not None and decode(last) is not None:
        lines += ["", "last finished:", *_exchange(last, "")]
    grid = _grid(width, height)
    for row, line in enumerate(lines[:height]):
        _write(grid, 0, row, line[:width])
    return _text(grid)


LUNAR_PAD_X = 0.2  # the landing pad spans x in [-0.2, 0.2] (normalized), at y = 0
LUNAR_TOP = 1.5  # normalized height the drawing shows above the pad


def lander_engines(env_id: str, probs: Sequence[float] | None, mean: Sequence[float] | None
                   ) -> tuple[float, float] | None:
    """(main throttle 0..1, side -1 left .. +1 right) the policy fires most likely now:
    LunarLander's discrete actions (0 none, 1 left engine, 2 main, 3 right engine), or its
    continuous action's mean (main fires above 0, a side engine beyond 0.5)."""
    if not env_id.startswith("LunarLander"):
        return None
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
    grid = _grid(width, height)
    ground = height - 2  # the pad's row; the status line below it
    col = lambda nx: (nx + 1) / 2 * (width - 1)  # noqa: E731
    row = lambda ny: ground - 1 - ny / LUNAR_TOP * (ground - 1)  # noqa: E731
    _write(grid, 0, ground, "▁" * width)
    for flag in (-LUNAR_PAD_X, LUNAR_PAD_X):
        _put(grid, col(flag), ground - 1, "⚑")
    bx, by = round(col(x)), round(row(y))  # whole cells: the body's three glyphs stay apart
    cos_a, sin_a = math.cos(angle), math.sin(angle)

    def at(dx: float, dy: float) -> tuple[float, float]:
        """A point ``dx`` cells right, ``dy`` rows down of the body, tilted by the angle."""
        px, py = dx, -dy * CELL_ASPECT  # upward, in cell widths
        rx, ry = cos_a * px - sin_a * py, sin_a * px + cos_a * py
        return bx + rx, by - ry / CELL_ASPECT

    for side, contact in ((-1, left), (1, right)):
        fx, fy = at(2.0 * side, 1.0)
        _line(grid, *at(side, 0.5), fx, fy)
        _put(grid, fx, fy, "●" if contact > 0.5 else "·")
    if engines is not None:
        main, lateral = engines
        if main > 0:
            _put(grid, *at(0, 1), "▼")
            _put(grid, *at(0, 2), "║" if main > 0.5 else "¦")
        if lateral < 0:  # the left engine fires: its jet leaves the left side
            _put(grid, *at(-2, 0), "◀")
        elif lateral > 0:
            _put(grid, *at(2, 0), "▶")
    _put(grid, bx - 1, by, "◖")
    _put(grid, bx, by, "█")
    _put(grid, bx + 1, by, "◗")
    legs = "".join("●" if c > 0.5 else "·" for c in (left, right))
    status = f"x {x:+.2f}  y {y:+.2f}  tilt {math.degrees(angle):+.0f}°  legs {legs}"
    _write(grid, 0, ground + 1, status[:width])
    return _text(grid)


# each action's arrow, by the env's action order
ARROWS = {"pgtui/Chain-v0": "←→", "FrozenLake-v1": "←↓→↑", "CliffWalking-v1": "↑→↓←"}


@functools.lru_cache(maxsize=8)
def grid_layout(env_id: str) -> list[str] | None:
    """A toy-text grid's cells as rows of letters (S start, G goal, H hole, C cliff,
    . floor), read from Gymnasium's own env; None if ``env_id`` is no such grid."""
    import gymnasium as gym

    if env_id == "FrozenLake-v1":
        desc = gym.make(env_id).unwrapped.desc
        return ["".join(c.decode() for c in row).replace("F", ".") for row in desc]
    if env_id == "CliffWalking-v1":
        u = gym.make(env_id).unwrapped
        rows = [["C" if u._cliff[r, c] else "." for c in range(u.shape[1])] for r in range(u.shape[0])]
        rows[-1][0], rows[-1][-1] = "S", "G"
        return ["".join(row) for row in rows]
    return None


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# what Gymnasium's toy-text renders mark with colour, as characters: the agent (a
# highlighted cell: Taxi's taxi, empty or carrying), the passenger, the destination
_MARKS = ((re.compile(r"\x1b\[4[23]m(.)\x1b\[0m"), lambda m: "@"),
          (re.compile(r"\x1b\[34;1m(.)\x1b\[0m"), lambda m: m.group(1).lower()),
          (re.compile(r"\x1b\[35m(.)\x1b\[0m"), lambda m: "*"))


@functools.lru_cache(maxsize=4)
def _ansi_env(env_id: str):
    """A toy-text env rendering text, whose state can be set; None for any other env.
    Cached either way: the answer is asked at every frame."""
    import gymnasium as gym

    try:
        env = gym.make(env_id, render_mode="ansi")
        env.reset(seed=0)
        if isinstance(env.unwrapped.s, int | np.integer) and isinstance(env.render(), str):
            return env
    except Exception:  # no ansi mode, or no settable state: not a toy-text env
        pass
    return None


def ansi_frame(env_id: str, state: int) -> list[str] | None:
    """Gymnasium's own text render of a toy-text env in ``state``, colours dropped; None
    if the env has no such render."""
    env = _ansi_env(env_id)
    if env is None:
        return None
    env.unwrapped.s = state
    text = env.render()
    if not isinstance(text, str):
        return None
    for pattern, mark in _MARKS:
        text = pattern.sub(mark, text)
    return ANSI_ESCAPE.sub("", text).rstrip("\n").splitlines()


def tabular(env_id: str, obs: Sequence[float], width: int, height: int,
            policy: Sequence[Sequence[float]] | None = None) -> str:
    """A chain or a toy-text grid: its cells, the agent (@) and, given pi(.|s) for every
    state, the policy's preferred action in each cell as an arrow."""
    state = max(range(len(obs)), key=lambda i: obs[i])
    arrows = ARROWS.get(env_id, "")
    layout = (grid_layout(env_id) if env_id != "pgtui/Chain-v0"
              else ["<" + "." * (len(obs) - 2) + "G"])
    if layout is None:
        lines = ansi_frame(env_id, state)
        if lines is None:
            return observation_bars(obs, width, height)
        grid = _grid(width, height)
        for r, line in enumerate(lines[:height]):
            _write(grid, 0, r, line[:width])
        return _text(grid)
    cols = len(layout[0])
    grid = _grid(width, height)
    for r, row in enumerate(layout):
        for c, cell in enumerate(row):
            s = r * cols + c
            mark = "@" if s == state else cell
            arrow = " "
            if policy is not None and s < len(policy) and cell in ".S<" and arrows:
                best = max(range(len(policy[s])), key=lambda a: policy[s][a])
                arrow = arrows[best] if best < len(arrows) else "?"
            _write(grid, 4 * c, 2 * r, f" {mark} ")
            _write(grid, 4 * c + 1, 2 * r + 1, arrow)
    legend = "@ agent  G goal  " + ("H hole" if "H" in "".join(layout) else
                                   "C cliff" if "C" in "".join(layout) else "< exit (0.1)")
    _write(grid, 0, min(2 * len(layout), height - 1), legend[:width])
    return _text(grid)


def blackjack(obs: Sequence[float], width: int, height: int) -> str:
    """Blackjack's hand from its flattened observation: the player's sum (one-hot of 32),
    the dealer's showing card (of 11; 1 is an ace) and whether the player holds a usable ace
    (of 2)."""
    grid = _grid(width, height)
    if len(obs) != 45:
        return observation_bars(obs, width, height)
    total, dealer, ace = (int(np.argmax(obs[a:b])) for a, b in ((0, 32), (32, 43), (43, 45)))
    card = {1: "A", 10: "10 (or a face)"}.get(dealer, str(dealer))
    lines = [f"your hand   {total}" + ("  (an ace counts 11)" if ace else ""),
             f"dealer shows {card}", "",
             "stick: the dealer draws to 17", "hit: one more card; over 21 loses"]
    for row, line in enumerate(lines[:height]):
        _write(grid, 0, row, line[:width])
    return _text(grid)


def corridor(state: int | None, p_right: float | None, width: int, height: int) -> str:
    """The short corridor: its cells with the agent (@), the switched cell (⇄) and the
    goal; below, the exact J(p) over p = pi(right), the policy's p on it (●) and the
    best p (★)."""
    grid = _grid(width, height)
    cells = ["   ", " ⇄ ", "   ", " G "]
    if state is not None and 0 <= state < len(cells):
        cells[state] = " @ " if state != SWITCHED else "@⇄ "
    _write(grid, 0, 0, ("┌" + "┬".join("───" for _ in cells) + "┐")[:width])
    _write(grid, 0, 1, ("│" + "│".join(cells) + "│")[:width])
    _write(grid, 0, 2, ("└" + "┴".join("───" for _ in cells) + "┘   ⇄ switched")[:width])
    best = float(objective(BEST_P, STEP_CAP))
    if p_right is not None:
        mine = f"● p {p_right:.3f}  J {float(objective(p_right, STEP_CAP)):.2f}"
        _write(grid, 0, height - 2, mine[:width])
    _write(grid, 0, height - 1, f"★ p {BEST_P:.3f}  J {best:.2f} (best)"[:width])
    rows = height - 5  # the curve's, between the corridor and the figures
    if rows >= 3 and width >= 12:
        floor = 3 * best  # J below three times the best is drawn at the bottom
        ps = np.linspace(0.0, 1.0, width)
        js = objective(ps, STEP_CAP)

        def row(j: float) -> int:
            return 3 + round((1 - (max(j, floor) - floor) / (best - floor)) * (rows - 1))

        for x, j in enumerate(js):
            _put(grid, x, row(j), "·")
        _write(grid, 0, 3, "J(p)")
        for mark, p in (("★", BEST_P), ("●", p_right)):
            if p is not None:
                x = round(p * (width - 1))
                _put(grid, x, row(js[x]), mark)
    return _text(grid)


RENDERERS: dict[str, Callable[[Sequence[float], int, int], str]] = {
    "pgtui/Dialogue-v0": dialogue,
    "CartPole-v1": cartpole,
    "CartPole-v0": cartpole,
    "Acrobot-v1": acrobot,
    "MountainCar-v0": mountain_car,
    "MountainCarContinuous-v0": mountain_car,
    "Pendulum-v1": pendulum,
    DISCRETE_PENDULUM_ID: pendulum,
    "Blackjack-v1": blackjack,
}


def render(env_id: str, obs: Sequence[float], width: int, height: int,
           last: Sequence[float] | None = None,
           policy: Sequence[Sequence[float]] | None = None,
           engines: tuple[float, float] | None = None, state: int | None = None,
           probs: Sequence[float] | None = None) -> str:
    """A frame for ``env_id``; envs without a drawing get their observation as bars.
    ``last``: the dialogue's last finished response, drawn below the one being written;
    ``policy``: pi(.|s) of every state of a tabular env, drawn as arrows; ``engines``:
    LunarLander's firing engines (``lander_engines``); ``state``: the true state where
    the observation does not tell it (the corridor), and ``probs`` the acting policy's
    pi(.|s) there."""
    width, height = max(width, 1), max(height, 1)
    if env_id == CORRIDOR_ID:
        return corridor(state, probs[RIGHT] if probs else None, width, height)
    if env_id.startswith("LunarLander"):
        return lunar_lander(obs, width, height, engines)
    one_hot = len(obs) > 8 and max(obs) == 1.0 and sum(obs) == 1.0
    if env_id in ARROWS or (one_hot and _ansi_env(env_id) is not None):  # toy-text
        return tabular(env_id, obs, width, height, policy)
    if last is not None and env_id == "pgtui/Dialogue-v0":
        return dialogue(obs, width, height, last)
    draw = RENDERERS.get(env_id)
    return draw(obs, width, height) if draw else observation_bars(obs, width, height)
