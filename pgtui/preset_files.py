"""The shipped presets and preset files: TOML, read with ``tomllib`` and validated as
a ``Config``; a preset is data, never executed."""

from __future__ import annotations

from pathlib import Path

from . import lockdown
from .config import Config, ConfigError, from_mapping, parse_toml
from .rl.algos.plugins import file_of


def presets_dir() -> Path:
    """Shipped presets: inside the package when installed, else the repository's."""
    packaged = Path(__file__).parent / "shipped_presets"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "presets"


def preset_names() -> list[str]:
    return sorted(p.stem for p in presets_dir().glob("*.toml"))


def resolve_preset(name_or_path: str) -> Path:
    """A shipped preset's name or a path to a TOML file (a served session: a name)."""
    if lockdown.active() and (why := lockdown.preset_error(name_or_path, preset_names())):
        raise ConfigError(why)
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.parent != Path("."):
        if not path.is_file():
            raise ConfigError(f"{name_or_path}: no such preset file")
        return path
    shipped = presets_dir() / f"{name_or_path}.toml"
    if not shipped.is_file():
        raise ConfigError(f"unknown preset '{name_or_path}'; choose one of: "
                          f"{', '.join(preset_names())}, or give a path to a .toml file")
    return shipped


def load_preset(name_or_path: str) -> Config:
    path = resolve_preset(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    data = parse_toml(text, str(path))
    for table in (data, *(v for v in data.get("variants", []) if isinstance(v, dict))):
        algo = table.get("algo")
        if isinstance(algo, str) and file_of(algo) is not None:
            # a learner's file is found beside the preset that names it
            table["algo"] = str(path.parent / algo) if not Path(algo).is_absolute() else algo
    return from_mapping(data, source=str(path))
