"""Frames of discrete worlds: toy-text grids and the chain with the policy's arrows,
Gymnasium's own text renders, Blackjack's hand, and the short corridor with its exact
J(p)."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np

from ..rl.envs.corridor import BEST_P, STEP_CAP, SWITCHED, objective
from .canvas import as_text, new_grid, observation_bars, put, write

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
def ansi_env(env_id: str):
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
    env = ansi_env(env_id)
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
        grid = new_grid(width, height)
        for r, line in enumerate(lines[:height]):
            write(grid, 0, r, line[:width])
        return as_text(grid)
    cols = len(layout[0])
    grid = new_grid(width, height)
    for r, row in enumerate(layout):
        for c, cell in enumerate(row):
            s = r * cols + c
            mark = "@" if s == state else cell
            arrow = " "
            if policy is not None and s < len(policy) and cell in ".S<" and arrows:
                best = max(range(len(policy[s])), key=lambda a: policy[s][a])
                arrow = arrows[best] if best < len(arrows) else "?"
            write(grid, 4 * c, 2 * r, f" {mark} ")
            write(grid, 4 * c + 1, 2 * r + 1, arrow)
    legend = "@ agent  G goal  " + ("H hole" if "H" in "".join(layout) else
                                   "C cliff" if "C" in "".join(layout) else "< exit (0.1)")
    write(grid, 0, min(2 * len(layout), height - 1), legend[:width])
    return as_text(grid)


def blackjack(obs: Sequence[float], width: int, height: int) -> str:
    """Blackjack's hand from its flattened observation: the player's sum (one-hot of 32),
    the dealer's showing card (of 11; 1 is an ace) and whether the player holds a usable ace
    (of 2)."""
    grid = new_grid(width, height)
    if len(obs) != 45:
        return observation_bars(obs, width, height)
    total, dealer, ace = (int(np.argmax(obs[a:b])) for a, b in ((0, 32), (32, 43), (43, 45)))
    card = {1: "A", 10: "10 (or a face)"}.get(dealer, str(dealer))
    lines = [f"your hand   {total}" + ("  (an ace counts 11)" if ace else ""),
             f"dealer shows {card}", "",
             "stick: the dealer draws to 17", "hit: one more card; over 21 loses"]
    for row, line in enumerate(lines[:height]):
        write(grid, 0, row, line[:width])
    return as_text(grid)


def corridor(state: int | None, p_right: float | None, width: int, height: int) -> str:
    """The short corridor: its cells with the agent (@), the switched cell (⇄) and the
    goal; below, the exact J(p) over p = pi(right), the policy's p on it (●) and the
    best p (★)."""
    grid = new_grid(width, height)
    cells = ["   ", " ⇄ ", "   ", " G "]
    if state is not None and 0 <= state < len(cells):
        cells[state] = " @ " if state != SWITCHED else "@⇄ "
    write(grid, 0, 0, ("┌" + "┬".join("───" for _ in cells) + "┐")[:width])
    write(grid, 0, 1, ("│" + "│".join(cells) + "│")[:width])
    write(grid, 0, 2, ("└" + "┴".join("───" for _ in cells) + "┘   ⇄ switched")[:width])
    best = float(objective(BEST_P, STEP_CAP))
    if p_right is not None:
        mine = f"● p {p_right:.3f}  J {float(objective(p_right, STEP_CAP)):.2f}"
        write(grid, 0, height - 2, mine[:width])
    write(grid, 0, height - 1, f"★ p {BEST_P:.3f}  J {best:.2f} (best)"[:width])
    rows = height - 5  # the curve's, between the corridor and the figures
    if rows >= 3 and width >= 12:
        floor = 3 * best  # J below three times the best is drawn at the bottom
        ps = np.linspace(0.0, 1.0, width)
        js = objective(ps, STEP_CAP)

        def row(j: float) -> int:
            return 3 + round((1 - (max(j, floor) - floor) / (best - floor)) * (rows - 1))

        for x, j in enumerate(js):
            put(grid, x, row(j), "·")
        write(grid, 0, 3, "J(p)")
        for mark, p in (("★", BEST_P), ("●", p_right)):
            if p is not None:
                x = round(p * (width - 1))
                put(grid, x, row(js[x]), mark)
    return as_text(grid)
