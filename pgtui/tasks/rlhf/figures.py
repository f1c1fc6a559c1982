"""What a race and ``pgtui compare`` show of the dialogue (no torch): the exact figures
the hook reports, what a race keeps of them, a race column's lines and the compare
table's columns."""

from __future__ import annotations

from collections.abc import Mapping

from ...rl.stats import TASK, Stat
from ...rl.tasks import OPTIMUM_PREFIX, optimum_key

#: the figures the hook reports exactly each update (as ``<key>_exact``)
FIGURES = ("proxy_reward", "true_reward", "agreement_when_wrong", "accuracy_when_wrong", "kl")


def race_figures(stats: Mapping[str, float]) -> dict[str, float]:
    """An update's exact figures, the KL-regularised optimum at the run's beta and the
    distance to it, and the reward model's accuracy: what a race keeps."""
    if "proxy_reward_exact" not in stats:
        return {}
    figures = {k: stats[f"{k}_exact"] for k in FIGURES}
    figures.update({k: v for k, v in stats.items() if k.startswith(OPTIMUM_PREFIX)})
    if "kl_to_optimum_exact" in stats:
        figures["kl_to_optimum"] = stats["kl_to_optimum_exact"]
    figures["rm_accuracy"] = stats["rm_accuracy"]
    if optimum_key("true_reward") in figures:
        figures[optimum_key("kl_to_optimum")] = 0.0
    return figures


def _shown(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def column_lines(figures: Mapping[str, float]) -> list[str]:
    get = figures.get
    return [f"proxy reward {_shown(get('proxy_reward'), '+.2f')} · "
            f"true reward {_shown(get('true_reward'), '.3f')}",
            f"user wrong: agrees {_shown(get('agreement_when_wrong'), '.3f')} · "
            f"right {_shown(get('accuracy_when_wrong'), '.3f')}",
            f"KL to ref {_shown(get('kl'), '.3f')} · RM accuracy {_shown(get('rm_accuracy'), '.3f')}"]


COLUMNS = (("proxy reward", "proxy_reward", "+.2f"), ("true reward", "true_reward", ".3f"),
           ("agrees when wrong", "agreement_when_wrong", ".3f"),
           ("right when wrong", "accuracy_when_wrong", ".3f"), ("KL to π_ref", "kl", ".3f"),
           ("RM accuracy", "rm_accuracy", ".3f"), ("KL to π*", "kl_to_optimum", ".3f"))
CAPTION = ("exact by enumeration at the end, mean over seeds. proxy reward: the reward model's "
           "score (0 = the reference policy's); true reward: accuracy; when wrong: on prompts "
           "where the user's belief is wrong; KL(pi || pi_ref) per response; RM accuracy: on "
           "pairs of the policy's own responses; KL to π*: to the best policy against this "
           "reward model at this kl_coef, pi_ref exp(r / kl_coef) normalised (— at kl_coef 0, "
           "where it is infinite)")


MEANINGS = {"proxy_reward": "the reward model's expected score of a response (0: the reference policy's)",
            "true_reward": "the expected accuracy of a response",
            "agreement_when_wrong": "how often a response agrees with a user who is wrong",
            "accuracy_when_wrong": "how often a response is right when the user is wrong",
            "kl": "KL(pi || pi_ref) a response"}
SHOWN = {"kl": ("KL to ref", "KL"), "agreement_when_wrong": ("agrees|wrong", "agree")}
STATS = (
    *(Stat(f"{k}_exact", *SHOWN[k], f"{MEANINGS[k]}, exact by enumeration", TASK) for k in SHOWN),
    Stat("rm_accuracy", "RM accuracy", "rm acc", "the reward model's accuracy on pairs of the "
         "policy's own responses, exact", TASK),
    *(Stat(f"{k}_exact", k.replace("_", " "), k, f"{MEANINGS[k]}, exact by enumeration", TASK, shown=False)
      for k in FIGURES if k not in SHOWN),
    *(Stat(k, k.replace("_", " "), k, f"{MEANINGS[k]}, sampled from the batch", TASK, shown=False)
      for k in FIGURES),
    *(Stat(optimum_key(k), f"π* {k.replace('_', ' ')}", k, "the same of pi*, the best policy "
           "against this reward model at this kl_coef", TASK, shown=False) for k in FIGURES),
    Stat("kl_to_optimum_exact", "KL to π*", "KL π*", "KL(pi || pi*) a response, exact", TASK, shown=False),
    Stat("rm_accuracy_held_out", "RM held out", "rm held", "the reward model's accuracy on held-out "
         "labelled pairs", TASK, shown=False),
)
