"""The state of a vector env as plain tensors, so a resumed run steps exactly as before.

A Gymnasium env keeps its state in attributes: numpy arrays (CartPole's ``state``),
scalars (``TimeLimit._elapsed_steps``) and its ``np_random`` generator. ``capture``
walks the vector env, its sub-envs and each one's wrappers and keeps those attributes;
``restore`` sets them back on a freshly made env of the same id. Everything is stored
as tensors, numbers and strings, so a checkpoint holding it still loads with
``torch.load(weights_only=True)``. Attributes of other types (spaces, renderers,
callables) are configuration that a fresh env already has.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

_SCALARS = (bool, int, float, str, type(None))
NUMERIC = "biufc"  # numpy's kinds of bool, int, unsigned, float and complex: what a tensor holds


def _layers(envs: gym.vector.VectorEnv) -> dict[str, Any]:
    """Every object holding state, by a stable name: the vector env, then each sub-env's
    wrapper chain from the outside in."""
    layers: dict[str, Any] = {"vector": envs}
    for i, env in enumerate(getattr(envs, "envs", ())):
        depth = 0
        while env is not None:
            layers[f"env{i}.{depth}"] = env
            env, depth = getattr(env, "env", None), depth + 1
    return layers


def _encode(value: Any) -> Any | None:
    """A checkpoint-safe copy of one attribute, or None to skip it."""
    # numbers only: FrozenLake's map of bytes is configuration that a fresh env has
    if isinstance(value, np.ndarray) and value.dtype.kind in NUMERIC:
        return {"array": torch.from_numpy(value.copy())}
    if isinstance(value, np.generic) and value.dtype.kind in NUMERIC:
        return {"array": torch.from_numpy(np.asarray(value).copy()), "scalar": True}
    if isinstance(value, np.random.Generator):
        # PCG64's 128-bit state words do not fit a tensor; decimal strings are exact
        return {"rng": _stringify_ints(value.bit_generator.state)}
    if isinstance(value, _SCALARS):
        return {"value": value}
    if isinstance(value, tuple):  # e.g. MountainCar's state after a step: (position, velocity)
        items = [_encode(item) for item in value]
        return None if any(item is None for item in items) else {"tuple": items}
    return None


def _decode(stored: dict[str, Any]) -> Any:
    if "array" in stored:
        array = stored["array"].numpy().copy()
        return array[()] if stored.get("scalar") else array
    if "rng" in stored:
        state = _parse_ints(stored["rng"])
        generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
        generator.bit_generator.state = state
        return generator
    if "tuple" in stored:
        return tuple(_decode(item) for item in stored["tuple"])
    return stored["value"]


def _stringify_ints(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _stringify_ints(v) for k, v in data.items()}
    if isinstance(data, int) and not isinstance(data, bool):
        return f"int:{data}"
    return data


def _parse_ints(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _parse_ints(v) for k, v in data.items()}
    if isinstance(data, str) and data.startswith("int:"):
        return int(data[4:])
    return data


def capture(envs: gym.vector.VectorEnv) -> dict[str, dict[str, Any]]:
    """The restorable attributes of every layer of ``envs``."""
    state = {}
    for name, layer in _layers(envs).items():
        kept = {}
        for attr, value in vars(layer).items():
            encoded = _encode(value)
            if encoded is not None:
                kept[attr] = encoded
        state[name] = kept
    return state


def restore(envs: gym.vector.VectorEnv, state: dict[str, dict[str, Any]]) -> None:
    """Put ``capture``'s attributes back; ``envs`` must be made from the same id and size."""
    layers = _layers(envs)
    if set(layers) != set(state):
        raise ValueError("the saved env state does not match this env (different number of "
                         "envs or wrappers)")
    decoded = {name: {attr: _decode(stored) for attr, stored in attrs.items()}
               for name, attrs in state.items()}
    for name, attrs in decoded.items():  # check everything before changing anything
        for attr, value in attrs.items():
            current = getattr(layers[name], attr, None)
            if isinstance(current, np.ndarray) and np.shape(value) != current.shape:
                raise ValueError(f"the saved env state does not match this env ({attr} has "
                                 f"shape {np.shape(value)}, this env {current.shape})")
    for name, attrs in decoded.items():
        for attr, value in attrs.items():
            setattr(layers[name], attr, value)
