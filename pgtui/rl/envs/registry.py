"""Gymnasium envs by id, vectorized, plus the one-step bandit of the worked example.

A Discrete observation (Gymnasium's toy-text grids) reaches the networks one-hot,
through Gymnasium's own ``FlattenObservation`` wrapper.

Gymnasium 1.x vector envs reset an env on the step *after* it terminated or truncated:
that step's reward is 0 and its action is ignored. The rollouts mark such steps
invalid (``valid = False``) so no transition ever straddles two episodes; in exchange
the observation returned at a final step is the true final observation, which is what
a critic needs to bootstrap a truncated episode.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ... import lockdown
from .corridor import STEP_CAP

DIALOGUE_ID = "pgtui/Dialogue-v0"  # the RLHF capstone's dialogue (``pgtui/tasks/rlhf/``)
CORRIDOR_ID = "pgtui/ShortCorridor-v0"  # a stochastic optimum (``corridor.py``)
DISCRETE_PENDULUM_ID = "pgtui/PendulumDiscrete-v0"  # Pendulum-v1 with k torque levels
# CartPole has a native numpy vector env, many times faster than stepping Python envs;
# the dialogue's shares each prompt among a group of envs
_NATIVE_VECTOR = frozenset({"CartPole-v1", "CartPole-v0", DIALOGUE_ID})

ACTION_NAMES = {
    "CartPole-v1": ("left", "right"),
    "CartPole-v0": ("left", "right"),
    "MountainCar-v0": ("left", "none", "right"),
    "Acrobot-v1": ("-1", "0", "+1"),
    "pgtui/Bandit-v0": ("a1", "a2"),
    "pgtui/Chain-v0": ("left", "right"),
    "FrozenLake-v1": ("left", "down", "right", "up"),
    "CliffWalking-v1": ("up", "right", "down", "left"),
    "Taxi-v4": ("south", "north", "east", "west", "pickup", "dropoff"),
    "LunarLander-v3": ("none", "left", "main", "right"),
    "Blackjack-v1": ("stick", "hit"),
}


class EnvError(ValueError):
    """An env id that does not exist or that pgtui cannot drive."""


class BanditEnv(gym.Env):
    """A one-step K-armed bandit: pulling arm a pays ``means[a]`` plus Gaussian noise."""

    def __init__(self, means: tuple[float, ...] = (2.0, 0.0), noise: float = 0.0) -> None:
        self.means = np.asarray(means, dtype=np.float64)
        self.noise = float(noise)
        self.action_space = spaces.Discrete(len(means))
        self.observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        reward = self.means[int(action)] + self.noise * self.np_random.standard_normal()
        return np.zeros(1, dtype=np.float32), float(reward), True, False, {}

    @property
    def P(self) -> dict:
        """Its model, as Gymnasium's toy-text envs publish theirs (the mean payoffs)."""
        return {0: {a: [(1.0, 0, float(m), True)] for a, m in enumerate(self.means)}}

    initial_state_distrib = np.ones(1)


gym.register("pgtui/Bandit-v0", entry_point=BanditEnv, max_episode_steps=1)
gym.register("pgtui/Chain-v0", entry_point="pgtui.rl.envs.chain:ChainEnv", max_episode_steps=20)
gym.register(DISCRETE_PENDULUM_ID, entry_point="pgtui.rl.envs.discretized:discrete_pendulum",
             max_episode_steps=200)
# a deterministic policy loops forever there: the cap ends its episodes
gym.register(CORRIDOR_ID, entry_point="pgtui.rl.envs.corridor:ShortCorridorEnv",
             max_episode_steps=STEP_CAP)
# every response is RESPONSE_LENGTH tokens: the env ends it, no time limit needed
gym.register(DIALOGUE_ID, entry_point="pgtui.tasks.rlhf.env:DialogueEnv",
             vector_entry_point="pgtui.tasks.rlhf.env:DialogueVectorEnv")


