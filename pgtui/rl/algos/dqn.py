"""DQN for S seeds at once: a replay buffer per seed, a target network, epsilon-greedy
acting, and one loss written once and differentiated by autograd.

The Q-network is the actor's MLP read as Q(s, .) (one output per action); the target
network is a copy of the seeds' rows (``SeedNets.views_of``). The replay buffer keeps
only valid transitions (``Batch.valid``): Gymnasium's autoreset step is never stored,
so no transition pairs an episode's last observation with the next one's first, and a
final step's next observation is the true final observation. The TD target bootstraps
unless the episode terminated: a truncated episode (CartPole at 500) bootstraps.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from ...config import Config
from ..events import EpsilonGreedy
from ..floats import as_float
from ..networks import SeedNets
from ..optim import RowOptimizer, descend
from ..rollout import Acting, Batch
from ..task import TaskHook
from .exact_gradient import expected_return
from .interface import Parts, policy_kl
from .replay import ReplayBuffer, ReplayLearner
from .returns import masked_mean
from .samples import Stats


def epsilon(config: Config, env_steps: int) -> float:
    """The exploration rate after ``env_steps``: linear from exploration_initial_eps to
    exploration_final_eps over exploration_fraction of total_steps, then flat."""
    span = config.exploration_fraction * config.total_steps
    progress = min(env_steps / span, 1.0) if span > 0 else 1.0
    start, end = config.exploration_initial_eps, config.exploration_final_eps
    return start + progress * (end - start)


def behaviour_probs(q: torch.Tensor, eps: float) -> torch.Tensor:
    """The epsilon-greedy policy's action probabilities from Q(s, .) (..., A)."""
    greedy = torch.nn.functional.one_hot(q.argmax(-1), q.shape[-1]).to(q.dtype)
    return (1 - eps) * greedy + eps / q.shape[-1]


