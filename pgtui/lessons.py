"""The lessons' exercises, each answered by a preset: what to run and what to look for.

Plain data, shared by `pgtui lessons` and the playground's `L` picker.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lesson:
    title: str
    preset: str
    look_for: str  # two sentences


LESSONS = (
    Lesson("Why a policy: sometimes the best one is random", "stochastic-optimum",
           "In the short corridor every state looks the same and one of them swaps the "
           "actions, so any fixed choice loops forever; REINFORCE settles at p(right) = "
           "0.59, the exact optimum. DQN's greedy policy picks one action (J greedy -200, "
           "the step cap) and its epsilon-greedy one is only as good as epsilon makes it. "
           "(Rock-paper-scissors is left out: against a fixed opponent its best reply is "
           "deterministic, and against an adapting one plain policy gradient cycles.)"),
    Lesson("Why a policy: continuous actions", "discretized-vs-continuous",
           "DQN refuses Pendulum (`pgtui train --preset cartpole-dqn --set "
           "env=Pendulum-v1`): its argmax needs a list of actions. Here it gets 3 or 9 "
           "torque levels; SAC's Gaussian takes any torque and needs no list."),
    Lesson("Why a policy: small steps in parameters, small steps in behaviour",
           "pg-vs-dqn",
           "The 'policy KL' column is how far one update moves the policy, on the update's "
           "own states. PPO's stays small by construction; DQN's argmax jumps, and its "
           "'greedy flips' count the states whose action an update switched."),
    Lesson("A baseline keeps the gradient's mean", "cartpole-reinforce-baseline",
           "The diagnostics' 'baseline term' is the baseline's own contribution to the "
           "gradient, in standard errors from zero: it hovers near 1, what zero looks like "
           "through noise. Meanwhile 'grad var' is lower than without the baseline."),
    Lesson("Write REINFORCE yourself", "exercise-reinforce",
           "`pgtui exercise reinforce` writes reinforce.py, the lesson's pieces to fill in; "
           "`pgtui exercise check reinforce.py` grades each against pgtui's answer and the whole "
           "gradient against the exact one, and `pgtui exercise play reinforce.py` trains it here, "
           "reloading each save. This preset plays pgtui's own answer."),
    Lesson("Estimates against the true gradient", "chain-estimators",
           "On a chain whose true policy gradient is computed exactly, each update's "
           "estimate is compared with it by cosine. The baselines point closer to it than "
           "raw returns do on the same batches."),
    Lesson("Variance grows with the horizon", "variance-horizon",
           "CartPole capped at 100, 200 and 500 steps: pgtui compare fits grad var "
           "against the cap on a log-log scale. It grows faster than T^2, with or without "
           "a baseline."),
    Lesson("Variance grows with the return's square", "variance-reward-scale",
           "Rewards scaled x1, x10 and x100: the gradient scales with them, so its "
           "variance scales with their square. The fitted slope is 2."),
    Lesson("Every variance reduction, one gradient", "variance-techniques",
           "Full return, reward-to-go and the mean, value and optimal baselines at gamma = 1 "
           "all estimate the same gradient. The race's paired cuts show what each removes."),
    Lesson("How many seeds?", "how-many-seeds",
           "One setting raced against itself, seeds 0-9 against 10-19: any difference is "
           "luck. Once both stop, the second column says how often 3 seeds a side (and 5) "
           "would have called one the faster solver by 10% or more (about 40% and 25% of "
           "draws), while P(> seeds 0-9) and its interval hold 0.5, as they should."),
    Lesson("RLHF: biased feedback breeds sycophancy", "rlhf-sycophancy",
           "A reward model of labelers who side with the user makes the policy agree with "
           "wrong users. Fair labelers make it accurate; every figure is exact."),
    Lesson("Biased feedback is in the data, not the algorithm", "rlhf-methods",
           "RLOO, PPO, GRPO and DPO all end agreeing with wrong users more than the "
           "reference, as the optimum pi* of their reward does; with fair labelers "
           "(rlhf-methods-fair) every one ends more accurate. The method sets how far and "
           "how fast, and GRPO's std scaling and k3 term move its target off pi*."),
)
