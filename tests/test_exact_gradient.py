"""The true policy gradient of tabular envs: against finite differences of the exact
return, and as the mean of many REINFORCE estimates."""


import pytest
import torch
from estimates import assert_unbiased, reinforce_estimates

from pgtui.config import Config
from pgtui.rl.algos.exact_gradient import expected_return, tabular_model, true_gradient
from pgtui.rl.trainer import Trainer

pytestmark = pytest.mark.numerics  # figures against an independent computation

TABULAR = [("pgtui/Chain-v0", 0, "mlp"), ("FrozenLake-v1", 0, "mlp"), ("CliffWalking-v1", 25, "mlp"),
           ("pgtui/Bandit-v0", 0, "tabular")]


def trainer_for(env_id: str, steps: int, policy: str, seeds=(0,), **overrides) -> Trainer:
    settings = dict(env=env_id, algo="reinforce", gamma=1.0, hidden_sizes=[16],
                    max_episode_steps=steps, policy=policy, normalize_advantage=False,
                    init_theta=[0.3, -0.2] if policy == "tabular" else [])
    config = Config(**{**settings, **overrides})
    return Trainer(config, seeds=list(seeds))


@pytest.mark.parametrize(("env_id", "steps", "policy"), TABULAR)
def test_the_true_gradient_is_the_exact_returns_derivative(env_id, steps, policy):
    trainer = trainer_for(env_id, steps, policy)
    model = tabular_model(env_id, steps)
    nets = trainer.nets
    obs = torch.as_tensor(model.observations)
    head = lambda x: nets.head(x.expand(1, *x.shape))  # noqa: E731
    with torch.no_grad():  # a policy away from uniform, so the gradient has some size
        nets.rows[:, :nets.actor_size] += 0.3 * torch.randn(nets.actor_size,
                                                            generator=torch.Generator().manual_seed(1))
    g = true_gradient(model, nets, nets.params, 1.0)[0].double()
    u = torch.randn(nets.actor_size, generator=torch.Generator().manual_seed(2)).double()
    eps = 1e-2

    def J(shift: float) -> float:
        with torch.no_grad():
            nets.rows[0, :nets.actor_size] += (shift * u).float()
            probs = head(obs).double().softmax(-1).expand(-1, len(model.start), -1)
            value = float(expected_return(model, probs)[0])
            nets.rows[0, :nets.actor_size] -= (shift * u).float()
        return value

    finite = (J(eps) - J(-eps)) / (2 * eps)
    assert float(g @ u) == pytest.approx(finite, rel=2e-2, abs=1e-6)
    assert abs(finite) > 1e-4  # a direction the return depends on


@pytest.mark.parametrize("baseline", ["none", "mean", "value", "optimal"])
def test_reinforce_estimates_average_to_the_true_gradient_on_the_chain(baseline):
    seeds = list(range(8))
    trainer = trainer_for("pgtui/Chain-v0", 0, "mlp", seeds, gamma=0.9, baseline=baseline,
                          episodes_per_update=32, num_envs=8)
    config, nets = trainer.config, trainer.nets
    with torch.no_grad():  # every seed at seed 0's policy: their estimates pool
        nets.rows[:] = nets.rows[0].clone()
    model = tabular_model("pgtui/Chain-v0")
    exact = true_gradient(model, nets, nets.params, config.gamma)[0]
    assert_unbiased(reinforce_estimates(trainer, 40), exact)


def test_a_run_reports_each_updates_cosine_to_the_true_gradient():
    log = []
    trainer = trainer_for("pgtui/Chain-v0", 0, "mlp", baseline="mean", episodes_per_update=32,
                          num_envs=8)
    trainer.runs[0].emit = log.append
    trainer.run(max_updates=10)
    stats = [e.stats for e in log if hasattr(e, "stats") and "true_grad_cosine" in e.stats]
    assert len(stats) == 10
    assert all(-1 <= s["true_grad_cosine"] <= 1 and s["true_grad_mse"] >= 0 for s in stats)
    assert sum(s["true_grad_cosine"] for s in stats) / 10 > 0.5  # 32 episodes point the way


def test_the_chain_race_compares_estimators_by_cosine_on_the_same_batches():
    import json

    from cli_helpers import run_pgtui

    done = run_pgtui("compare", "--preset", "chain-estimators", "--max-steps", "1500", "--seeds", "2",
                     "--json")
    assert done.returncode == 0, done.stderr
    variants = {v["name"]: v for v in json.loads(done.stdout.strip().splitlines()[-1])["variants"]}
    assert set(variants) == {"none", "mean", "value", "optimal"}
    for v in variants.values():
        assert -1 <= v["true_grad_cosine"] <= 1 and -1 <= v["true_grad_cosine_ref"] <= 1
    none = variants["none"]  # the reference: on its own batches, itself
    assert none["true_grad_cosine_ref"] == pytest.approx(none["true_grad_cosine"])
    assert "mean: cosine" in done.stdout and "none:" in done.stdout and "(same batches)" in done.stdout
    assert "standard errors from zero: mean" in " ".join(done.stdout.split())
    assert "baseline_se" not in variants["none"]  # no baseline, no term
    assert 0 < variants["value"]["baseline_se"] < 3


def test_toy_text_observations_reach_the_policy_one_hot():
    trainer = Trainer(Config(env="FrozenLake-v1", algo="reinforce", num_envs=2, hidden_sizes=[8]))
    assert trainer.info.obs_dim == 16
    assert trainer.collector.obs.sum(-1).tolist() == [[1.0, 1.0]]  # one state each
    assert trainer.collector.obs[0, 0, 0] == 1.0  # the start, state 0


def test_reinforce_learns_the_non_slippery_lake_and_its_kwargs_reach_the_env():
    config = Config(env="FrozenLake-v1", env_kwargs={"is_slippery": False}, algo="reinforce",
                    hidden_sizes=[32], lr=0.03, baseline="value", normalize_advantage=False,
                    episodes_per_update=32, num_envs=16, gamma=0.99)
    trainer = Trainer(config)
    model = trainer.tabular  # read from the env built with the kwargs: every move is certain
    assert set(model.transitions.flatten().round(6)) <= {0.0, 1.0}
    trainer.run(max_updates=60)
    assert trainer.runs[0].last100_mean >= 0.95  # it reaches the goal (sampled actions, not greedy)
