"""The REINFORCE exercise's checks, one per function, each against pgtui's answer on the
grader's batches (``batches.py``) and on inputs made for the mistake it names."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..grading import Check, Mismatch, agrees, first_difference, tensor_of
from . import answer
from .batches import Episodes, chain_batch, hand_batch, one_episode

GAMMAS = (1.0, 0.9)


def _batches() -> tuple[tuple[str, Episodes], ...]:
    return (("the grader's batch", hand_batch()), ("a batch of one episode", one_episode()),
            ("a batch from the chain", chain_batch()))


def _at(index: tuple[int, ...]) -> str:
    return f"t={index[0]} of env {index[1]}" if len(index) == 2 else f"index {index}"


# -- the network and the distribution ----------------------------------------------------------

def check_policy_network(policy_network: Callable) -> None:
    net = policy_network(4, 3, 16)
    if not isinstance(net, nn.Module):
        raise Mismatch(f"policy_network: returned a {type(net).__name__}, not a torch.nn.Module")
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    shapes = [(m.in_features, m.out_features) for m in linears]
    if shapes != [(4, 16), (16, 16), (16, 3)]:
        raise Mismatch(f"policy_network: its linear layers are {shapes}; two hidden layers of 16 "
                       "for obs_dim 4 and 3 actions are [(4, 16), (16, 16), (16, 3)]")
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = tensor_of("policy_network", net(x), (5, 3))
        if (out >= 0).all() and torch.allclose(out.sum(-1), torch.ones(5)):
            raise Mismatch("policy_network: returns probabilities; return the logits (log_prob "
                           "and entropy apply the softmax)")
        a, b = x[:1], x[1:2]
        if torch.allclose(net(a + b) + net(torch.zeros_like(a)), net(a) + net(b), atol=1e-5):
            raise Mismatch("policy_network: is one linear map: put a tanh between the layers")


def check_log_prob(log_prob: Callable) -> None:
    logits = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(1))
    actions = torch.tensor([[0, 1, 2, 1, 0], [2, 2, 1, 0, 1]])
    got = tensor_of("log_prob", log_prob(logits, actions), (2, 5))
    expected = answer.log_prob(logits, actions)
    if agrees(got, expected.exp()):
        raise Mismatch("log_prob: returns pi(a|s), not its log")
    if (spot := first_difference(got, expected)) is not None:
        raise Mismatch(f"log_prob: at {spot} expected {float(expected[spot]):.4f}, "
                       f"got {float(got[spot]):.4f}")
    big = torch.tensor([[1000.0, 0.0, -1000.0]] * 3)
    got = tensor_of("log_prob", log_prob(big, torch.tensor([0, 1, 2])), (3,))
    if not agrees(got, torch.tensor([0.0, -1000.0, -2000.0]), tol=1e-3):
        raise Mismatch(f"log_prob: for logits (1000, 0, -1000) gave {got.tolist()}, expected "
                       "(0, -1000, -2000): take log_softmax, not the log of a softmax")


def check_entropy(entropy: Callable) -> None:
    logits = torch.randn(4, 6, 3, generator=torch.Generator().manual_seed(2))
    got = tensor_of("entropy", entropy(logits), (4, 6))
    expected = answer.entropy(logits)
    if agrees(-got, expected):
        raise Mismatch("entropy: has the wrong sign: an entropy is never negative")
    if agrees(got, expected / torch.log(torch.tensor(2.0))):
        raise Mismatch("entropy: is in bits (log2); use the natural log")
    if (spot := first_difference(got, expected)) is not None:
        raise Mismatch(f"entropy: at {spot} expected {float(expected[spot]):.4f}, got {float(got[spot]):.4f}")
    sure = tensor_of("entropy", entropy(torch.tensor([[1000.0, 0.0], [0.0, 0.0]])), (2,))
    if not agrees(sure, torch.tensor([0.0, float(torch.log(torch.tensor(2.0)))])):
        raise Mismatch(f"entropy: for logits (1000, 0) and (0, 0) gave {sure.tolist()}, expected "
                       "(0, log 2): 0 log 0 counts as 0 (take log_softmax)")


# -- returns -----------------------------------------------------------------------------------

def _returns_check(name: str, reference: Callable, other: tuple[Callable, str]) -> Callable[[Callable], None]:
    """``other``: the other kind of return, and what to say where it is given instead."""
    def run(function: Callable) -> None:
        for label, batch in _batches():
            for gamma in GAMMAS:
                got = tensor_of(name, function(batch.rewards, batch.dones, gamma), batch.rewards.shape)
                expected = reference(batch.rewards, batch.dones, gamma)
                spot = _origin(got, expected, batch.valid)
                if spot is None:
                    continue
                if agrees(got, other[0](batch.rewards, batch.dones, gamma), batch.valid):
                    raise Mismatch(f"{name}: {other[1]}")
                if gamma != 1 and agrees(got, reference(batch.rewards, batch.dones, 1.0), batch.valid):
                    raise Mismatch(f"{name}: ignores gamma (it gives gamma = 1's returns at gamma {gamma:g})")
                raise Mismatch(_returns_mismatch(name, got, expected, batch, spot, gamma, label))
    return run


def _origin(got: torch.Tensor, expected: torch.Tensor, valid: torch.Tensor) -> tuple[int, int] | None:
    """The latest valid step of the first env where ``got`` is off: a return is built from
    the end of its episode backwards, so that is where the error entered."""
    off = valid & ~((got.detach().double() - expected.double()).abs() <= 1e-4
                    * torch.maximum(expected.double().abs(), torch.ones_like(expected.double())))
    for n in range(off.shape[1]):
        steps = off[:, n].nonzero()
        if len(steps):
            return int(steps[-1]), n
    return None


def _returns_mismatch(name: str, got: torch.Tensor, expected: torch.Tensor, batch: Episodes,
                      spot: tuple[int, int], gamma: float, label: str) -> str:
    t, n = spot
    g, e = float(got[t, n]), float(expected[t, n])
    if batch.dones[t, n] and g != e:
        ends = "ends" if t + 1 < len(batch.dones) else "ends the batch"
        return (f"{name}: the episode that {ends} at t={t} (env {n}) carried {g - e:+.3g} into it "
                f"from after its end (gamma {gamma:g}, {label}): stop the sum where dones[t]")
    return f"{name}: at {_at(spot)} expected {e:.4g}, got {g:.4g} (gamma {gamma:g}, {label})"


# -- the baselines and normalization -----------------------------------------------------------

def _returns_of(batch: Episodes) -> torch.Tensor:
    return answer.reward_to_go(batch.rewards, batch.dones, 0.9)


def check_mean_baseline(mean_baseline: Callable) -> None:
    for label, batch in _batches():
        returns = _returns_of(batch)
        got = tensor_of("mean_baseline", mean_baseline(returns, batch.episode_ids, batch.valid),
                        returns.shape)
        expected = answer.mean_baseline(returns, batch.episode_ids, batch.valid)
        if (spot := first_difference(got, expected, batch.valid)) is None:
            continue
        own = returns[batch.valid].mean().expand_as(returns)
        if agrees(got, own, batch.valid):
            raise Mismatch("mean_baseline: each step's own episode is in its mean, so the baseline "
                           "depends on the actions it weighs and biases the gradient by 1/K: leave "
                           "the step's episode out")
        if agrees(got, returns.mean().expand_as(returns), batch.valid):
            raise Mismatch("mean_baseline: takes in steps that are not valid (and the step's own "
                           "episode): average over the other episodes' valid steps")
        raise Mismatch(f"mean_baseline: at {_at(spot)} of episode {int(batch.episode_ids[spot])} "
                       f"expected {float(expected[spot]):.4g}, got {float(got[spot]):.4g} ({label})")


def check_normalize(normalize: Callable) -> None:
    for label, batch in _batches():
        x = _returns_of(batch)
        got = tensor_of("normalize", normalize(x, batch.valid), x.shape).detach()
        kept = got[batch.valid]
        if not torch.isfinite(kept).all():
            raise Mismatch(f"normalize: not finite on valid steps ({label})")
        mean = float(kept.mean())
        if abs(mean) > 1e-4:
            raise Mismatch(f"normalize: the mean over valid steps is {mean:.3g}, not 0 ({label}): "
                           "leave out steps that are not valid")
        spread = float(kept.std())
        if not 0.94 < spread < 1.06:
            raise Mismatch(f"normalize: the standard deviation over valid steps is {spread:.3g}, not 1 "
                           f"({label})")
        centred = x[batch.valid] - x[batch.valid].mean()
        if (spot := first_difference(kept * centred.std(), centred)) is not None:
            raise Mismatch(f"normalize: is not (x - mean) / std at the {spot[0] + 1}th valid step ({label})")
    single = torch.tensor([[3.0], [7.0]])
    one = tensor_of("normalize", normalize(single, torch.tensor([[True], [False]])), (2, 1))
    if not torch.isfinite(one[0]).all() or abs(float(one[0, 0])) > 1e-6:
        raise Mismatch(f"normalize: a batch of one valid step gave {float(one[0, 0])}, expected 0 "
                       "(its standard deviation is undefined: only centre it)")


def check_advantages(advantages: Callable) -> None:
    batch = hand_batch()
    returns = _returns_of(batch)
    values = torch.linspace(-1, 2, returns.numel()).reshape(returns.shape).requires_grad_()
    for baseline in ("none", "mean", "value"):
        for normalized in (False, True):
            got = tensor_of("advantages", advantages(returns, values, batch.episode_ids, batch.valid,
                                                     baseline, normalized), returns.shape)
            if got.requires_grad:
                raise Mismatch(f"advantages: with baseline {baseline!r} they carry a gradient into "
                               "the critic: the policy's loss must not train V (values.detach())")
            expected = answer.advantages(returns, values, batch.episode_ids, batch.valid, baseline,
                                         normalized)
            if (spot := first_difference(got, expected, batch.valid, tol=1e-3)) is not None:
                raise Mismatch(f"advantages: with baseline {baseline!r}, normalized {normalized}, at "
                               f"{_at(spot)} expected {float(expected[spot]):.4g}, got "
                               f"{float(got[spot]):.4g} (mean_baseline and normalize pass first?)")


# -- the loss ----------------------------------------------------------------------------------

def check_loss(loss: Callable) -> None:
    batch = hand_batch()
    shape, K = batch.rewards.shape, batch.num_episodes
    g = torch.Generator().manual_seed(5)
    returns = _returns_of(batch)
    adv = torch.randn(shape, generator=g)
    parts = [torch.randn(shape, generator=g).requires_grad_() for _ in range(3)]  # logp, H, V

    def terms(function: Callable) -> tuple[torch.Tensor, list[torch.Tensor]]:
        value = function(parts[0], adv, parts[1], parts[2], returns, batch.valid, K, 0.05, 0.5)
        value = tensor_of("loss", value, ())
        if not value.requires_grad:
            raise Mismatch("loss: carries no gradient (is it built from the tensors it is given?)")
        return value, torch.autograd.grad(value, parts, allow_unused=True)

    value, grads = terms(loss)
    expected, truth = terms(answer.loss)
    named = ("log_probs", "entropies", "values")
    for name, got, want in zip(named, grads, truth, strict=True):
        got = torch.zeros(shape) if got is None else got
        stray = ~batch.valid & (got != 0)
        if stray.any():
            raise Mismatch(f"loss: steps that are not valid get a gradient in {name} "
                           f"(at {_at(tuple(int(i) for i in stray.nonzero()[0]))})")
        if agrees(got, want, batch.valid, tol=1e-5):
            continue
        valid_steps = int(batch.valid.sum())
        if agrees(got, -want, batch.valid, tol=1e-5):
            raise Mismatch(f"loss: its {name} term has the wrong sign (gradient descent would "
                           + ("make actions with a positive advantage less likely)" if name == "log_probs"
                              else "push it the wrong way)"))
        if agrees(got * valid_steps, want * K, batch.valid, tol=1e-5):
            which = {"log_probs": "the policy term", "entropies": "the entropy bonus"}.get(name, name)
            raise Mismatch(f"loss: {which} is a mean over the batch's steps; REINFORCE sums each "
                           "episode's steps and averages over the episodes: divide by num_episodes")
        spot = first_difference(got, want, batch.valid, tol=1e-5)
        raise Mismatch(f"loss: d loss / d {name} at {_at(spot)} is {float(got[spot]):.4g}, "
                       f"expected {float(want[spot]):.4g}")
    if not agrees(value, expected, tol=1e-4):
        raise Mismatch(f"loss: is {float(value):.5g}, expected {float(expected):.5g} (its gradients agree)")


CHECKS = (
    Check("policy_network", check_policy_network,
          "nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), "
          "nn.Linear(hidden, n_actions))"),
    Check("log_prob", check_log_prob,
          "logits.log_softmax(-1), then the entry of each action: .gather(-1, actions.unsqueeze(-1))"),
    Check("entropy", check_entropy,
          "with logp = logits.log_softmax(-1): -(logp.exp() * logp).sum(-1)"),
    Check("reward_to_go", _returns_check("reward_to_go", answer.reward_to_go, (
        answer.episode_return, "gives each step its episode's whole return, not the rewards from t on")),
          "run backwards over t: G = r[t] + gamma * G * (1 - dones[t]), so the sum restarts "
          "at each episode's end"),
    Check("episode_return", _returns_check("episode_return", answer.episode_return, (
        answer.reward_to_go, "gives each step the reward-to-go, not its episode's whole return G_0")),
          "the reward-to-go at each episode's first step (t = 0, and t after a done), carried "
          "forward over the episode's steps"),
    Check("mean_baseline", check_mean_baseline,
          "per episode, the sum and count of its valid steps' returns; for a step of episode k, "
          "(total sum - sum of k) / (total count - count of k)"),
    Check("normalize", check_normalize,
          "take the mean and std of advantages[valid] only; (advantages - mean) / (std + 1e-8)"),
    Check("advantages", check_advantages,
          "returns - baseline, where the value baseline is values.detach(); then normalize if asked"),
    Check("loss", check_loss,
          "mask with valid; policy: -(log_probs * advantages)[valid].sum() / num_episodes; the "
          "entropy bonus likewise; critic: 0.5 * ((values - returns)[valid] ** 2).mean()"),
)
