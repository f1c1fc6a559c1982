"""A race's statistics: the IQM by hand, the bootstrap interval's coverage on samples
whose answer is known, the probability of improvement by hand and beside scipy's
Mann-Whitney U, and a finished variant's figures."""

import math

import numpy as np
import pytest
from scipy import stats

from pgtui.preset_files import load_preset
from pgtui.rl.race.intervals import (
    certainty,
    false_winner_rate,
    false_winner_text,
    improvement_interval,
    iqm,
    iqm_interval,
    probability_of_improvement,
)
from pgtui.rl.race.spec import SeedProgress, same_setting, variant_configs


def test_iqm_by_hand():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8]) == (3 + 4 + 5 + 6) / 4  # two cut from each end
    assert iqm([8, 1, 7, 2, 6, 3, 5, 4]) == 4.5  # order does not matter
    assert iqm([0, 0, 10, 10, 10, 10, 1000, 1000]) == 10  # the outliers are the cut quarters
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == (3 + 4 + 5 + 6 + 7 + 8) / 6  # 10 // 4 = 2 cut
    assert iqm([3.5]) == 3.5


def test_a_seed_that_never_solved_is_infinitely_slow():
    two_of_ten = [10, 20, 30, 40, 50, 60, 70, 80, math.inf, math.inf]
    assert iqm(two_of_ten) == (30 + 40 + 50 + 60 + 70 + 80) / 6  # the quarter cut holds them
    found = iqm_interval(two_of_ten)
    assert found.value == 55 and found.low < 55 and found.high == math.inf
    assert iqm([10, 20, 30, 40, 50, math.inf, math.inf, math.inf]) == math.inf  # a typical seed fails
    assert found.as_json() == {"value": 55, "low": found.low, "high": None}


def test_the_interval_covers_a_normal_samples_mean_at_about_its_rate():
    # the IQM of a symmetric distribution estimates its mean; a 95% interval from 20
    # seeds covers it in about 95% of draws (the percentile bootstrap a little less)
    rng = np.random.default_rng(7)
    draws = 300
    covered = 0
    widths = []
    for draw in range(draws):
        sample = rng.normal(3.0, 2.0, size=20)
        found = iqm_interval(sample, seed=draw)
        assert found.low <= found.value <= found.high
        covered += found.low <= 3.0 <= found.high
        widths.append(found.high - found.low)
    assert 0.88 <= covered / draws <= 0.99, covered / draws
    # and it narrows as seeds are added: about 1/sqrt(n)
    wide = iqm_interval(rng.normal(3.0, 2.0, size=5))
    narrow = iqm_interval(rng.normal(3.0, 2.0, size=80))
    assert narrow.high - narrow.low < np.mean(widths) < wide.high - wide.low


def test_probability_of_improvement_by_hand_and_beside_mann_whitney():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 0.0])
    # pairs x > y: (1,0), (2,0), (3,2), (3,2), (3,0) = 5 of 9; ties (2,2), (2,2) count half
    assert probability_of_improvement(x, y) == pytest.approx((5 + 0.5 * 2) / 9)
    assert probability_of_improvement(y, x) == pytest.approx(1 - (5 + 0.5 * 2) / 9)
    rng = np.random.default_rng(3)
    for _ in range(20):
        a, b = rng.integers(0, 6, size=7).astype(float), rng.integers(0, 6, size=5).astype(float)
        u = stats.mannwhitneyu(a, b).statistic  # counts ties as half, as P(X > Y) + P(X = Y) / 2
        assert probability_of_improvement(a, b) == pytest.approx(u / (len(a) * len(b)))
    # batched over the leading axes: each row on its own
    rows = probability_of_improvement(np.stack([x, y]), np.stack([y, x]))
    assert rows == pytest.approx([6 / 9, 3 / 9])


def test_improvement_interval():
    better = improvement_interval([10.0, 11, 12, 13], [1.0, 2, 3, 4])
    assert (better.value, better.low, better.high) == (1.0, 1.0, 1.0)  # every resample agrees
    even = improvement_interval([1.0, 2, 3, 4, 5, 6], [1.0, 2, 3, 4, 5, 6])
    assert even.value == 0.5 and even.low < 0.5 < even.high
    assert improvement_interval([], [1.0]) is None


