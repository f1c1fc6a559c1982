"""Variance against horizon and return scale: the settings reach the env and the
returns, and the log-log slope is fitted right."""

import json
import math
import random

import pytest
from cli_helpers import run_pgtui

from pgtui.config import Config
from pgtui.rl.race.figures import loglog_slope, variance_slopes
from pgtui.rl.race.spec import SeedProgress, expected_gradient
from pgtui.rl.trainer import Trainer


def test_loglog_slope_of_an_exact_power_law_and_of_a_noisy_one():
    xs = [1.0, 2.0, 5.0, 10.0]
    slope, se = loglog_slope(xs, [3 * x**2.5 for x in xs])
    assert slope == pytest.approx(2.5) and se == pytest.approx(0.0, abs=1e-12)
    rng = random.Random(0)
    xs = [x for x in (100.0, 200.0, 500.0) for _ in range(10)]
    ys = [x**1.7 * math.exp(rng.gauss(0, 0.3)) for x in xs]
    slope, se = loglog_slope(xs, ys)
    assert 0 < se < 0.3 and abs(slope - 1.7) < 3 * se
    assert loglog_slope([1.0, 2.0], [1.0, 4.0]) == (pytest.approx(2.0), None)  # no spread to tell


def progress(seed: int, grad_var: float) -> SeedProgress:
    return SeedProgress(seed, 0, 0, (), 0.0, None, grad_var * 4, 4.0, 4, "finished")


def test_variance_slopes_fit_each_series_that_differs_in_one_key():
    base = Config(algo="reinforce")
    variants = []
    for baseline, factor in (("none", 1.0), ("value", 0.1)):
        for cap in (100, 200, 500):
            config = base.replace(baseline=baseline, max_episode_steps=cap)
            seeds = [progress(s, factor * cap**2 * (1 + 0.01 * s)) for s in range(3)]
            variants.append((f"{baseline} {cap}", config, seeds))
    fits = variance_slopes(variants)
    assert [f["variants"] for f in fits] == [["none 100", "none 200", "none 500"],
                                            ["value 100", "value 200", "value 500"]]
    for fit in fits:
        assert fit["key"] == "max_episode_steps" and fit["points"] == 9
        assert fit["slope"] == pytest.approx(2.0, abs=0.01) and fit["slope_se"] < 0.01


def test_max_episode_steps_caps_the_episodes_and_reward_scale_scales_the_returns():
    capped = Trainer(Config(env="Acrobot-v1", algo="reinforce", num_envs=2, max_episode_steps=30))
    capped.collector.episodes(capped.nets, 4, [0])
    lengths = [length for _, length, *_ in capped.collector.finished[0]]
    assert lengths == [30] * len(lengths)  # a random Acrobot policy never swings up in 30
    plain, scaled = (Trainer(Config(env="CartPole-v1", algo="reinforce", num_envs=4, reward_scale=k))
                     for k in (1.0, 10.0))
    for trainer in (plain, scaled):
        trainer.collector.episodes(trainer.nets, 8, [0])
    assert [10 * r for r, *_ in plain.collector.finished[0]] == \
        pytest.approx([r for r, *_ in scaled.collector.finished[0]])
    assert scaled.threshold == 10 * plain.threshold  # solving means the same


def test_a_capped_or_scaled_run_estimates_another_gradient():
    base = Config(algo="reinforce", gamma=1.0)
    assert expected_gradient(base) != expected_gradient(base.replace(reward_scale=10.0))
    assert expected_gradient(base) != expected_gradient(base.replace(max_episode_steps=100))


def test_compare_fits_grad_var_against_the_reward_scale():
    # Adam's steps do not depend on the gradient's scale, so x1, x10 and x100 runs go
    # the same way and their gradient variances differ by exactly the scale squared
    done = run_pgtui("compare", "--preset", "variance-reward-scale", "--max-steps", "3000",
                     "--seeds", "2", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(document["slopes"]) == 2
    for fit in document["slopes"]:
        assert fit["key"] == "reward_scale" and fit["slope"] == pytest.approx(2.0, abs=0.05)
    assert all("slope" in v and "slope_se" in v for v in document["variants"])
    assert "grad var ∝ reward_scale^2.0" in done.stdout
