"""A character grid to draw env frames on, and the drawing of any observation as bars.

Terminal cells are about twice as tall as they are wide (``CELL_ASPECT``), so drawings
double horizontal distances to keep angles true. Every frame has exactly ``height``
lines of ``width`` characters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

CELL_ASPECT = 2.0  # a cell's height in widths

Grid = list[list[str]]


def new_grid(width: int, height: int) -> Grid:
    return [[" "] * width for _ in range(height)]


def as_text(grid: Grid) -> str:
    return "\n".join("".join(row) for row in grid)


def put(grid: Grid, x: float, y: float, ch: str) -> None:
    col, row = round(x), round(y)
    if 0 <= row < len(grid) and 0 <= col < len(grid[0]):
        grid[row][col] = ch


def write(grid: Grid, x: int, y: int, text: str) -> None:
    for i, ch in enumerate(text):
        put(grid, x + i, y, ch)


def slope_char(dx: float, dy: float) -> str:
    """A line glyph for direction (dx, dy) in screen cells (y grows downward)."""
    angle = math.degrees(math.atan2(-dy, dx * 1.0)) % 180
    if angle < 22.5 or angle >= 157.5:
        return "─"
    if angle < 67.5:
        return "/"
    if angle < 112.5:
        return "│"
    return "\\"


def segment(grid: Grid, x0: float, y0: float, x1: float, y1: float, ch: str | None = None) -> None:
    """Points every half cell along the segment; glyph from its slope unless given."""
    steps = max(int(max(abs(x1 - x0), abs(y1 - y0)) * 2), 1)
    glyph = ch or slope_char(x1 - x0, (y1 - y0) * CELL_ASPECT)
    for i in range(steps + 1):
        t = i / steps
        put(grid, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, glyph)


def observation_bars(obs: Sequence[float], width: int, height: int,
                     labels: Sequence[str] | None = None) -> str:
    """Any env: each observation as a labelled bar, squashed by tanh to fit."""
    grid = new_grid(width, height)
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
        write(grid, 0, row, f"{label[:label_w]:<{label_w}} {''.join(bar)} {value:+.2f}"[:width])
    return as_text(grid)
