"""The short corridor with switched actions: its exact objective against rollouts, its
exact gradient against finite differences, REINFORCE finding the random optimum, DQN's
deterministic greedy policy, the drawing and the race's figures."""

import json
import math

import numpy as np
import pytest
import torch
from cli_helpers import call_pgtui

from pgtui.preset_files import load_preset
from pgtui.rl.algos.exact_gradient import expected_return, tabular_model, true_gradient
from pgtui.rl.envs.corridor import BEST_P, GOAL, STEP_CAP, objective
from pgtui.rl.envs.registry import make_env
from pgtui.rl.events import DiscretePolicy, HiddenState, Scene, Snapshot, UpdateFinished
from pgtui.rl.networks import SeedNets
from pgtui.rl.policies import ActorCritic, TabularCritic, TabularSoftmaxActor
from pgtui.rl.race.spec import variant_configs
from pgtui.rl.trainer import Trainer
from pgtui.ui.render import render

CORRIDOR = "pgtui/ShortCorridor-v0"


def test_the_objective_by_hand_matches_the_lesson():
    assert objective(0.5) == pytest.approx(-12.0)
    assert objective(BEST_P) == pytest.approx(-11.657, abs=1e-3)
    assert round(BEST_P, 3) == 0.586
    ps = np.linspace(0.01, 0.99, 9801)
    assert ps[np.argmax(objective(ps))] == pytest.approx(BEST_P, abs=1e-3)
    # epsilon-greedy at epsilon 0.1: greedy right is p = 0.95, greedy left p = 0.05
    assert objective(0.95) == pytest.approx(-44.2, abs=0.05)
    assert objective(0.05) == pytest.approx(-82.1, abs=0.05)
    assert objective(1.0, STEP_CAP) == -STEP_CAP  # deterministic: it never arrives


@pytest.mark.parametrize("p", [0.3, BEST_P, 0.9])
def test_the_exact_objective_matches_rollouts_of_the_env(p):
    env = make_env(CORRIDOR)
    rng = np.random.default_rng(0)
    returns = []
    for episode in range(3000):
        env.reset(seed=episode)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(int(rng.random() < p))
            total += reward
            done = terminated or truncated
        returns.append(total)
    se = np.std(returns) / math.sqrt(len(returns))
    assert abs(np.mean(returns) - objective(p, STEP_CAP)) < 3 * se
    model = tabular_model(CORRIDOR)
    probs = torch.tensor([[[1 - p, p]] * (GOAL + 1)], dtype=torch.float64)
    assert expected_return(model, probs).item() == pytest.approx(float(objective(p, STEP_CAP)), rel=1e-9)


def test_the_exact_gradient_matches_finite_differences():
    model = tabular_model(CORRIDOR)
    # dJ/dp through the model, against the closed form's finite difference
    p = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    probs = torch.stack([1 - p, p]).expand(1, GOAL + 1, 2)
    (grad,) = torch.autograd.grad(expected_return(model, probs).sum(), p)
    h = 1e-5
    finite = (objective(0.3 + h, STEP_CAP) - objective(0.3 - h, STEP_CAP)) / (2 * h)
    assert grad.item() == pytest.approx(finite, rel=1e-5)
    # the gradient REINFORCE estimates, in the logits, at gamma = 1: J's own
    theta = [0.2, 0.9]
    nets = SeedNets([ActorCritic(TabularSoftmaxActor(2, theta), TabularCritic())], torch.device("cpu"))
    exact = true_gradient(model, nets, nets.params, gamma=1.0)[0]
    for a in range(2):
        bumped = [[t + (h if i == a else 0.0) for i, t in enumerate(theta)],
                  [t - (h if i == a else 0.0) for i, t in enumerate(theta)]]
        j = [objective(float(np.exp(b[1]) / np.exp(b).sum()), STEP_CAP) for b in map(np.array, bumped)]
        assert exact[a].item() == pytest.approx((j[0] - j[1]) / (2 * h), rel=1e-3)


def _variant(name):
    configs = dict(variant_configs(load_preset("stochastic-optimum"), 1))
    return configs[name][0].replace(eval_every=0)


def test_reinforce_finds_the_random_optimum():
    events = []
    Trainer(_variant("reinforce").replace(total_steps=60_000), events.append).run()
    stats = [e.stats for e in events if isinstance(e, UpdateFinished)]
    assert stats[0]["p_right"] > 0.75  # it starts near "always right", J about -20
    assert abs(stats[-1]["p_right"] - BEST_P) < 0.1
    assert stats[-1]["objective"] > -12.0


def test_dqns_greedy_policy_is_deterministic_and_never_arrives():
    events = []
    trainer = Trainer(_variant("dqn").replace(total_steps=20_000), events.append)
    trainer.run()
    last = [e.stats for e in events if isinstance(e, UpdateFinished)][-1]
    assert last["objective_greedy"] == -STEP_CAP  # one action always: a loop
    assert last["objective"] < -40  # epsilon-greedy: as good as epsilon makes it
    assert last["p_right"] in (pytest.approx(0.95), pytest.approx(0.05))
    q = trainer.nets.head(torch.ones(1, 1, 1))[0, 0]
    assert q[0] != q[1]


def test_the_drawing_shows_the_agent_the_switched_cell_and_the_policy_on_j():
    frame = render(CORRIDOR, Scene((1.0,), HiddenState(2)), 36, 12, DiscretePolicy((0.3, 0.7)))
    lines = frame.splitlines()
    assert len(lines) == 12 and all(len(line) == 36 for line in lines)
    assert "│   │ ⇄ │ @ │ G │" in frame
    assert "★" in frame and "●" in frame and "J(p)" in frame
    assert f"● p 0.700  J {objective(0.7, STEP_CAP):.2f}" in frame
    assert "★ p 0.586  J -11.66" in frame


def test_a_run_on_the_corridor_sends_env_0s_true_state_with_its_snapshots():
    events = []
    trainer = Trainer(load_preset("corridor-reinforce"), events.append, snapshot_hz=1000.0)
    trainer.run(max_updates=3)
    snapshots = [e for e in events if isinstance(e, Snapshot)]
    states = {s.scene.detail.index for s in snapshots}
    assert snapshots and states <= {0, 1, 2, 3} and len(states) > 1
    assert all(s.scene.obs == (1.0,) for s in snapshots)


def test_the_race_reports_p_j_policy_change_and_greedy_flips_in_its_json():
    result = call_pgtui("compare", "--preset", "stochastic-optimum", "--seeds", "1",
                        "--max-steps", "6000", "--json")
    assert result.returncode == 0, result.stderr
    variants = {v["name"]: v for v in json.loads(result.stdout.strip().splitlines()[-1])["variants"]}
    for v in variants.values():
        assert {"p_right", "objective", "policy_kl"} <= v.keys()
    assert {"objective_greedy", "greedy_flips"} <= variants["dqn"].keys()
    assert "objective_greedy" not in variants["reinforce"]
    assert "p(right)" in result.stdout and "J greedy" in result.stdout
