"""An algorithm as the rest of pgtui sees it, without torch: its name and traits, its
settings and its values for those a run leaves unset, and how the screens show it. Its
learner (``interface.Learner``, torch) is named, and imported only by the process that
trains (``plugins.learner_class``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..stats import Stat

if TYPE_CHECKING:
    from ...config import Config


@dataclass(frozen=True)
class AlgoSpec:
    name: str  # as a preset says it: ``algo = "ppo"``
    title: str  # as a screen shows it: "PPO"
    description: str  # one line
    learner: str = ""  # its ``Learner`` as "module:Class" (a plugin's: where it was loaded from)
    #: the action spaces it can act in: "discrete", "box" (its learner's ``check`` says
    #: why not, in one line, where an env's is another)
    actions: tuple[str, ...] = ("discrete", "box")
    #: it keeps a replay buffer and learns off-policy (DQN, SAC)
    replay: bool = False
    #: it keeps the KL to a task's reference policy in its own loss, so the task adds no
    #: KL penalty to the reward (GRPO, DPO)
    kl_in_loss: bool = False
    #: it learns from what its policy samples (DPO learns from fixed labelled pairs)
    samples: bool = True
    #: it measures the noise of its policy gradient (the diagnostics pane, race columns)
    gradient_noise: bool = True
    #: the config fields of its own it reads, beside those every run reads (lr, gamma...):
    #: the settings pane shows these, and a race lets its variants set them
    settings: tuple[str, ...] = ()
    #: its values for settings a run leaves unset (a value, or a function of the config)
    unset: Mapping[str, Any | Callable[[Config], Any]] = field(default_factory=dict)
    #: why a config is not one it can run (settings that contradict each other), or None
    consistency: Callable[[Config], str | None] | None = None
    #: what its gradient estimates in expectation, as settings: two variants with equal
    #: ones compare like for like in a race (default: every setting of its own)
    expectation: Callable[[Config], tuple] | None = None
    #: settings that pick among estimators of one gradient: a race whose variants all
    #: run this algorithm measures the first variant's estimator on every variant's
    #: batches too (REINFORCE's baselines), for paired variance ratios
    paired: tuple[str, ...] = ()
    #: figures of its own that a race keeps the latest of, beside its task's (DPO's
    #: implicit reward on the pairs it last read)
    race_figures: tuple[str, ...] = ()
    #: a race's line of those figures, formatted with them (where a variant has them)
    race_note: str = ""
    #: the figures its learner reports (beside the engine's, ``stats.ENGINE``)
    stats: tuple[Stat, ...] = ()
    #: the figures the diagnostics pane keeps a place for, with a dash, until an update
    #: reports them (a policy gradient's loss and gradient noise)
    placeholders: tuple[str, ...] = ("policy_loss", "grad_var")
    #: the policy pane's title
    policy_title: str = "policy π(a|s)"
    #: its race column's settings line, formatted with the config's fields
    knobs: str = "lr {lr:g} · ent {ent_coef:g}"

    def expected_gradient(self, config: Config) -> tuple:
        """What ``config``'s gradient estimates in expectation (``expectation``)."""
        if self.expectation is not None:
            return (self.name, *self.expectation(config))
        return (self.name, config.gamma, *(repr(getattr(config, k)) for k in self.settings))

    def knob_line(self, config: Config) -> str:
        """Its race column's settings line for ``config``."""
        return f"{self.title} · " + self.knobs.format(**vars(config))
