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
from ...rl.tasks import Series, TaskSpec, Trace, optimum_key
from .drawing import draw
from .figures import CAPTION, COLUMNS, FIGURES, STATS, column_lines, race_figures

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


SPEC = TaskSpec("rlhf", DIALOGUE_ID, hook=_hook, prepare=_prepare,
                progress=(Series("proxy", "proxy_reward_exact", "+.2f", optimum_key("proxy_reward")),
                          Series("true", "true_reward_exact", ".3f", optimum_key("true_reward"))),
                progress_title="proxy vs true reward", env_kwargs=lambda c: {"labeler_bias": c.labeler_bias},
                figures=FIGURES, stats=STATS, race_figures=race_figures, draw=draw, columns=COLUMNS,
                caption=CAPTION, column_lines=column_lines,
                knobs="kl_coef {kl_coef:g} · bias {labeler_bias:g}",
                trace=Trace("true_reward", "true reward (exact)", "true reward", (0.0, 1.0)))