@dataclass(frozen=True)
class EnvInfo:
    env_id: str
    obs_dim: int
    discrete: bool
    act_dim: int  # number of actions (discrete) or action dimensions (continuous)
    action_low: np.ndarray | None
    action_high: np.ndarray | None
    reward_threshold: float | None
    action_names: tuple[str, ...]


def aliased_state(envs: gym.vector.VectorEnv) -> int | None:
    """Env 0's true state where the env's observation does not tell it (an env marked
    ``aliased``, the corridor), for the drawing; None for any other env."""
    sub = getattr(envs, "envs", None)
    u = sub[0].unwrapped if sub else None
    return int(u.s) if u is not None and getattr(u, "aliased", False) else None


def solved_threshold(config, info: EnvInfo) -> float | None:
    """The mean return that counts as solved: the config's ``solved_threshold``, else the
    env's ``reward_threshold`` in the config's reward scale (None: the env has none)."""
    if config.solved_threshold is not None:
        return config.solved_threshold
    return None if info.reward_threshold is None else info.reward_threshold * config.reward_scale


def registered_id(env_id: str) -> str:
    """The registry id of ``env_id``; ``module:EnvId`` first imports the module that
    registers it (how Gymnasium names envs from other packages)."""
    module, sep, name = env_id.partition(":")
    if not sep:
        return env_id
    if lockdown.active():  # a served session never imports what a visitor names
        raise EnvError(lockdown.env_error(env_id))
    try:
        importlib.import_module(module)
    except Exception as err:  # missing, or broken on import: either way not usable
        raise EnvError(f"env '{env_id}': cannot import {module!r}: {err}") from None
    return name


def _spec(env_id: str) -> gym.envs.registration.EnvSpec:
    try:
        return gym.spec(registered_id(env_id))
    except gym.error.Error as err:
        raise EnvError(f"unknown env '{env_id}': {err}") from None


def _missing(env_id: str, err: Exception) -> str:
    """One line for an env whose package is missing: Box2D names pgtui's own extra (and
    not Gymnasium's hint to install swig, which the extra's wheel does not need)."""
    if "box2d" in str(err).lower():
        return f"env '{env_id}' needs Box2D, which is not installed: pip install 'pgtui[box2d]'"
    return f"env '{env_id}' needs a package that is not installed ({' '.join(str(err).split())})"


def check_installed(env_id: str) -> None:
    """Raise EnvError (one line) if ``env_id``'s module needs a package that is missing:
    importing the env's module is enough to tell, without building the env."""
    from gymnasium.envs.registration import load_env_creator

    entry = _spec(env_id).entry_point
    if isinstance(entry, str):
        try:
            load_env_creator(entry)
        except gym.error.DependencyNotInstalled as err:
            raise EnvError(_missing(env_id, err)) from None


def why_unknown(env_id: str) -> str:
    """Why ``env_id`` names no env, in a few words: a retired version with its successor
    ("Taxi-v3 is retired; use Taxi-v4"), or the closest registered ids to a typo."""
    import difflib

    from gymnasium.envs.registration import find_highest_version, parse_env_id

    try:
        namespace, name, version = parse_env_id(registered_id(env_id))
    except (gym.error.Error, EnvError):
        namespace, name, version = None, None, None
    if name is not None:
        newest = find_highest_version(namespace, name)
        if newest is not None and version is not None and newest != version:
            latest = f"{namespace}/" * bool(namespace) + f"{name}-v{newest}"
            if newest > version:
                return f"{env_id} is retired; use {latest}"
            return f"{env_id} does not exist; the newest version is {latest}"
    close = difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"unknown Gymnasium env id {env_id!r}{hint}"


def env_exists(env_id: str) -> bool:
    try:
        return registered_id(env_id) in gym.registry
    except EnvError:
        return False


