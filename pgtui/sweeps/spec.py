"""What a sweep is: a base config, a grid of swept keys and a number of seeds.

A sweep is a Config whose ``sweep`` table holds the grid (``[sweep]`` in a preset,
``--grid`` on the command line) and whose ``seeds`` counts the seeds per grid point,
so its ``config.toml`` is all a resumed sweep needs. Every grid point x seed is a
trial; a grid point's seeds train together on the seed axis. No torch here.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from ..config import (
    FIELDS,
    Config,
    ConfigError,
    tomllib,
)
from ..config_checks import NOT_SWEPT, check_value, folder_name


@dataclass(frozen=True)
class Point:
    """One grid point: the swept keys' values, in the grid's key order."""

    values: tuple[tuple[str, Any], ...]

    @property
    def name(self) -> str:
        return " ".join(f"{key}={show(value)}" for key, value in self.values)

    @property
    def folder(self) -> str:
        """Where its trials keep their files: OUT/<folder>/seed-<n>/ (``race.seed_dir``)."""
        return folder_name(self.name)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.values)


def show(value: Any) -> str:
    """A swept value as the grid writes it: 0.001, value, true, [64, 64]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, list):
        return "[" + ",".join(show(v) for v in value) + "]"
    return str(value)


def _read_value(text: str) -> Any:
    """One value of a --grid list, read as TOML, else a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_grid(texts: list[str]) -> dict[str, list[Any]]:
    """``--grid KEY=V1,V2,...`` options as a [sweep] table, each value checked.

    The values are read as one TOML array when they make one (so ``hidden_sizes=[64],[64,64]``
    works), else split on commas, each read as TOML or a bare string (``baseline=none,value``).
    """
    grid: dict[str, list[Any]] = {}
    for text in texts:
        key, sep, raw = text.partition("=")
        key, raw = key.strip(), raw.strip()
        where = f"--grid {text!r}"
        if not sep or not key or not raw:
            raise ConfigError(f"{where}: expected KEY=V1,V2,...")
        if key not in FIELDS or key in NOT_SWEPT:
            why = "cannot be swept" if key in FIELDS else "is not a config key"
            raise ConfigError(f"{where}: '{key}' {why} (see `pgtui presets --keys`)")
        if key in grid:
            raise ConfigError(f"{where}: '{key}' is already swept by another --grid")
        try:
            values = tomllib.loads(f"v = [{raw}]")["v"]
        except tomllib.TOMLDecodeError:
            values = [_read_value(part.strip()) for part in raw.split(",")]
        grid[key] = [check_value(key, value, where) for value in values]
        if len({show(v) for v in grid[key]}) != len(values):
            raise ConfigError(f"{where}: a value is listed twice")
    return grid


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: the spec config, its grid points and its seeds."""

    config: Config  # the base config, with the grid in ``sweep`` and ``seeds`` per point
    points: tuple[Point, ...]

    @property
    def seeds(self) -> list[int]:
        return [self.config.seed + i for i in range(self.config.seeds)]

    @property
    def keys(self) -> list[str]:
        return list(self.config.sweep)

    def trial_config(self, point: Point, seed: int) -> Config:
        return self.config.replace(sweep={}, seeds=1, seed=seed, **point.as_dict())

    def point_configs(self, point: Point, seeds: list[int] | None = None) -> list[Config]:
        return [self.trial_config(point, seed) for seed in (self.seeds if seeds is None else seeds)]

    @property
    def trials(self) -> int:
        return len(self.points) * self.config.seeds


def build_sweep(config: Config) -> Sweep:
    """Every grid point's config checked now, so a bad one stops the sweep before any trial."""
    if not config.sweep:
        raise ConfigError("a sweep needs a grid: --grid KEY=V1,V2,... or a [sweep] table in "
                          "the preset")
    if config.variants:
        raise ConfigError("a sweep's preset cannot be a race ([[variants]]); sweep a single-run "
                          "preset")
    keys = list(config.sweep)
    points = tuple(Point(tuple(zip(keys, combo, strict=True)))
                   for combo in itertools.product(*config.sweep.values()))
    folders = [p.folder for p in points]
    if len(set(folders)) != len(folders):  # they name the trials' folders
        raise ConfigError(f"the grid's points must differ as folder names, got {folders}")
    sweep = Sweep(config, points)
    for point in points:
        try:
            sweep.trial_config(point, config.seed)
        except ConfigError as err:
            raise ConfigError(f"grid point {point.name}: {err}") from None
    return sweep
