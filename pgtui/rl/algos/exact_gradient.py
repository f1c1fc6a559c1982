"""The true policy gradient of a tabular MDP whose model an env publishes (Gymnasium's
toy-text ``P``, pgtui's chain, corridor and bandit), by dynamic programming over the
horizon, and the exact objective of any policy there.

What REINFORCE with reward-to-go estimates is E[sum_t grad log pi(a_t|s_t) Q_t(s_t, a_t)],
Q_t the discounted return from step t on (its gamma^t factor left out, as the engine
leaves it out). With d_t(s) the chance of being in s at step t, still running, that is
the gradient of the surrogate sum_t sum_s d_t(s) sum_a pi(a|s) Q_t(s, a) with d and Q
held fixed, which autograd takes. At gamma = 1 it is the gradient of J = E[sum of
rewards] itself (``tests/test_exact_gradient.py`` checks it against finite differences).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np
import torch

from ..envs.registry import registered_id

if TYPE_CHECKING:
    from ..networks import SeedNets


@dataclass(frozen=True)
class TabularModel:
    transitions: np.ndarray  # (S, A, S): P(s' | s, a), episode still running in s'
    rewards: np.ndarray  # (S, A): expected reward
    start: np.ndarray  # (S,)
    observations: np.ndarray  # (S, obs_dim): what the policy sees in each state
    horizon: int  # steps before the time limit ends an episode


def tabular_model(env_id: str, max_episode_steps: int = 0, kwargs: dict | None = None
                  ) -> TabularModel | None:
    """The model ``env_id`` publishes, or None if it publishes none (or has no horizon)."""
    try:
        env = gym.make(registered_id(env_id), **(kwargs or {}))
    except Exception:  # an env that cannot be built alone has no model to read here
        return None
    try:
        u = env.unwrapped
        P = getattr(u, "P", None)
        start = getattr(u, "initial_state_distrib", None)
        horizon = max_episode_steps or (env.spec.max_episode_steps if env.spec else None)
        if not isinstance(P, dict) or start is None or not horizon or len(P) > 2000:
            return None
        S, A = len(P), len(P[0])
        transitions, rewards = np.zeros((S, A, S)), np.zeros((S, A))
        for s in range(S):
            for a in range(A):
                for prob, nxt, reward, terminated in P[s][a]:
                    rewards[s, a] += prob * reward
                    if not terminated:
                        transitions[s, a, int(nxt)] += prob
        published = getattr(u, "state_observations", None)  # states that look alike
        if published is not None:
            observations = np.asarray(published, dtype=np.float32)
        elif isinstance(env.observation_space, gym.spaces.Discrete):
            observations = np.eye(S, dtype=np.float32)
        else:  # one state whose observation never changes (the bandit)
            observations = np.asarray(env.reset(seed=0)[0], dtype=np.float32).reshape(1, -1)
        return TabularModel(transitions, rewards, np.asarray(start, dtype=np.float64),
                            observations, int(horizon))
    finally:
        env.close()


def surrogate(model: TabularModel, probs: torch.Tensor, gamma: float) -> torch.Tensor:
    """sum_t sum_s d_t(s) sum_a pi(a|s) Q_t(s, a), d and Q held fixed, per seed (N,)
    for policies ``probs`` (N, S, A): its gradient is what REINFORCE estimates."""
    P = torch.as_tensor(model.transitions, dtype=probs.dtype, device=probs.device)
    r = torch.as_tensor(model.rewards, dtype=probs.dtype, device=probs.device)
    pi = probs.detach()
    # Q_t for every t, backwards from the time limit
    Q = []
    V = torch.zeros(probs.shape[:2], dtype=probs.dtype, device=probs.device)
    for _ in range(model.horizon):
        q = r + gamma * torch.einsum("sat,nt->nsa", P, V)
        Q.append(q)
        V = (pi * q).sum(-1)
    Q.reverse()
    d = torch.as_tensor(model.start, dtype=probs.dtype, device=probs.device).expand(probs.shape[0], -1)
    total = probs.new_zeros(probs.shape[0])
    for t in range(model.horizon):
        total = total + (d.unsqueeze(-1) * probs * Q[t]).sum((1, 2))
        d = torch.einsum("ns,nsa,sat->nt", d, pi, P)
    return total


def expected_return(model: TabularModel, probs: torch.Tensor) -> torch.Tensor:
    """J = E[sum of rewards within the horizon] per policy (N,) for ``probs`` (N, S, A),
    differentiable; one product for P_pi and r_pi, then one matrix-vector product per
    step of the horizon (cheap enough for a figure at every update)."""
    P = torch.as_tensor(model.transitions, dtype=probs.dtype, device=probs.device)
    r = torch.as_tensor(model.rewards, dtype=probs.dtype, device=probs.device)
    moves, rewards = torch.einsum("nsa,sat->nst", probs, P), (probs * r).sum(-1)
    values = torch.zeros_like(rewards)
    for _ in range(model.horizon):
        values = rewards + (moves @ values.unsqueeze(-1)).squeeze(-1)
    return values @ torch.as_tensor(model.start, dtype=probs.dtype, device=probs.device)


def true_gradient(model: TabularModel, nets: SeedNets, params: list[torch.Tensor],
                  gamma: float) -> torch.Tensor:
    """The gradient REINFORCE estimates, in the actor's parameters of ``params`` (each
    (N, ...), N seeds' as ``SeedNets.select`` gives them), flattened in a row's order
    per seed (N, P_actor)."""
    actor = params[:len(nets.actor.shapes)]
    with torch.enable_grad():
        obs = torch.as_tensor(model.observations, device=actor[0].device)
        logits = nets.head(obs.expand(actor[0].shape[0], *obs.shape), params)
        if logits.shape[1] == 1 and len(model.start) > 1:
            raise ValueError("one observation for several states")
        probs = logits.double().softmax(-1).expand(-1, len(model.start), -1)
        grads = torch.autograd.grad(surrogate(model, probs, gamma).sum(), actor)
    return nets.as_rows(list(grads)).to(actor[0].dtype)