@torch.no_grad()
def epsilon_greedy(nets: SeedNets, obs: torch.Tensor, generators: list[torch.Generator],
                   seeds: list[int], eps: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """(actions (len(seeds), N), Q (S, N, A)) for ``obs`` (S, N, obs_dim): each listed
    seed explores with its own probability ``eps[s]`` and its own generator (one
    uniform per env for the coin, one for the random action)."""
    q = nets.head(obs)
    mine = q if len(seeds) == q.shape[0] else q[seeds]
    n, actions = obs.shape[1], mine.shape[-1]
    draws = torch.stack([torch.rand(2, n, generator=generators[s], device=obs.device) for s in seeds])
    explore = draws[:, 0] < torch.tensor([eps[s] for s in seeds], device=obs.device).unsqueeze(1)
    random = (draws[:, 1] * actions).long().clamp_(max=actions - 1)
    return torch.where(explore, random, mine.argmax(-1)), q


def td_targets(nets: SeedNets, params: list[torch.Tensor], target_params: list[torch.Tensor],
               rewards: torch.Tensor, next_obs: torch.Tensor, terminated: torch.Tensor,
               gamma: float, double: bool) -> torch.Tensor:
    """r + gamma (1 - terminated) Q_target(s', a'), a' = argmax_a Q_target(s', a), or
    with ``double`` argmax_a Q_online(s', a) (Double DQN); (S, B), no gradient."""
    with torch.no_grad():
        next_q = nets.head(next_obs, target_params)
        if double:
            best = nets.head(next_obs, params).argmax(-1, keepdim=True)
            next_value = next_q.gather(-1, best).squeeze(-1)
        else:
            next_value = next_q.max(-1).values
        return rewards + gamma * (1.0 - terminated) * next_value


def dqn_loss(nets: SeedNets, params: list[torch.Tensor], target_params: list[torch.Tensor],
             sample: tuple[torch.Tensor, ...], config: Config) -> tuple[torch.Tensor, torch.Tensor]:
    """(Huber loss of Q(s, a) against the TD target, mean Q(s, a)), each (S,)."""
    obs, actions, rewards, next_obs, terminated = sample
    q = nets.head(obs, params).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    target = td_targets(nets, params, target_params, rewards, next_obs, terminated,
                        config.gamma, config.double_q)
    loss = torch.nn.functional.smooth_l1_loss(q, target, reduction="none").mean(-1)
    return loss, q.detach().mean(-1)


def dqn_update(nets: SeedNets, target_params: list[torch.Tensor], optimizer: RowOptimizer,
               buffer: ReplayBuffer, config: Config, seeds: list[int],
               generators: list[torch.Generator]) -> list[dict[str, float]]:
    """``gradient_steps`` steps of each seed on batches from its own buffer; per seed the
    mean TD loss, mean Q and gradient norm over them."""
    totals = torch.zeros(len(seeds), 3, device=nets.rows.device)
    stepping = torch.ones(len(seeds), dtype=torch.bool, device=nets.rows.device)
    steps = config.effective("gradient_steps")
    for _ in range(steps):
        sample = buffer.sample(seeds, config.batch_size, generators, nets.rows.device)
        # selected anew each step: a subset is a copy, and the last step moved them
        loss, q_mean = dqn_loss(nets, nets.select(seeds), nets.select(seeds, target_params),
                                sample, config)
        norms = descend(nets, optimizer, loss, seeds, config.max_grad_norm, stepping)
        totals += torch.stack([loss.detach(), q_mean, norms[:, 0]], 1)
    means = (totals / steps).tolist()
    return [{"td_loss": a, "q_mean": b, "grad_norm": c} for a, b, c in means]


class DQN(ReplayLearner):
    """What a DQN run keeps beside the networks: the target network, the replay buffer
    and its sampling generators, and each seed's count of target updates. It acts
    epsilon-greedily (uniformly before learning_starts) and shows Q(s, .)."""

    q_network = True
    networks = "q"
    state_key = "dqn"
    watched = ("td_loss", "grad_norm")

    @classmethod
    def check(cls, config: Config, envs: gym.vector.VectorEnv, task: TaskHook) -> str | None:
        if not isinstance(envs.single_action_space, gym.spaces.Discrete):
            return (f"DQN needs a Discrete action space: it acts by the argmax over one Q value "
                    f"per action, and {envs.single_action_space} has infinitely many actions (a "
                    f"policy gradient learns it; pgtui/PendulumDiscrete-v0 is Pendulum with k torques)")
        return None

    def __init__(self, parts: Parts) -> None:
        super().__init__(parts, ())
        nets = parts.nets
        self.target_rows = nets.rows.detach().clone()
        self.target_params = nets.views_of(self.target_rows)
        self.target_updates = np.zeros(nets.num_seeds, dtype=np.int64)
        self.collected_from = parts.collector.env_steps.copy()  # env steps before the rollout
        parts.collector.acting = self._acting()

    def _acting(self) -> Acting:
        """The rollout's way to act: epsilon-greedy at each seed's current epsilon (the
        live config's), and uniformly random before learning_starts."""
        parts = self.parts
        generators = [r.generator for r in parts.runs]

        def act(obs: torch.Tensor, seeds: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
            config = parts.config()
            eps = [1.0 if steps < config.learning_starts else epsilon(config, int(steps))
                   for steps in parts.collector.env_steps]
            return epsilon_greedy(parts.nets, obs, generators, seeds, eps)
        return act

    def collect(self, config: Config, seeds: list[int]) -> Batch | None:
        self.collected_from = self.parts.collector.env_steps.copy()
        return super().collect(config, seeds)

    @torch.no_grad()
    def update_target(self, nets: SeedNets, seeds: list[int], before: np.ndarray, after: np.ndarray,
                      config: Config) -> None:
        """Each target_update_interval env steps crossed since ``before``: copy the online
        weights into the target (tau = 1), or average them in (Polyak, once per crossing)."""
        interval = config.target_update_interval
        for s in seeds:
            crossings = int(after[s] // interval - before[s] // interval)
            if crossings > 0:
                weight = 1.0 - (1.0 - config.effective("tau")) ** crossings
                self.target_rows[s].lerp_(nets.rows[s].detach(), weight)
                self.target_updates[s] += crossings

    def update(self, batch: Batch, config: Config) -> Stats:
        """Store the rollout, update the targets, then (after learning_starts) take the
        gradient steps; per seed its figures."""
        seeds, after = batch.seeds, self.parts.collector.env_steps
        self.buffer.add(batch)
        self.update_target(self.parts.nets, seeds, self.collected_from, after, config)
        stats = self.learn(config, seeds)
        return [{**stats.get(s, {}), "epsilon": epsilon(config, int(after[s])),
                 "buffer_fill": self.buffer_fill(s), "target_updates": float(self.target_updates[s])}
                for s in seeds]

    def gradient_steps(self, config: Config, seeds: list[int]) -> Stats:
        return dqn_update(self.parts.nets, self.target_params, self.parts.optimizer, self.buffer,
                          config, seeds, self.generators)

    @torch.no_grad()
    def policy_view(self, obs: torch.Tensor, seeds: list[int]) -> torch.Tensor:
        """Q(s, .): the epsilon-greedy policy and the greedy action both come from it."""
        return self.parts.nets.head(obs, self.parts.nets.select(seeds))

    def policy_change(self, before: torch.Tensor, after: torch.Tensor, mask: torch.Tensor) -> Stats:
        """KL between the epsilon-greedy policies before and after (at today's epsilon),
        and the share of states whose greedy action flipped."""
        config = self.parts.config()
        eps = epsilon(config, int(self.parts.collector.env_steps.max()))
        log_p, log_q = (behaviour_probs(q.double(), eps).log() for q in (before, after))
        flips = (before.argmax(-1) != after.argmax(-1)).to(before.dtype)
        return [{"policy_kl": kl, "greedy_flips": flip} for kl, flip in
                zip(masked_mean(policy_kl(log_p, log_q, discrete=True), mask).tolist(),
                    masked_mean(flips, mask).tolist(), strict=True)]

    def acting_probs(self, heads: torch.Tensor, seeds: list[int]) -> torch.Tensor:
        """The epsilon-greedy policy of each seed at its current epsilon (1 before
        learning_starts)."""
        config, steps = self.parts.config(), self.parts.collector.env_steps
        eps = [1.0 if steps[s] < config.learning_starts else epsilon(config, int(steps[s])) for s in seeds]
        return torch.stack([behaviour_probs(h.double(), e) for h, e in zip(heads, eps, strict=True)])

    def exact_figures(self, seeds: list[int]) -> Stats | None:
        """Beside its epsilon-greedy policy's, the objective of its greedy policy
        (``objective_greedy``), the one evaluation and watch mode play."""
        figures = super().exact_figures(seeds)
        if figures is None:
            return None
        model, nets = self.parts.tabular, self.parts.nets
        with torch.no_grad():
            x = as_float(model.observations, nets.rows.device)
            q = nets.head(x.expand(len(seeds), *x.shape), nets.select(seeds))
        greedy = torch.nn.functional.one_hot(q.argmax(-1), q.shape[-1]).double()
        for row, j in zip(figures, expected_return(model, greedy), strict=True):
            row["objective_greedy"] = float(j)
        return figures

    def summary(self, head: torch.Tensor) -> tuple[float, ...]:
        return tuple(head.tolist())  # Q(s, .)

    def table(self, head: torch.Tensor) -> torch.Tensor:
        return head

    def policy_shown(self, step: int, obs: np.ndarray, head: torch.Tensor) -> EpsilonGreedy:
        probs = tuple(behaviour_probs(head, epsilon(self.parts.config(), step)).tolist())
        return EpsilonGreedy(self.summary(head), probs, self.policy_table())

    def more_state(self, s: int) -> dict:
        return {"target_updates": int(self.target_updates[s])}

    def load_more_state(self, s: int, state: dict) -> None:
        self.target_updates[s] = int(state["target_updates"])
