"""The task's two fitted models, built at first use and cached on disk: the reference
policy (one) and a reward model per labeler bias. Each is fitted from fixed seeds, so
a cached copy is the one a fresh fit would give. A cached file's name carries
``VERSION`` (bump it when the task's or the fitting's code changes) and a fingerprint
of the constants they were fitted with, so a changed constant never reads an old fit."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from ... import lockdown
from ...cache import cache_dir
from ...rl.policies import CategoricalActor
from . import labelers, reference
from . import reward_model as rm
from .dialogue import OBS_DIM, VOCAB, contexts
from .exact import policy_log_probs
from .reference import ACTIVATION, HIDDEN, fit_reference
from .reward_model import FittedRewardModel, fit_reward_model

VERSION = 3  # 2: fitted on one thread, whatever the process's cores; 3: pairs of distinct responses


def _fingerprint() -> str:
    constants = (VERSION, VOCAB, reference.HIDDEN, reference.ACTIVATION, reference.CORPUS_SIZE,
                 reference.NOISE, reference.FIT_STEPS, rm.PAIRS, rm.HELD_OUT, rm.FIT_STEPS,
                 labelers.FLATTERY, labelers.DECISIVENESS)
    return hashlib.sha256(repr(constants).encode()).hexdigest()[:12]


def _store(path: Path, write) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file;
    a cache that cannot be written is only a cache. A served session writes none (the
    server fills the cache before the first visitor)."""
    if lockdown.active():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as f:
            write(f)
        os.chmod(f.name, READABLE)  # a temporary file is its owner's only
        os.replace(f.name, path)
    except OSError:
        pass


READABLE = 0o644  # the cache's files: a sandboxed session (a user of its own) reads them


def share_cache() -> None:
    """Make the cache's files readable by every user, as ``_store`` now writes them (it
    once wrote them readable by their owner only): for `pgtui serve --allow-code`, whose
    sessions run as users of their own."""
    for path in cache_dir().glob("dialogue-*"):
        with contextlib.suppress(OSError):
            path.chmod(path.stat().st_mode | 0o044)


@functools.lru_cache(maxsize=1)
def reference_actor() -> CategoricalActor:
    """pi_ref, frozen, in float32 as it was fitted."""
    actor = CategoricalActor(OBS_DIM, len(VOCAB), list(HIDDEN), ACTIVATION).float()
    path = cache_dir() / f"dialogue-{_fingerprint()}-reference.pt"
    try:
        actor.load_state_dict(torch.load(path, weights_only=True))
    except (OSError, RuntimeError, ValueError):
        actor = fit_reference()
        _store(path, lambda f: torch.save(actor.state_dict(), f))
    actor.requires_grad_(False)
    return actor


@functools.lru_cache(maxsize=1)
def reference_probs() -> np.ndarray:
    """pi_ref(response | prompt), (NUM_PROMPTS, NUM_RESPONSES), float64."""
    actor = reference_actor()  # fitted, if it must be, outside no_grad
    with torch.no_grad():
        logp = policy_log_probs(actor.net, [torch.as_tensor(x) for x in contexts()])
    return logp.double().exp().numpy()


@functools.lru_cache(maxsize=8)
def reward_model(labeler_bias: float) -> FittedRewardModel:
    """The reward model fitted to labelers of ``labeler_bias``."""
    path = cache_dir() / f"dialogue-{_fingerprint()}-reward-{labeler_bias!r}.npz"
    try:
        with np.load(path) as data:
            return FittedRewardModel(labeler_bias, data["scores"], float(data["accuracy"]))
    except (OSError, KeyError, ValueError):
        fitted = fit_reward_model(reference_probs(), labeler_bias)
        _store(path, lambda f: np.savez(f, scores=fitted.scores, accuracy=fitted.held_out_accuracy))
        return fitted
