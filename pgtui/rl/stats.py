"""The figures an update reports, as everything that shows them reads them: each one's
key, its labels, its format, where the diagnostics pane puts it, whether a race
averages it over a run, its TensorBoard name and what it means (``docs/metrics.md``).

An algorithm declares its own (``AlgoSpec.stats``), a task its own (``TaskSpec.stats``);
``ENGINE`` holds those the engine measures for every algorithm. No screen guesses what
a key means from its name: it reads the schema (``schema.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

# where the diagnostics pane shows a figure: groups in this order, each in declaration order
OWN, GRADIENT, MOVEMENT, ESTIMATOR, TASK, RATE = range(6)


@dataclass(frozen=True)
class Stat:
    key: str
    label: str  # the diagnostics pane's
    short: str  # a narrow pane's
    meaning: str  # one line, as docs/metrics.md explains it
    group: int = OWN
    fmt: str = ""  # a format for its value ("{:.0%}"); empty: the pane's general number format
    averaged: bool = False  # a race averages it over every update of a run
    board: str = ""  # its TensorBoard name, where CleanRL has one; else pgtui/<key>
    shown: bool = True  # the diagnostics pane shows it (else: the records, TensorBoard)

    def shown_value(self, value: float) -> str | None:
        """Its value in its own format, or None for the pane's general one."""
        return self.fmt.format(value) if self.fmt else None


# shared by several algorithms
POLICY_LOSS = Stat("policy_loss", "policy loss", "loss", "the policy's loss, as minimized",
                   board="losses/policy_loss")
VALUE_LOSS = Stat("value_loss", "value loss", "vloss", "the critic's loss (half the squared error)",
                  board="losses/value_loss")
ENTROPY = Stat("entropy", "entropy", "ent", "the policy's mean entropy over the batch's states",
               board="losses/entropy")
APPROX_KL = Stat("approx_kl", "approx kl", "kl", "the clipped methods' estimate of KL(old || new)",
                 board="losses/approx_kl")
CLIPFRAC = Stat("clipfrac", "clip frac", "clip", "the share of ratios the clip cut",
                board="losses/clipfrac")
EXPLAINED_VARIANCE = Stat("explained_variance", "expl var", "ev",
                          "1 - Var(returns - V) / Var(returns) of the critic",
                          board="losses/explained_variance")
BUFFER_FILL = Stat("buffer_fill", "buffer", "buf", "the share of the replay buffer filled", fmt="{:.0%}")
Q_MEAN = Stat("q_mean", "mean Q", "Q", "the mean Q value of the sampled transitions",
              board="losses/q_values")

GRAD_NORM = Stat("grad_norm", "grad norm", "|g|", "the actor's gradient norm before clipping",
                 GRADIENT)
CRITIC_GRAD_NORM = Stat("critic_grad_norm", "critic grad norm", "|g| V", "the critic's, clipped on "
                        "its own (the pane shows it beside grad_norm)", GRADIENT, shown=False)
LOSS = Stat("loss", "loss", "loss", "the whole loss the step minimized (policy, value and "
            "entropy terms)", shown=False)
#: an algorithm with ``AlgoSpec.gradient_noise`` reports these (``algos/diagnostics.py``)
GRADIENT_NOISE = (
    Stat("grad_var", "grad var", "g var", "the policy gradient's variance: the mean squared "
         "distance of per-episode (or per-group) gradients from their mean", GRADIENT),
    Stat("grad_snr", "grad snr", "snr", "|mean gradient|^2 / its variance", GRADIENT),
    Stat("grad_var_ref", "grad var, ref", "g var ref", "in a race, grad_var of the first variant's "
         "estimator on this batch", GRADIENT, shown=False),
)

#: what the trainer measures of every run, whatever its learner
ENGINE = (
    Stat("policy_kl", "policy KL", "KL pi", "KL(pi_before || pi_after) of the update on its "
         "own states", MOVEMENT, averaged=True),
    Stat("sps", "steps/s", "sps", "env steps a second of training", RATE, board="charts/SPS"),
    Stat("objective", "J", "J", "on a tabular env: the exact expected return of the policy the "
         "run acts by", ESTIMATOR, shown=False),
    Stat("p_<action>", "p(action)", "p", "on a tabular env whose states all look alike: that "
         "policy's probability of each action but the first", ESTIMATOR, shown=False),
    # the record's own bookkeeping
    Stat("global_step", "env steps", "steps", "env steps taken", RATE, shown=False),
    Stat("learned_steps", "learned steps", "learned", "env steps the updates learned from", RATE,
         shown=False),
    Stat("update", "update", "update", "updates so far", RATE, shown=False),
    Stat("episodes", "episodes", "ep", "episodes finished so far", RATE, shown=False),
    Stat("last100_mean", "last-100 mean", "mean100", "the mean return of the last 100 episodes",
         RATE, shown=False, board="charts/last100_mean"),
    Stat("lr", "lr", "lr", "the learning rate of the update", RATE, shown=False,
         board="charts/learning_rate"),
    Stat("wall_s", "seconds", "s", "wall-clock seconds since the run started", RATE, shown=False),
)
