"""What the trainer adds for the dialogue: the policy starts as the reference, each
token's reward carries TRL's KL penalty, and every update reports the task's figures,
sampled from the batch and exact by enumeration.

The KL penalty (as TRL's PPO trainer has it): token t earns
``-kl_coef * (log pi(a_t|s_t) - log pi_ref(a_t|s_t))``, the "k1" estimator of the KL
between the policy and the reference, with pi's log-prob taken when the token is
sampled (no gradient flows through the reward); the reward model's score comes on top
at the last token. Summed over a response, its mean under pi is exactly
KL(pi(.|x) || pi_ref(.|x)).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

from ...config import Config
from ...rl.floats import as_float
from ...rl.networks import SeedNets, categorical_log_prob
from ...rl.rollout import Batch, Shaping
from ...rl.task import TaskHook
from ...rl.tasks import optimum_key
from .dialogue import (
    AGREES,
    CORRECT,
    DIGITS,
    OPERANDS,
    RESPONSE_LENGTH,
    USER_WRONG,
    VOCAB,
    contexts,
    prompt_probs,
    response_index,
)
from .exact import policy_log_probs
from .figures import FIGURES
from .models import reference_actor, reference_probs, reward_model
from .optimum import kl_optimum
from .preferences import DialoguePairs, preference_pairs
from .reference import ACTIVATION, HIDDEN

#: the figures every update reports; each also as ``<key>_exact``


def architecture_error(hidden_sizes: list[int], activation: str, has_policy: bool) -> str | None:
    """Why a config cannot fine-tune the reference, or None."""
    if not has_policy:
        return "the dialogue fine-tunes a policy; DQN has none (use reinforce, ppo, grpo or dpo)"
    if list(hidden_sizes) != list(HIDDEN) or activation != ACTIVATION:
        return (f"the dialogue's policy starts as the reference policy, a {list(HIDDEN)} "
                f"{ACTIVATION} MLP; set hidden_sizes = {list(HIDDEN)} and activation = "
                f"\"{ACTIVATION}\"")
    return None


def decode_batch(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prompt indices, tokens (-1 unwritten), positions) of observations (n, OBS_DIM)."""
    a = obs[:, :OPERANDS].argmax(1)
    b = obs[:, OPERANDS:2 * OPERANDS].argmax(1)
    belief = obs[:, 2 * OPERANDS:2 * OPERANDS + DIGITS].argmax(1)
    start = 2 * OPERANDS + DIGITS
    slots = obs[:, start:start + RESPONSE_LENGTH * len(VOCAB)].reshape(len(obs), RESPONSE_LENGTH, -1)
    tokens = np.where(slots.max(2) > 0.5, slots.argmax(2), -1)
    position = obs[:, start + RESPONSE_LENGTH * len(VOCAB):].argmax(1)
    return (a * OPERANDS + b) * DIGITS + belief, tokens, position


def rm_ranking_accuracy(probs: torch.Tensor, scores: torch.Tensor, correct: torch.Tensor
                        ) -> torch.Tensor:
    """Exact, per policy (S,): of two responses it gives to a prompt that differ in
    correctness, the chance that the reward model scores the correct one higher;
    prompts weighed as asked. ``probs`` (S, P, R), ``scores`` and ``correct`` (P, R).
    Sorting by score makes it one cumulative sum: each correct response beats the
    wrong mass below it."""
    order = scores.argsort(1)
    p = probs.gather(2, order.expand_as(probs))
    c = correct.gather(1, order).to(probs.dtype)
    wrong_mass = p * (1 - c)
    below = wrong_mass.cumsum(2) - wrong_mass
    right_first = (p * c * below).sum(2)
    differ = (p * c).sum(2) * wrong_mass.sum(2)  # P(one right, one wrong), halved
    weight = torch.as_tensor(prompt_probs(), dtype=probs.dtype, device=probs.device) * (differ > 0)
    return (right_first / differ.clamp(min=1e-30) * weight).sum(1) / weight.sum(1).clamp(min=1e-30)


