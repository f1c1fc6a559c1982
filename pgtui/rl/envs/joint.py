"""Several seeds' CartPole vector envs stepped as one call of Gymnasium's physics.

Gymnasium's native CartPole vector env costs about 100 us a call almost whatever its
number of envs, so a race's 8 seeds of 32 envs paid 8 calls where one would do.
``JointCartPole`` lays the seeds' envs side by side in one ``CartPoleVectorEnv`` of
S x N envs and steps them with Gymnasium's own ``step``. What makes each seed that seed
is kept: an env that resets draws its start from its own seed's generator, in the order
and shapes its own env would, so every seed's envs go exactly as they would alone
(``tests/test_joint_envs.py``). Between rollouts the seeds' own envs hold the state
(checkpoints, resume); ``gather`` and ``scatter`` move it in and out.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv

# what must match for two CartPole vector envs to share one step
_SETTINGS = ("num_envs", "max_episode_steps", "_sutton_barto_reward", "kinematics_integrator",
             "gravity", "masscart", "masspole", "length", "force_mag", "tau",
             "theta_threshold_radians", "x_threshold", "low", "high")


def hold_step(env: CartPoleVectorEnv, actions: np.ndarray, held: np.ndarray | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``env.step(actions)`` that leaves the envs ``held`` as they were: REINFORCE's
    envs whose episode is over and that the batch needs no more wait without taking
    a step (or drawing a start). Returns obs, reward, terminated, truncated; a held
    env's obs is its unchanged state's."""
    if held is None or not held.any():
        obs, reward, terminated, truncated, _ = env.step(actions)
        return obs, reward, terminated, truncated
    state, steps, prev_done = env.state[:, held], env.steps[held], env.prev_done[held]
    env.prev_done[held] = False  # no reset, so no draw from the generator
    obs, reward, terminated, truncated, _ = env.step(actions)
    env.state[:, held], env.steps[held], env.prev_done[held] = state, steps, prev_done
    obs[held] = state.T
    reward[held], terminated[held], truncated[held] = 0.0, False, False
    return obs, reward, terminated, truncated


class _SeedwiseStarts:
    """Stands in for the joint env's ``np_random``: the envs that reset this step draw
    their starts seed by seed, each seed from its own env's generator."""

    def __init__(self, joint: JointCartPole) -> None:
        self.joint = joint

    def uniform(self, low: float, high: float, size: tuple[int, int]) -> np.ndarray:
        rows, total = size
        if total == 0:  # no env resets; an empty draw leaves a generator as it was
            return np.empty(size)
        counts = self.joint.env.prev_done.reshape(len(self.joint.members), -1).sum(1)
        # a frozen seed's envs step on unseen: they take zeros, its generator stays put
        return np.concatenate([np.zeros((rows, k)) if s in self.joint.frozen else
                               member.np_random.uniform(low=low, high=high, size=(rows, k))
                               for s, (member, k) in enumerate(zip(self.joint.members,
                                                                 counts.tolist(), strict=True))
                               if k > 0], axis=1)