def make_vec_env(env_id: str, num_envs: int, max_episode_steps: int = 0,
                 kwargs: dict | None = None) -> gym.vector.VectorEnv:
    """A vector env; CartPole uses Gymnasium's native numpy implementation.
    ``max_episode_steps`` > 0 replaces the env's own time limit; ``kwargs`` go to the
    env (a preset's ``env_kwargs``)."""
    _spec(env_id)
    env_id = registered_id(env_id)
    mode = "vector_entry_point" if env_id in _NATIVE_VECTOR else "sync"
    limit = {"max_episode_steps": max_episode_steps} if max_episode_steps > 0 else {}
    limit.update(kwargs or {})
    try:
        envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **limit)
        if flattenable(envs.single_observation_space):  # toy-text, Blackjack: one-hot
            envs.close()
            envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode,
                                wrappers=[gym.wrappers.FlattenObservation], **limit)
    except gym.error.DependencyNotInstalled as err:
        raise EnvError(_missing(env_id, err)) from None
    except Exception as err:  # any failure to build the env is the user's env id
        raise EnvError(f"cannot make env '{env_id}': {err}") from None
    describe(envs)  # refuse unsupported spaces before any training starts
    return envs


def make_env(env_id: str, max_episode_steps: int = 0, env_kwargs: dict | None = None) -> gym.Env:
    """One env of ``env_id`` (watch mode); ``max_episode_steps`` > 0 replaces the time limit."""
    kwargs = dict(env_kwargs or {})
    if max_episode_steps > 0:
        kwargs["max_episode_steps"] = max_episode_steps
    env = gym.make(env_id, **kwargs)
    if flattenable(env.observation_space):  # one-hot, as in training
        env = gym.wrappers.FlattenObservation(env)
    return env


def flattenable(space: gym.Space) -> bool:
    """Whether observations of ``space`` reach the networks through Gymnasium's
    ``FlattenObservation``: a Discrete (one-hot), or a Tuple or Dict of Discretes and
    flat Boxes (Blackjack's hand). A flat Box needs nothing; an image or a sequence
    cannot be flattened into a fixed vector that means anything to an MLP."""
    if isinstance(space, spaces.Discrete | spaces.MultiDiscrete | spaces.MultiBinary):
        return True
    if isinstance(space, spaces.Tuple | spaces.Dict):
        members = space.spaces.values() if isinstance(space, spaces.Dict) else space.spaces
        return all(flattenable(m) or (isinstance(m, spaces.Box) and len(m.shape) <= 1) for m in members)
    return False


def env_info(env_id: str, kwargs: dict | None = None) -> EnvInfo:
    """Spaces and names of ``env_id``, from a throwaway one-env vector env."""
    envs = make_vec_env(env_id, 1, kwargs=kwargs)
    try:
        return describe(envs)
    finally:
        envs.close()


def describe(envs: gym.vector.VectorEnv) -> EnvInfo:
    obs_space, act_space = envs.single_observation_space, envs.single_action_space
    env_id = envs.spec.id if envs.spec is not None else "?"
    if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 1:
        raise EnvError(f"env '{env_id}': observations must be a flat Box, or Discretes and flat "
                       f"Boxes (alone, or in a Tuple or Dict) to flatten into one, got {obs_space}")
    spec = _spec(env_id) if envs.spec is not None else None
    threshold = spec.reward_threshold if spec is not None else None
    if isinstance(act_space, spaces.Discrete):
        n = int(act_space.n)
        names = (envs.metadata.get("action_names") or ACTION_NAMES.get(env_id)
                 or tuple(str(i) for i in range(n)))
        return EnvInfo(env_id, obs_space.shape[0], True, n, None, None, threshold, names)
    if isinstance(act_space, spaces.Box) and len(act_space.shape) == 1:
        d = act_space.shape[0]
        names = tuple(f"a{i}" for i in range(d))
        return EnvInfo(env_id, obs_space.shape[0], False, d, act_space.low.astype(np.float32),
                       act_space.high.astype(np.float32), threshold, names)
    raise EnvError(f"env '{env_id}': action space must be Discrete or a flat Box, "
                   f"got {act_space}")