class Rlhf(TaskHook):
    """The dialogue's part of a run of S seeds on ``device``."""

    shows_last_final = True

    def __init__(self, device: torch.device) -> None:
        self.device = device
        # a copy in the engine's float type: the cached one stays as it was fitted
        self.reference = copy.deepcopy(reference_actor()).to(device, torch.get_default_dtype())
        self.contexts = [as_float(x, device) for x in contexts()]
        self.ref_logp = as_float(np.log(reference_probs()), device)
        weights = prompt_probs()
        self.prompt_p = as_float(weights, device)
        wrong = weights * USER_WRONG
        self.wrong_p = as_float(wrong / wrong.sum(), device)
        self.correct = as_float(CORRECT, device)
        self.agrees = as_float(AGREES, device)
        self.use_labeler_bias(0.0)

    def use_labeler_bias(self, labeler_bias: float, kl_coef: float = 0.0) -> None:
        self.labeler_bias = labeler_bias
        self.fitted = reward_model(labeler_bias)
        self.scores = as_float(self.fitted.scores, self.device)
        self.use_kl_coef(kl_coef)

    def use_kl_coef(self, kl_coef: float) -> None:
        """The optimum against this reward model at this KL coefficient, and its figures."""
        self.kl_coef = kl_coef
        self.optimum_logp = kl_optimum(self.ref_logp, self.scores, kl_coef)
        table = self.figures_of(self.optimum_logp.unsqueeze(0))
        self.optimum = {optimum_key(k): float(v[0]) for k, v in table.items() if k in FIGURES}

    def check(self, config: Config, has_policy: bool) -> str | None:
        return architecture_error(config.hidden_sizes, config.activation, has_policy)

    def start(self, nets: SeedNets) -> None:
        self.start_from_reference(nets)

    def shaping(self, config: Callable[[], Config]) -> Shaping:
        return self.kl_penalty(lambda: config().kl_coef)

    def apply(self, config: Config, envs: list[gym.Env]) -> None:
        """The reward model becomes the one fitted at the config's labeler bias, here
        and in every env."""
        self.use_labeler_bias(config.labeler_bias, config.kl_coef)
        for env in envs:
            env.unwrapped.set_labeler_bias(config.labeler_bias)

    def reference_logits(self, obs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.reference.net(obs)

    def preferences(self) -> DialoguePairs:
        """The pairs the current reward model was fitted to."""
        return preference_pairs(self.labeler_bias)

    def start_from_reference(self, nets: SeedNets) -> None:
        """Every seed's actor becomes pi_ref (its critic keeps its own init)."""
        flat = torch.cat([p.reshape(-1) for p in self.reference.parameters()]).to(nets.rows.device)
        with torch.no_grad():
            nets.rows[:, :nets.actor_size] = flat

    def kl_penalty(self, kl_coef: Callable[[], float]) -> Callable:
        """The collector's per-token reward shaping (see the module docstring)."""
        def shaping(obs: torch.Tensor, actions: np.ndarray, head: torch.Tensor) -> np.ndarray:
            coef = kl_coef()
            if coef == 0.0:
                return np.zeros(actions.shape, dtype=np.float32)
            a = torch.as_tensor(actions, device=head.device)
            logp = categorical_log_prob(head, a)
            with torch.no_grad():
                ref = categorical_log_prob(self.reference.net(obs), a)
            return (-coef * (logp - ref)).cpu().numpy().astype(np.float32)
        return shaping

    @torch.no_grad()
    def measure(self, nets: SeedNets, batch: Batch, sampled: bool = True) -> list[dict[str, float]]:
        """Per seed of the batch: the figures exact over every response and, where the
        policy wrote the batch, sampled from its responses."""
        params = nets.select(batch.seeds)
        exact = self.exact(lambda x: nets.head(x.expand(len(batch.seeds), *x.shape), params))
        out = []
        for i in range(len(batch.seeds)):
            figures = self._sampled(nets, params, batch, i) if sampled else {}
            figures.update({f"{k}_exact": float(v[i]) for k, v in exact.items()})
            figures["rm_accuracy_held_out"] = self.fitted.held_out_accuracy
            figures["rm_accuracy"] = figures.pop("rm_accuracy_exact")
            figures.update(self.optimum)
            if self.kl_coef == 0:  # pi* puts no mass off the best responses: KL to it is infinite
                figures.pop("kl_to_optimum_exact")
            out.append(figures)
        return out

    def exact(self, head: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, torch.Tensor]:
        """The policy's exact figures (each (S,)); ``head`` maps contexts (n, OBS_DIM) to
        logits (S, n, V)."""
        figures = self.figures_of(policy_log_probs(head, self.contexts))
        return figures

    def figures_of(self, logp: torch.Tensor) -> dict[str, torch.Tensor]:
        """The exact figures (each (S,)) of policies log pi(y|x) (S, prompts, responses),
        and their KL to the optimum pi* (``optimum.py``)."""
        probs = logp.exp()
        per_prompt = lambda table: (probs * table).sum(-1)  # noqa: E731
        # 0 log 0 = 0: a response pi never gives adds nothing to a KL from pi
        log_ratio = lambda ref: torch.where(probs > 0, logp - ref, 0.0)  # noqa: E731
        return {"proxy_reward": per_prompt(self.scores) @ self.prompt_p,
                "true_reward": per_prompt(self.correct) @ self.prompt_p,
                "agreement_when_wrong": per_prompt(self.agrees) @ self.wrong_p,
                "accuracy_when_wrong": per_prompt(self.correct) @ self.wrong_p,
                "kl": per_prompt(log_ratio(self.ref_logp)) @ self.prompt_p,
                "kl_to_optimum": per_prompt(log_ratio(self.optimum_logp)) @ self.prompt_p,
                "rm_accuracy": rm_ranking_accuracy(probs, self.scores, self.correct)}

    def _sampled(self, nets: SeedNets, params: list[torch.Tensor], batch: Batch, i: int
                 ) -> dict[str, float]:
        valid = batch.valid[:, i]
        obs, actions = batch.obs[:, i][valid], batch.actions[:, i][valid]
        if len(obs) == 0:
            return {}
        head = nets.head(obs.unsqueeze(0), [p[i:i + 1] for p in params])[0]
        logp = categorical_log_prob(head, actions)
        ref = categorical_log_prob(self.reference.net(obs), actions)
        prompts, tokens, position = decode_batch(obs.cpu().numpy())
        last = position == RESPONSE_LENGTH - 1
        figures = {"kl": float((logp - ref).mean()) * RESPONSE_LENGTH}
        if last.any():
            prompts, tokens = prompts[last], tokens[last]
            tokens[:, -1] = actions.cpu().numpy()[last]
            responses = response_index(tokens)
            correct, agrees = CORRECT[prompts, responses], AGREES[prompts, responses]
            wrong = USER_WRONG[prompts]
            figures.update(proxy_reward=float(self.fitted.scores[prompts, responses].mean()),
                           true_reward=float(correct.mean()))
            if wrong.any():
                figures.update(agreement_when_wrong=float(agrees[wrong].mean()),
                               accuracy_when_wrong=float(correct[wrong].mean()))
        return figures
