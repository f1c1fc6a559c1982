"""PPO on gymnax's CartPole-v1 written the way PureJaxRL writes it: the environments, the
rollout, GAE and the epochs of minibatches all in JAX, one update compiled whole with
``jax.jit`` and ``CHUNK`` updates run per call under ``lax.scan``. PureJaxRL is a script,
not a package; this is pgtui's own loop with its settings (``SETTINGS``), so that its
time to solve can be measured as pgtui's is: stopped at the first update whose last 100
episode returns average 475, the compile counted.

Runs in the peers' environment (jax, flax, optax, gymnax; see benchmarks/README.md).
"""

from __future__ import annotations

import time

import flax.linen as nn
import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import optax

# PureJaxRL's CartPole PPO settings (its ppo.py defaults)
SETTINGS = {"lr": 2.5e-4, "num_envs": 4, "num_steps": 128, "epochs": 4, "minibatches": 4,
            "gamma": 0.99, "gae_lambda": 0.95, "clip": 0.2, "ent_coef": 0.01, "vf_coef": 0.5,
            "max_grad_norm": 0.5, "total_steps": 500_000}
CHUNK = 8  # updates a call: 4,096 env steps between two checks of the solved condition
WINDOW = 100  # episodes in the solved mean


class ActorCritic(nn.Module):
    """Two tanh MLPs of 64 units, orthogonal initialisation."""

    actions: int

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        def mlp(h: jnp.ndarray, out: int, scale: float) -> jnp.ndarray:
            for _ in range(2):
                h = nn.tanh(nn.Dense(64, kernel_init=nn.initializers.orthogonal(np.sqrt(2)))(h))
            return nn.Dense(out, kernel_init=nn.initializers.orthogonal(scale))(h)
        return mlp(x, self.actions, 0.01), mlp(x, 1, 1.0).squeeze(-1)