class JointCartPole:
    """S CartPole vector envs of N envs each, stepped as one of S x N."""

    def __init__(self, members: list[CartPoleVectorEnv]) -> None:
        self.members = members
        first = members[0]
        self.env = CartPoleVectorEnv(num_envs=len(members) * first.num_envs,
                                     max_episode_steps=first.max_episode_steps,
                                     sutton_barto_reward=first._sutton_barto_reward)
        self.env.kinematics_integrator = first.kinematics_integrator
        self.env.low, self.env.high = first.low, first.high
        self.env.np_random = _SeedwiseStarts(self)
        self.frozen: set[int] = set()  # seeds whose rollout ended before the others'

    @classmethod
    def build(cls, envs: list[gym.vector.VectorEnv]) -> JointCartPole | None:
        """None unless every env is Gymnasium's own CartPole vector env (no wrapper, no
        subclass), reset, with the same settings."""
        if len(envs) < 2 or any(type(e) is not CartPoleVectorEnv or e.state is None for e in envs):
            return None
        settings = [tuple(getattr(e, name) for name in _SETTINGS) for e in envs]
        return cls(list(envs)) if all(s == settings[0] for s in settings) else None

    def gather(self) -> None:
        """Take the seeds' env state into the joint env (before a rollout)."""
        self.frozen = set()
        self.env.state = np.concatenate([p.state for p in self.members], axis=1)
        self.env.steps = np.concatenate([p.steps for p in self.members])
        self.env.prev_done = np.concatenate([p.prev_done for p in self.members])

    def freeze(self, seed: int) -> None:
        """Seed ``seed``'s rollout has ended: its env keeps the state it has now, and
        what the joint env does with those envs from here on is never seen."""
        self._give_back(seed)
        self.frozen.add(seed)

    def scatter(self) -> None:
        """Give each seed's env its state back (after a rollout)."""
        for seed in range(len(self.members)):
            if seed not in self.frozen:
                self._give_back(seed)

    def _give_back(self, seed: int) -> None:
        n, member = self.members[0].num_envs, self.members[seed]
        cut = slice(seed * n, (seed + 1) * n)
        member.state = self.env.state[:, cut].copy()
        member.steps = self.env.steps[cut].copy()
        member.prev_done = self.env.prev_done[cut].copy()

    def step(self, actions: np.ndarray, held: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``actions`` (S, N) -> observations (S, N, 4), reward, terminated, truncated
        (S, N); the envs ``held`` (S, N) wait (``hold_step``)."""
        shape = actions.shape
        obs, reward, terminated, truncated = hold_step(
            self.env, actions.reshape(-1), None if held is None else held.reshape(-1))
        return (obs.reshape(*shape, -1), reward.reshape(shape), terminated.reshape(shape),
                truncated.reshape(shape))


class SeedEnvs:
    """S seeds' vector envs of N envs each, stepped through one interface: one call of
    Gymnasium's physics for all of them where they are its native CartPole
    (``JointCartPole``), one vector env after another otherwise.

    A rollout may take only some seeds (the others finished, diverged, or have their
    episodes in): their envs are not stepped, and ``step`` reports them unchanged.
    """

    def __init__(self, envs: list[gym.vector.VectorEnv]) -> None:
        self.envs = envs
        self.joint = JointCartPole.build(envs)
        # an env can wait a step out without taking it (``hold_step``)
        self.can_hold = self.joint is not None or all(type(e) is CartPoleVectorEnv for e in envs)
        # seeds whose env raised (several seeds: the others go on); the trainer reports them
        self.failed: dict[int, Exception] = {}

    def begin(self, seeds: list[int]) -> None:
        """A rollout of ``seeds`` starts (their envs' state is current)."""
        if self.joint is not None:
            self.joint.gather()
            for s in sorted(set(range(len(self.envs))) - set(seeds)):
                self.joint.freeze(s)

    def leave(self, seed: int) -> None:
        """Seed ``seed``'s rollout ended before the others': its envs keep their state."""
        if self.joint is not None:
            self.joint.freeze(seed)

    def end(self) -> None:
        if self.joint is not None:
            self.joint.scatter()

    def step(self, actions: np.ndarray, seeds: list[int], obs: np.ndarray,
             held: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``actions`` (S, N[, d]) -> observations (S, N, obs_dim), reward, terminated,
        truncated (S, N). Seeds not in ``seeds`` keep ``obs`` and report nothing; nor do
        the envs ``held`` (S, N), which wait without a step where ``can_hold``."""
        S, N = obs.shape[:2]
        if not self.can_hold:
            held = None
        if self.joint is not None:
            new_obs, reward, terminated, truncated = self.joint.step(actions, held)
            new_obs = new_obs.astype(np.float32, copy=False)
            if len(seeds) < S:
                idle = np.ones(S, dtype=bool)
                idle[seeds] = False
                new_obs[idle], reward[idle], terminated[idle], truncated[idle] = obs[idle], 0, False, False
            return new_obs, reward.astype(np.float32, copy=False), terminated, truncated
        if S == 1 and seeds:  # a single run: its env's own arrays, no copy
            if held is not None:
                o, reward, terminated, truncated = hold_step(self.envs[0], actions[0], held[0])
            else:
                o, reward, terminated, truncated, _ = self.envs[0].step(actions[0])
            return (np.asarray(o, dtype=np.float32)[None], np.asarray(reward, dtype=np.float32)[None],
                    terminated[None], truncated[None])
        new_obs = obs.copy()
        reward = np.zeros((S, N), dtype=np.float32)
        terminated, truncated = np.zeros((S, N), dtype=bool), np.zeros((S, N), dtype=bool)
        for s in seeds:
            try:
                if held is not None:
                    out = hold_step(self.envs[s], actions[s], held[s])
                else:
                    out = self.envs[s].step(actions[s])[:4]
                new_obs[s], reward[s], terminated[s], truncated[s] = out
            except Exception as err:  # a user's env failing: this seed ends, the others go on
                self.failed[s] = err
        return new_obs, reward, terminated, truncated

    def close(self) -> None:
        for env in self.envs:
            env.close()
