"""The locked-down mode of a served session (`pgtui serve` without ``--trusted``): whoever
reaches the page can type into the playground, so a session opens only shipped
presets, registered env ids and built-in algorithms (no ``module:EnvId`` or
``module:Class`` import, no path), and every setting
that sets one session's cost stays under a cap.

The server turns it on for a session's processes with ``PGTUI_LOCKDOWN=1``; the config's
checks, the preset loader and the env factory each ask ``active()``. It bounds what a
visitor can make pgtui do; it is not a sandbox for untrusted code.
"""

from __future__ import annotations

import math
import os
from typing import Any

ENV_VAR = "PGTUI_LOCKDOWN"
SESSION_VAR = "PGTUI_SESSION_DIR"  # set by the server: the session's own folder
CODE_VAR = "PGTUI_ALLOW_CODE"  # set by `pgtui serve --allow-code`: the session runs sandboxed

#: per setting, the most a served session may ask for, and why (a session is one of a
#: class on one machine: each cap keeps one visitor's cost near the shipped presets')
CAPS: dict[str, tuple[float, str]] = {
    "num_envs": (64, "the shipped presets use at most 32"),
    "seeds": (20, "a variant's seeds train as one batch, and how-many-seeds races 10 a side"),
    "total_steps": (3_000_000, "the shipped presets' longest single run"),
    "buffer_size": (1_000_000, "a replay buffer's memory grows with it"),
    "episodes_per_update": (256, "a batch's memory grows with it"),
    "pairs_per_update": (4096, "a batch's memory grows with it"),
    "num_steps": (2048, "a rollout's memory grows with it"),
    "batch_size": (4096, "a gradient step's memory grows with it"),
    "eval_episodes": (100, "evaluation time grows with it"),
    "update_epochs": (64, "an update's time grows with it"),
}
MAX_LAYERS, MAX_WIDTH = 3, 256  # hidden_sizes: the shipped presets' widest is 256 x 256
MAX_VARIANTS = 6  # a race's columns
MAX_RUNS = 30  # a race's variants x seeds: 6 columns of 5 seeds, or 2 of 10 and more
MAX_TRIALS = 40  # a sweep's grid points x seeds, as the shipped sweeps (they run two at a time)
SUFFIX = "in a served session (the server's --trusted lifts the limits)"


def active() -> bool:
    """Whether this process runs a locked-down served session."""
    return os.environ.get(ENV_VAR) == "1"


def served() -> bool:
    """Whether this process runs a served session, locked down or trusted."""
    return bool(os.environ.get(SESSION_VAR))


def code_allowed() -> bool:
    """Whether this session may run a visitor's code: only inside the sandbox that
    `pgtui serve --allow-code` makes for it (serving/sandbox.py), or outside a served session."""
    return not active() or os.environ.get(CODE_VAR) == "1"


def value_error(key: str, value: Any) -> str | None:
    """Why a locked-down session may not set ``key`` to ``value``, or None."""
    if key == "env" and isinstance(value, str):
        return env_error(value)
    if key == "device" and value == "cuda":
        return f"device: cuda is not offered {SUFFIX}"
    if key == "hidden_sizes" and isinstance(value, list) and (
            len(value) > MAX_LAYERS or any(isinstance(w, int) and w > MAX_WIDTH for w in value)):
        return f"hidden_sizes: at most {MAX_LAYERS} layers of {MAX_WIDTH} {SUFFIX}"
    if key in CAPS and isinstance(value, int | float) and value > CAPS[key][0]:
        cap, why = CAPS[key]
        return f"{key}: at most {cap:,} {SUFFIX}; {why}"
    if key == "variants" and isinstance(value, list):
        if len(value) > MAX_VARIANTS:
            return f"variants: at most {MAX_VARIANTS} {SUFFIX}"
        for variant in value:
            for k, v in variant.items() if isinstance(variant, dict) else ():
                if k != "name" and (why := value_error(k, v)):
                    return why
    return None


def env_error(env_id: str) -> str | None:
    """Why a locked-down session may not make ``env_id``. A ``module:EnvId`` id would
    import the module; any other id is a registered one or fails as unknown, importing
    nothing."""
    if ":" in env_id:
        return f"env: '{env_id}' would import a module, which is not allowed {SUFFIX}"
    return None


def algo_error(algo: str) -> str | None:
    """Why a locked-down session may not train ``algo``: a learner of the user's own
    (``module:Class``, an exercise's answer) would import its module; a built-in imports
    nothing named by a visitor, and neither does an answer of pgtui's own (a ``pgtui.``
    module: the lessons' exercise preset). (``plugins.is_plugin``'s test, which imports this.)"""
    own_answer = algo.startswith("pgtui.") and ":" not in algo and not algo.endswith(".py")
    if code_allowed():
        return None
    if (":" in algo or algo.endswith(".py") or "." in algo) and not own_answer:
        return f"algo: '{algo}' would import a module, which is not allowed {SUFFIX}"
    return None


def exercise_error() -> str | None:
    """Why a locked-down session may not run `pgtui exercise`: it imports the answer's file."""
    if code_allowed():
        return None
    return (f"an exercise runs the answer's own code, which is not allowed {SUFFIX} "
            "without --allow-code")


def race_error(variants: int, seeds: int) -> str | None:
    """Why a locked-down session may not run a race of ``variants`` x ``seeds``, or None."""
    if variants * seeds > MAX_RUNS:
        return f"race: {variants * seeds} runs (variants x seeds); at most {MAX_RUNS} {SUFFIX}"
    return None


def sweep_error(sweep: dict, seeds: int) -> str | None:
    """Why a locked-down session may not run this sweep grid, or None."""
    grid = [v for k, v in sweep.items() if k != "metric" and isinstance(v, list)]
    trials = math.prod(len(v) for v in grid) * seeds if grid else 0
    if trials > MAX_TRIALS:
        return f"sweep: {trials} trials (grid points x seeds); at most {MAX_TRIALS} {SUFFIX}"
    for key, values in sweep.items():
        for v in values if isinstance(values, list) else ():
            if why := value_error(key, v):
                return why
    return None


def preset_error(name_or_path: str, shipped: list[str]) -> str | None:
    """Why a locked-down session may not open this preset: only shipped names."""
    if name_or_path not in shipped:
        return (f"a served session opens only the shipped presets (`pgtui presets` lists them), "
                f"not '{name_or_path}'; the server's --trusted lifts this")
    return None
