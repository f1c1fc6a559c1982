"""Every random stream of a seed, derived from it through ``numpy.random.SeedSequence``.

A seed is an axis of a race: seeds 0, 1, 2... must give independent runs. Seeding each
stream with ``seed + k`` does not: Gymnasium seeds env i of a vector env with
``seed + i``, so seed 0's env 1 would start exactly as seed 1's env 0, and a generator
seeded ``seed + 1`` would replay the next seed's stream. Here each purpose of each
seed is its own child of ``SeedSequence(seed)`` (``spawn_key``), hashed to a 63-bit
integer: no two seeds or purposes share a stream, and the same seed always gives
the same ones (determinism, resume).
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
from numpy.random import SeedSequence

# one spawn key per purpose; a new purpose takes a new number, never an old one
(_INIT, _SAMPLER, _SHUFFLE, _DIAGNOSTICS, _ENVS, _WATCH_ENVS, _WATCH_SAMPLER, _REPLAY,
 _EVAL_ENVS) = range(9)


def _integer(sequence: SeedSequence) -> int:
    """A non-negative 63-bit seed (torch's and Gymnasium's seeds take it)."""
    return int(sequence.generate_state(1, dtype="uint64")[0]) >> 1


def separate_envs(envs: gym.vector.VectorEnv) -> bool:
    """A vector env of separate envs (one seed each on reset), not a native one (one
    generator for all)."""
    return isinstance(envs, gym.vector.SyncVectorEnv | gym.vector.AsyncVectorEnv)


@dataclass(frozen=True)
class SeedStreams:
    """The streams of one run seed: call each for the integer that seeds it."""

    seed: int

    def _stream(self, *key: int) -> int:
        return _integer(SeedSequence(self.seed, spawn_key=key))

    def init(self) -> int:
        """The networks' initial weights."""
        return self._stream(_INIT)

    def sampler(self) -> int:
        """The actions drawn while training."""
        return self._stream(_SAMPLER)

    def shuffle(self) -> int:
        """PPO's minibatch order."""
        return self._stream(_SHUFFLE)

    def diagnostics(self, update: int) -> int:
        """The gradient diagnostics' random groups at ``update``: a stream of their own,
        so that measuring never changes what the run learns."""
        return self._stream(_DIAGNOSTICS, update)

    def env_reset_seed(self, envs: gym.vector.VectorEnv) -> int | list[int]:
        """The seed for ``envs.reset``: one per env for a vector env of separate envs
        (each its own stream), one for a native vector env (one generator for all)."""
        if separate_envs(envs):
            return [self.env_seed(i) for i in range(envs.num_envs)]
        return self._stream(_ENVS)

    def env_seed(self, i: int) -> int:
        """Env ``i``'s seed in a vector env of separate envs."""
        return self._stream(_ENVS, i)

    def replay(self) -> int:
        """DQN's draws from its replay buffer."""
        return self._stream(_REPLAY)

    def eval_env(self, evaluation: int, i: int) -> int:
        """Env ``i``'s start in greedy evaluation number ``evaluation``."""
        return self._stream(_EVAL_ENVS, evaluation, i)

    def watch_env(self, episode: int) -> int:
        """A watched episode's start: never one that training used."""
        return self._stream(_WATCH_ENVS, episode)

    def watch_sampler(self) -> int:
        return self._stream(_WATCH_SAMPLER)