def make_update(s: dict):
    env, params = gymnax.make("CartPole-v1")
    net = ActorCritic(env.action_space(params).n)
    n_envs, n_steps = s["num_envs"], s["num_steps"]
    updates = s["total_steps"] // (n_envs * n_steps)
    batch = n_envs * n_steps
    schedule = optax.linear_schedule(s["lr"], 0.0, updates * s["epochs"] * s["minibatches"])
    tx = optax.chain(optax.clip_by_global_norm(s["max_grad_norm"]), optax.adam(schedule, eps=1e-5))
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def init(key: jax.Array):
        key, k_net, k_env = jax.random.split(key, 3)
        weights = net.init(k_net, jnp.zeros(env.observation_space(params).shape))
        obs, env_state = reset(jax.random.split(k_env, n_envs), params)
        tracker = (jnp.zeros(n_envs), jnp.zeros(WINDOW), jnp.zeros((), jnp.int32))
        return weights, tx.init(weights), obs, env_state, tracker, key

    def rollout_step(carry, _):
        weights, obs, env_state, (running, ring, count), key = carry
        key, k_act, k_env = jax.random.split(key, 3)
        logits, value = net.apply(weights, obs)
        action = jax.random.categorical(k_act, logits)
        log_prob = jax.nn.log_softmax(logits)[jnp.arange(n_envs), action]
        keys = jax.random.split(k_env, n_envs)
        next_obs, env_state, reward, terminated, truncated, _ = step(keys, env_state, action, params)
        done = terminated | truncated  # an end, either way, as PureJaxRL's GAE takes it
        running = running + reward
        # each finished episode's return into the ring of the last WINDOW, in order
        slot = jnp.where(done, (count + jnp.cumsum(done) - 1) % WINDOW, WINDOW)
        ring = ring.at[slot].set(running, mode="drop")
        count = count + done.sum()
        running = jnp.where(done, 0.0, running)
        carry = (weights, next_obs, env_state, (running, ring, count), key)
        return carry, (obs, action, log_prob, value, reward, done)

    def gae(values, rewards, dones, last_value):
        def back(next_, t):
            advantage, value = next_
            reward, done, v = t
            delta = reward + s["gamma"] * value * (1 - done) - v
            advantage = delta + s["gamma"] * s["gae_lambda"] * (1 - done) * advantage
            return (advantage, v), advantage
        _, advantages = jax.lax.scan(back, (jnp.zeros_like(last_value), last_value),
                                     (rewards, dones, values), reverse=True)
        return advantages, advantages + values

    def loss(weights, obs, action, old_log_prob, old_value, advantage, target):
        logits, value = net.apply(weights, obs)
        log_probs = jax.nn.log_softmax(logits)
        log_prob = jnp.take_along_axis(log_probs, action[:, None], 1).squeeze(1)
        clipped_value = old_value + jnp.clip(value - old_value, -s["clip"], s["clip"])
        value_loss = 0.5 * jnp.maximum((value - target) ** 2, (clipped_value - target) ** 2).mean()
        advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
        ratio = jnp.exp(log_prob - old_log_prob)
        policy_loss = -jnp.minimum(ratio * advantage,
                                   jnp.clip(ratio, 1 - s["clip"], 1 + s["clip"]) * advantage).mean()
        entropy = -(jnp.exp(log_probs) * log_probs).sum(-1).mean()
        return policy_loss + s["vf_coef"] * value_loss - s["ent_coef"] * entropy

    def update(state, _):
        weights, opt_state, obs, env_state, tracker, key = state
        (weights, obs, env_state, tracker, key), traj = jax.lax.scan(
            rollout_step, (weights, obs, env_state, tracker, key), None, n_steps)
        t_obs, t_action, t_log_prob, t_value, t_reward, t_done = traj
        _, last_value = net.apply(weights, obs)
        advantage, target = gae(t_value, t_reward, t_done.astype(jnp.float32), last_value)
        flat = jax.tree_util.tree_map(lambda x: x.reshape(batch, *x.shape[2:]),
                                      (t_obs, t_action, t_log_prob, t_value, advantage, target))

        def epoch(carry, _):
            weights, opt_state, key = carry
            key, k_perm = jax.random.split(key)
            order = jax.random.permutation(k_perm, batch).reshape(s["minibatches"], -1)

            def minibatch(carry, idx):
                weights, opt_state = carry
                grads = jax.grad(loss)(weights, *(x[idx] for x in flat))
                changes, opt_state = tx.update(grads, opt_state)
                return (optax.apply_updates(weights, changes), opt_state), None
            (weights, opt_state), _ = jax.lax.scan(minibatch, (weights, opt_state), order)
            return (weights, opt_state, key), None
        (weights, opt_state, key), _ = jax.lax.scan(epoch, (weights, opt_state, key), None, s["epochs"])
        _, ring, count = tracker
        solved_mean = jnp.where(count >= WINDOW, ring.mean(), -jnp.inf)
        return (weights, opt_state, obs, env_state, tracker, key), solved_mean

    chunk = jax.jit(lambda state: jax.lax.scan(update, state, None, CHUNK))
    return init, chunk, updates, batch


def time_to_solve(seed: int, threshold: float = 475.0, settings: dict | None = None) -> dict:
    """Train until the last-100 mean reaches ``threshold`` or the budget ends; the clock
    runs from before the first (compiling) call. One CPU thread: set XLA_FLAGS before
    importing jax (peer_runs.py does)."""
    s = {**SETTINGS, **(settings or {})}
    init, chunk, updates, batch = make_update(s)
    state = init(jax.random.PRNGKey(seed))
    start = time.perf_counter()
    done = 0
    while done < updates:
        state, means = chunk(state)
        means = np.asarray(means)
        hit = np.flatnonzero(means >= threshold)
        if hit.size:
            return {"solved": True, "seconds": time.perf_counter() - start,
                    "steps": (done + int(hit[0]) + 1) * batch}
        done += CHUNK
    return {"solved": False, "seconds": None, "steps": None}
