"""REINFORCE trained with a student's functions: pgtui collects K whole episodes per seed
and steps the weights; the answer's functions make the loss from them. The file is read
again whenever it is saved: the new version trains from the next update if it computes
a loss there, else the last good one goes on and the error is one line on screen.
"""

from __future__ import annotations

import ast
import inspect
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from ...config import Config
from ...rl.algos.exact_gradient import true_gradient
from ...rl.algos.interface import Learner
from ...rl.algos.samples import Stats
from ...rl.events import CodeReloaded, RunError
from ...rl.rollout import Batch
from ..limits import time_limit
from ..loading import AnswerError, fresh_module, where
from . import answer

#: the functions of the exercise, as the scaffold has them
FUNCTIONS = ("policy_network", "log_prob", "entropy", "reward_to_go", "episode_return",
             "mean_baseline", "normalize", "advantages", "loss")
BASELINES = ("none", "mean", "value")


class Functions:
    """The functions training calls: the answer's where it has written them, pgtui's
    where it raises NotImplementedError (or lacks one); ``borrowed`` says which."""

    def __init__(self, module: ModuleType, path: Path | None) -> None:
        self.module, self.path = module, path
        self.borrowed: set[str] = set()
        self.unwritten = unwritten(module)

    def own(self) -> int:
        """How many of the exercise's functions are the answer's own (written, and not
        stood in for since the last count)."""
        return len(FUNCTIONS) - len(self.unwritten | self.borrowed)

    def call(self, name: str, *args: Any) -> Any:
        own = getattr(self.module, name, None)
        if callable(own):
            try:
                with time_limit():
                    return own(*args)
            except NotImplementedError:
                pass
            except Exception as err:
                raise AnswerError(where(err, self.path)) from None
        self.borrowed.add(name)
        return getattr(answer, name)(*args)