def seed(n: int, final: float, step: int | None, seconds: float | None = None) -> SeedProgress:
    return SeedProgress(seed=n, global_step=100_000, episodes=500, new_returns=(), last100_mean=final,
                        solved_episode=None if step is None else 100, grad_var_sum=0.0,
                        grad_snr_sum=0.0, diag_updates=0, status="finished", solved_step=step,
                        solved_wall_s=seconds)


def test_certainty_of_a_finished_variant():
    seeds = [seed(0, 500.0, 40_000, 4.0), seed(1, 480.0, 50_000, 5.0), seed(2, 300.0, None),
             seed(3, 490.0, 60_000, 6.0)]
    first = [seed(n, 200.0, None) for n in range(4)]
    found = certainty(seeds, first)
    # 4 seeds: one cut from each end of 40k, 50k, 60k, never
    assert found.steps.value == 55_000 and found.steps.high == math.inf
    assert found.seconds.value == 5.5
    assert found.final.value == (480 + 490) / 2
    assert found.beats_first.value == 1.0  # every seed beats every seed of the first
    assert certainty(first).steps is None  # none solved: no figure, not an infinite one
    assert certainty(first).beats_first is None
    document = found.as_json()
    assert document["steps_iqm"]["value"] == 55_000 and document["steps_iqm"]["high"] is None


def test_false_winners_by_hand():
    # one draw a side: means 10 and 13.3, the lower 10% or more below the higher
    assert false_winner_rate([10, 10, 10], [10, 10, 20], draw=3) == 1.0
    # two a side: the first's draws all mean 10; the second's 10, 15, 15: 2 of 3 pairs
    assert false_winner_rate([10, 10, 10], [10, 10, 20], draw=2) == pytest.approx(2 / 3)
    assert false_winner_rate([10, 10, 10], [10, 10, 10.5], draw=2) == 0.0  # 5%: no win
    # a seed that never solved loses to any that did; two that never did tie
    assert false_winner_rate([10, math.inf], [10, 10], draw=1) == 0.5
    assert false_winner_rate([math.inf], [math.inf], draw=1) == 0.0
    assert false_winner_rate([10, 10], [10, 10, 10], draw=3) is None  # too few seeds


def test_one_setting_against_itself_counts_its_false_winners():
    first = [seed(n, 500.0, step) for n, step in enumerate((40_000, 50_000, 60_000, 70_000, 80_000, 90_000))]
    other = [seed(n, 500.0, step) for n, step in enumerate((45_000, 55_000, 65_000, 75_000, 85_000, 95_000))]
    found = certainty(other, first, same_setting=True)
    assert found.false_winners == {3: false_winner_rate([s.solved_step for s in first],
                                                        [s.solved_step for s in other], 3),
                                   5: false_winner_rate([s.solved_step for s in first],
                                                        [s.solved_step for s in other], 5)}
    assert 0 < found.false_winners[3] < 1
    said = false_winner_text("B", "A", found)
    assert said.startswith("B is A's setting on other seeds, yet 3 seeds a side called one the "
                           "faster solver by 10% or more in ")
    assert certainty(other, first).false_winners is None  # another setting: no such figure
    failing = [seed(n, 100.0, None) for n in range(6)]  # a typical seed never solved: no such figure
    assert certainty(failing, first, same_setting=True).false_winners is None
    assert false_winner_text("B", "A", certainty(other, first)) is None


def test_the_how_many_seeds_preset_races_one_setting_on_other_seeds():
    (_, first), (_, second) = variant_configs(load_preset("how-many-seeds"))
    assert [c.seed for c in first] == list(range(10)) and [c.seed for c in second] == list(range(10, 20))
    assert same_setting(first[0], second[0])
    (_, none), (_, value) = variant_configs(load_preset("variance-baseline"))
    assert not same_setting(none[0], value[0])
