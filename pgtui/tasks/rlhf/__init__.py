"""The RLHF capstone: a tiny language policy answers sums, a reward model learns from
labelers' preferences, and the policy is fine-tuned against it with a KL leash to the
reference; every figure is exact by enumeration.

``dialogue.py`` (prompts, responses, what they claim), ``env.py`` (the Gymnasium envs),
``labelers.py``, ``reward_model.py``, ``reference.py`` and ``models.py`` (the fitted
models, cached), ``exact.py`` (log-probabilities of every response), ``hook.py`` (what
a run adds: start from the reference, the KL penalty, the figures).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...rl.envs.registry import DIALOGUE_ID
from ..spec import TaskSpec

if TYPE_CHECKING:
    import torch

    from ...config import Config
    from ...rl.task import TaskHook


def _hook(device: torch.device) -> TaskHook:
    from .hook import Rlhf

    return Rlhf(device)


def _prepare(configs: list[Config]) -> None:
    from .models import reference_actor, reward_model

    reference_actor()
    for bias in sorted({c.labeler_bias for c in configs}):
        reward_model(bias)


SPEC = TaskSpec("rlhf", DIALOGUE_ID, progress="proxy_and_true", progress_title="proxy vs true reward",
                hook=_hook, prepare=_prepare, env_kwargs=lambda c: {"labeler_bias": c.labeler_bias})