def unwritten(module: ModuleType) -> set[str]:
    """The exercise's functions ``module`` lacks or leaves as the scaffold has them: a
    body that only raises NotImplementedError (read from its source, not called)."""
    missing = {name for name in FUNCTIONS if not callable(getattr(module, name, None))}
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return missing
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name in FUNCTIONS):
            continue
        body = [n for n in node.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        raises = len(body) == 1 and isinstance(body[0], ast.Raise)
        if raises and "NotImplementedError" in ast.unparse(body[0]):
            missing.add(node.name)
    return missing


def _shaped(name: str, out: Any, shape: tuple[int, ...]) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise AnswerError(f"{name} returned a {type(out).__name__}, not a tensor")
    if tuple(out.shape) != shape:
        raise AnswerError(f"{name} returned shape {tuple(out.shape)}, expected {shape}")
    return out


def _finite(name: str, out: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    bad = ~torch.isfinite(out.detach()) if valid is None else valid & ~torch.isfinite(out.detach())
    if bad.any():
        at = [int(i) for i in bad.nonzero()[0]] if out.dim() else []
        place = f" at (t, env) = {tuple(at)}" if len(at) == 2 else ""
        raise AnswerError(f"{name} returned {float(out.detach()[bad][0])}{place}")
    return out


def answer_losses(functions: Functions, nets, params: list[torch.Tensor], batch: Batch,
                  config: Config, ent_coef: float | None = None) -> tuple[torch.Tensor, dict]:
    """Each seed's loss (S,) as the answer computes it from ``batch``, and its figures;
    ``ent_coef`` overrides the config's (0: the policy-gradient estimate alone). Raises
    AnswerError where a function fails, returns the wrong shape or a non-finite value."""
    if config.baseline not in BASELINES:
        raise AnswerError(f"the exercise's baselines are {', '.join(BASELINES)}, not {config.baseline}")
    T, S, N = batch.rewards.shape
    obs = batch.obs.transpose(0, 1).reshape(S, T * N, -1)
    logits = nets.head(obs, params).reshape(S, T, N, -1).transpose(0, 1)  # (T, S, N, A)
    values = nets.values(obs, params).reshape(S, T, N).transpose(0, 1)
    # the step-wise functions see every seed's envs side by side: (T, S N)
    flat = (T, S * N)
    returns_of = "reward_to_go" if config.return_mode == "reward_to_go" else "episode_return"
    returns = _shaped(returns_of, functions.call(returns_of, batch.rewards.reshape(flat),
                                                 batch.dones.reshape(flat), config.gamma), flat)
    valid = batch.valid.reshape(flat)
    _finite(returns_of, returns, valid)
    log_probs = _finite("log_prob", _shaped("log_prob", functions.call(
        "log_prob", logits.reshape(*flat, -1), batch.actions.reshape(flat)), flat), valid)
    entropies = _finite("entropy", _shaped("entropy", functions.call(
        "entropy", logits.reshape(*flat, -1)), flat), valid)
    returns, log_probs, entropies = (x.reshape(T, S, N) for x in (returns, log_probs, entropies))
    coef = config.ent_coef if ent_coef is None else ent_coef
    losses = []
    for s in range(S):
        ids, ok = batch.episode_ids[:, s], batch.valid[:, s]
        adv = _finite("advantages", _shaped("advantages", functions.call(
            "advantages", returns[:, s], values[:, s], ids, ok, config.baseline,
            config.normalize_advantage), (T, N)), ok)
        loss = _shaped("loss", functions.call(
            "loss", log_probs[:, s], adv, entropies[:, s], values[:, s], returns[:, s], ok,
            int(batch.num_episodes[s]), coef, config.vf_coef), ())
        losses.append(_finite("loss", loss))
    mean_entropy = (entropies.detach() * batch.valid).sum((0, 2)) / batch.valid.sum((0, 2)).clamp(min=1)
    return torch.stack(losses), {"entropy": mean_entropy}


class AnswerReinforce(Learner):
    """REINFORCE with an answer's functions (``learner_for`` binds a file to it)."""

    source: Path | None = None  # the answer's file, read again when saved
    module: ModuleType | None = None  # as first loaded

    def __init__(self, parts) -> None:
        super().__init__(parts)
        self.functions = Functions(self.module, self.source)
        self.version = 1
        self.stamp = self._stamp()
        self.bias = torch.zeros(parts.nets.num_seeds, 3, dtype=torch.float64)  # n, sum, sum of squares

    @classmethod
    def check(cls, config: Config, envs, task) -> str | None:
        if not hasattr(envs.single_action_space, "n"):
            return "the REINFORCE exercise's policy is a softmax: it acts in discrete action spaces only"
        if config.baseline not in BASELINES:
            return f"the exercise's baselines are {', '.join(BASELINES)}, not {config.baseline}"
        return None

    def collect(self, config: Config, seeds: list[int]) -> Batch | None:
        return self.parts.collector.episodes(self.parts.nets, config.episodes_per_update, seeds)

    # -- a save, tried at the next update ---------------------------------------------------

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.source.stat() if self.source is not None else None
        except OSError:
            return None
        return None if stat is None else (stat.st_mtime_ns, stat.st_size)

    def _saved(self) -> Functions | None:
        """The answer as saved since the last look, or None (unchanged, or it does not load:
        then said in one line)."""
        stamp = self._stamp()
        if stamp is None or stamp == self.stamp:
            return None
        self.stamp = stamp
        try:
            return Functions(fresh_module(self.source), self.source)
        except AnswerError as err:
            self._say(str(err))
            return None

    def _say(self, message: str) -> None:
        name = self.source.name if self.source is not None else "answer"
        said = message if message.startswith(name) else f"{name}: {message}"
        for run in self.parts.runs:
            run.emit(RunError(f"{said}; the last good version trains on"))

    def update(self, batch: Batch, config: Config) -> Stats:
        nets, params = self.parts.nets, self.parts.nets.select(batch.seeds)
        saved = self._saved()
        if saved is not None:
            try:
                losses, figures = answer_losses(saved, nets, params, batch, config)
            except AnswerError as err:
                self._say(str(err))
            else:
                self.functions, self.version = saved, self.version + 1
                for i in batch.seeds:
                    run = self.parts.runs[i]
                    run.emit(CodeReloaded(int(self.parts.collector.env_steps[i]), run.update + 1,
                                          self.source.name, self.version))
                return self._descend(losses, figures, batch, config, params)
        try:
            losses, figures = answer_losses(self.functions, nets, params, batch, config)
        except AnswerError as err:
            raise AnswerError(f"{self.source.name if self.source else 'answer'}: {err}") from None
        return self._descend(losses, figures, batch, config, params)

    def _descend(self, losses: torch.Tensor, figures: dict, batch: Batch, config: Config,
                 params: list[torch.Tensor]) -> Stats:
        parts, against = self.parts, None
        if parts.tabular is not None and any(d is not None for d in parts.diagnosing(batch.seeds)):
            against = self._against_truth(batch, config, params)
        grad_norm = self.descend(losses, batch.seeds, config.max_grad_norm)
        own = float(self.functions.own())
        self.functions.borrowed.clear()
        rows = torch.stack([losses.detach(), figures["entropy"], grad_norm], 1).tolist()
        out = [{"loss": a, "entropy": b, "grad_norm": c, "own_functions": own} for a, b, c in rows]
        if against is not None:
            for row, extra in zip(out, against, strict=True):
                row.update(extra)
        return out

    def _against_truth(self, batch: Batch, config: Config, params: list[torch.Tensor]) -> Stats:
        """Each seed's policy-gradient estimate (the answer's loss without its entropy
        bonus) against the true gradient: their cosine, and the estimate's error along
        the true gradient relative to it, averaged over the run's updates so far with
        its distance from zero in standard errors."""
        nets = self.parts.nets
        truth = true_gradient(self.parts.tabular, nets, params, config.gamma)
        losses, _ = answer_losses(self.functions, nets, params, batch, config, ent_coef=0.0)
        actor = params[:len(nets.actor.shapes)]
        grads = torch.autograd.grad(losses.sum(), actor, allow_unused=True)
        estimate = -nets.as_rows([torch.zeros_like(p) if g is None else g
                                  for p, g in zip(actor, grads, strict=True)])
        cosine = torch.nn.functional.cosine_similarity(estimate, truth, dim=1)
        along = ((estimate - truth) * truth).sum(1) / truth.square().sum(1).clamp(min=1e-30)
        out = []
        for i, seed in enumerate(batch.seeds):
            e = float(along[i])
            self.bias[seed] += torch.tensor([1.0, e, e * e], dtype=torch.float64)
            n, total, squares = self.bias[seed].tolist()
            mean = total / n
            se = math.sqrt(max(squares / n - mean * mean, 0.0) / max(n - 1, 1))
            out.append({"true_grad_cosine": float(cosine[i]), "true_grad_bias": mean,
                        "true_grad_bias_se": abs(mean) / se if se > 0 else math.nan})
        return out

    def seed_state(self, i: int) -> dict[str, Any]:
        return {"bias": self.bias[i].tolist()}

    def load_seed_state(self, i: int, state: dict[str, Any]) -> None:
        self.bias[i] = torch.tensor(state["bias"], dtype=torch.float64)
