"""SAC: the squashed Gaussian's log-density, the twin-Q target by hand, the temperature's
loss, the Polyak targets, live settings, resume, refusals, and a run that learns."""

import json
import math

import numpy as np
import pytest
import torch
from cli_helpers import call_pgtui
from devices import DEVICES
from resuming import straight_and_resumed
from stepping import single_step
from torch.distributions import Normal, TransformedDistribution
from torch.distributions.transforms import TanhTransform

from pgtui.preset_files import load_preset
from pgtui.rl.algos.sac import (
    SAC,
    soft_targets,
    split_head,
    squashed_log_prob,
    squashed_sample,
    temperature_loss,
)
from pgtui.rl.envs.registry import env_info
from pgtui.rl.events import SetParam, UpdateFinished
from pgtui.rl.trainer import Trainer


def small(**changes):
    """pendulum-sac, small enough for a test: learning after 64 steps."""
    base = {"learning_starts": 64, "total_steps": 10**6, "batch_size": 64, "hidden_sizes": [32, 32]}
    return load_preset("pendulum-sac").replace(**{**base, **changes})


def test_the_squashed_log_density_is_the_change_of_variables_and_torchs_tanh_transform():
    torch.manual_seed(0)
    mean = torch.randn(50, 3, dtype=torch.float64)
    log_std = torch.randn(50, 3, dtype=torch.float64) * 0.5
    u = mean + log_std.exp() * torch.randn(50, 3, dtype=torch.float64)
    ours = squashed_log_prob(mean, log_std, u)
    # brute force: a = tanh(u) has density p_u(atanh a) |d atanh(a)/da| = p_u(u) / (1 - a^2)
    a = torch.tanh(u)
    p_u = torch.exp(-0.5 * ((u - mean) / log_std.exp()) ** 2) / (log_std.exp() * math.sqrt(2 * math.pi))
    brute = torch.log(p_u / (1 - a**2)).sum(-1)
    torch.testing.assert_close(ours, brute)
    torch_dist = TransformedDistribution(Normal(mean, log_std.exp()), [TanhTransform()])
    torch.testing.assert_close(ours, torch_dist.log_prob(a).sum(-1))


def test_the_squashed_density_integrates_to_one_and_stays_finite_at_the_edges():
    a = torch.linspace(-1, 1, 200_001, dtype=torch.float64)[1:-1]
    u = torch.atanh(a)
    mean, log_std = torch.tensor([[0.3]], dtype=torch.float64), torch.tensor([[-0.4]], dtype=torch.float64)
    density = squashed_log_prob(mean, log_std, u.unsqueeze(-1)).exp()
    assert torch.trapezoid(density, a).item() == pytest.approx(1.0, abs=1e-4)
    far = squashed_log_prob(torch.zeros(1, 1), torch.zeros(1, 1), torch.tensor([[30.0]]))
    assert torch.isfinite(far).all()  # tanh(30) rounds to 1 in float32; the form does not


def test_a_sample_is_reparameterized_and_its_log_prob_is_the_density_of_that_action():
    head = torch.tensor([[0.5, -1.0, 0.2, -0.3]], requires_grad=True)  # d = 2: means, log-stds
    noise = torch.tensor([[0.7, -1.1]])
    action, log_prob = squashed_sample(head, noise)
    mean, log_std = split_head(head)
    u = mean + log_std.exp() * noise
    torch.testing.assert_close(action, torch.tanh(u))
    torch.testing.assert_close(log_prob, squashed_log_prob(mean, log_std, u))
    action.sum().backward()
    assert (head.grad != 0).all()  # the action moves with the mean and the std
    assert split_head(torch.tensor([[0.0, 9.0]]))[1].item() == 2.0  # the log-std is clamped


def test_the_twin_q_target_by_hand_bootstraps_on_truncation_and_not_on_termination():
    rewards = torch.tensor([[1.0, 2.0, -1.0]])
    terminated = torch.tensor([[1.0, 0.0, 0.0]])  # the third: a truncated step (bootstraps)
    next_q = torch.tensor([[[3.0, 4.0, 10.0], [5.0, 1.0, 8.0]]])  # (S, twins, B)
    next_log_prob = torch.tensor([[0.5, -1.0, 2.0]])
    alpha = torch.tensor([[0.2]])
    target = soft_targets(rewards, terminated, next_q, next_log_prob, alpha, gamma=0.9)
    # 1; 2 + 0.9 (min(4, 1) - 0.2 (-1)) = 3.08; -1 + 0.9 (min(10, 8) - 0.2 * 2) = 5.84
    torch.testing.assert_close(target, torch.tensor([[1.0, 3.08, 5.84]]))


def test_the_temperatures_gradient_lowers_alpha_above_the_target_entropy_and_raises_it_below():
    for log_probs, target_entropy in (([-2.0, -1.0], -1.0), ([1.0, 2.0], -1.0)):
        log_alpha = torch.zeros(1, 1, requires_grad=True)
        log_prob = torch.tensor([log_probs])
        temperature_loss(log_alpha, log_prob, target_entropy).sum().backward()
        entropy = -sum(log_probs) / 2  # 1.5 (above -1), then -1.5 (below)
        assert log_alpha.grad.item() == pytest.approx(entropy - target_entropy)
        # a descent step moves log alpha against its gradient
        assert (log_alpha.grad.item() > 0) == (entropy > target_entropy)


def test_the_buffer_keeps_box_actions_in_the_unit_box_and_no_step_across_a_reset():
    trainer = Trainer(small(num_envs=2, learning_starts=10**6))
    for _ in range(5):
        batch = trainer.learner.collect(trainer.config, [0])
        trainer.learner.update(batch, trainer.config)
    trainer.config = trainer.config.replace(train_freq=220)
    batch = trainer.learner.collect(trainer.config, [0])
    trainer.learner.update(batch, trainer.config)
    buffer, n = trainer.learner.buffer, int(trainer.learner.buffer.size[0])
    assert n == 2 * 225 - 2  # each env's autoreset step after its 200th is left out
    actions = buffer.actions[0, :n]
    assert actions.shape == (n, 1) and np.abs(actions).max() <= 1.0 and np.abs(actions).max() > 0.9
    assert buffer.terminated[0, :n].sum() == 0  # Pendulum only truncates: every step bootstraps
    # each transition starts where the one before it ended, but where an episode ended
    # (each env's 200th step): the next one starts at a reset, not at the final state
    obs, next_obs = buffer.obs[0, :n].reshape(-1, 2, 3), buffer.next_obs[0, :n].reshape(-1, 2, 3)
    apart = np.abs(obs[1:] - next_obs[:-1]).max(axis=(1, 2)) > 1e-6
    assert np.flatnonzero(apart).tolist() == [199]


def test_the_target_critics_move_a_tau_of_the_way_after_each_gradient_step():
    trainer = Trainer(small(gradient_steps=1, tau=0.1))
    sac, nets = trainer.learner, trainer.nets
    trainer.run(max_updates=70)  # learning has started
    with torch.no_grad():
        sac.target_rows.add_(1.0)  # targets away from the critics
    before = sac.target_rows.clone()
    trainer.step()
    online = nets.rows[:, nets.actor_size:]
    torch.testing.assert_close(sac.target_rows, 0.9 * before + 0.1 * online)
    # the target views see the rows: Q from them equals Q from a copy
    obs, action = torch.randn(1, 5, 3), torch.rand(1, 5, 1)
    torch.testing.assert_close(nets.q_values(obs, action, sac.target_critic),
                               nets.q_values(obs, action, nets.critic_views_of(sac.target_rows.clone())))


def test_alpha_learns_toward_the_target_or_stays_fixed_and_switches_live():
    events = []
    trainer = Trainer(small(target_entropy=-1.0), events.append)
    trainer.run(max_updates=200)
    alphas = [e.stats["alpha"] for e in events if isinstance(e, UpdateFinished)]
    assert alphas[0] == 1.0 and alphas[-1] < 0.95  # the uniform start is far above -1 nats
    trainer.submit(SetParam("alpha", 0.05))
    trainer.run(max_updates=210)
    stats = [e.stats for e in events if isinstance(e, UpdateFinished)][-1]
    assert stats["alpha"] == pytest.approx(0.05)
    assert trainer.config.alpha == 0.05


@pytest.mark.numerics
def test_a_resumed_sac_run_goes_on_exactly(tmp_path):
    straight, resumed, payload = straight_and_resumed(small(train_freq=8, gradient_steps=2), 30, 15,
                                                      tmp_path)
    assert payload["run"]["sac"]["replay"]["actions"].shape == (120, 1)
    assert "actor.log_alpha" in payload["policy"]
    assert torch.equal(resumed.nets.rows, straight.nets.rows)
    assert torch.equal(resumed.learner.target_rows, straight.learner.target_rows)
    assert torch.equal(resumed.optimizer.exp_avg, straight.optimizer.exp_avg)


def test_greedy_takes_the_mean_action_scaled_to_the_box():
    info = env_info("Pendulum-v1")  # torque in [-2, 2]
    head = torch.tensor([[0.5, 1.0], [-30.0, 0.0]])
    actions = SAC.greedy(head, info)
    np.testing.assert_allclose(actions[:, 0], [2 * math.tanh(0.5), -2.0], rtol=1e-6)


def test_the_policy_pane_figures_are_the_mean_action_and_the_spread_of_actions_drawn():
    info = env_info("Pendulum-v1")
    head = torch.tensor([0.3, math.log(0.5)])
    mean, std = SAC.head_summary(None, 0, head, info)
    draws = 2 * torch.tanh(0.3 + 0.5 * torch.randn(400_000, generator=torch.Generator().manual_seed(0)))
    assert mean == pytest.approx(2 * math.tanh(0.3))
    assert std == pytest.approx(draws.std().item(), rel=5e-3)


def test_sac_learns_pendulum_in_a_few_thousand_steps():
    """A random policy averages about -1200 an episode (the first ones here, before and
    just after learning starts); SAC with replay swings up and balances within 20."""
    events = []
    config = load_preset("pendulum-sac").replace(total_steps=4000, eval_every=0)
    Trainer(config, events.append).run()
    returns = [r for e in events if type(e).__name__ == "EpisodesFinished" for r in e.returns]
    assert len(returns) == 19
    assert np.mean(returns[:3]) < -1000
    assert np.median(returns[-5:]) > -300  # most of the last episodes swing up and balance


def test_watch_plays_the_mean_action_of_a_saved_sac_policy(tmp_path):
    from pgtui.rl.player import Player

    trainer = Trainer(small())
    trainer.run(max_updates=80)
    player = Player.from_file(trainer.save_checkpoint(tmp_path / "sac.pt"))
    obs = player.make_env().reset(seed=3)[0]
    action = player.act(obs)
    assert np.array_equal(action, player.act(obs)), "no draw: the mean action"
    expected = SAC.greedy(trainer.nets.head_at(0, obs), trainer.info)
    np.testing.assert_array_equal(action, expected)
    mean, std = player.action_probs(obs)
    assert mean == pytest.approx(float(expected[0]), abs=1e-6) and 0 < std < 2


def test_a_single_step_of_sac_is_one_gradient_step_with_the_policy_before_and_after():
    events = []
    trainer = Trainer(small(), events.append)
    trainer.run(max_updates=80)  # learning has started
    step, rows = trainer.global_step, trainer.nets.rows.clone()
    compared = single_step(trainer, events)
    assert trainer.global_step == step, "no collection"
    assert not torch.equal(trainer.nets.rows, rows), "one gradient step"
    assert len(compared.before) == 2 and compared.before != compared.after  # mean, std
    after = SAC.head_summary(trainer.nets, 0, trainer.nets.head_at(0, compared.obs), trainer.info)
    assert list(compared.after) == pytest.approx(after)


def test_the_replay_race_reports_steps_to_solve_and_each_variants_final_greedy_evaluation():
    result = call_pgtui("compare", "--preset", "replay-vs-on-policy", "--seeds", "1",
                        "--max-steps", "5000", "--json")
    assert result.returncode == 0, result.stderr
    variants = {v["name"]: v for v in json.loads(result.stdout.strip().splitlines()[-1])["variants"]}
    assert set(variants) == {"ppo", "sac"}
    # 5,000 steps: SAC's greedy policy swings up (pendulum-sac solves within 3-6k on every
    # seed checked, benchmarks/README.md); PPO's has not begun to
    assert variants["sac"]["final_eval"] > variants["ppo"]["final_eval"] + 300
    assert "final eval" in result.stdout and "steps to solve" in result.stdout


def test_unset_tau_and_gradient_steps_are_the_algorithms_own():
    """A preset that names only algo = "sac" averages its targets as SAC does and takes
    one gradient step per env step; DQN's defaults stay a copy and 2 steps a round."""
    from pgtui.config import Config

    sac = Config(env="Pendulum-v1", algo="sac", num_envs=4, train_freq=2)
    dqn = Config(algo="dqn")
    assert (sac.effective("tau"), sac.effective("gradient_steps")) == (0.005, 8)
    assert (dqn.effective("tau"), dqn.effective("gradient_steps")) == (1.0, 2)
    assert sac.replace(tau=0.02, gradient_steps=3).effective("tau") == 0.02
    trainer = Trainer(sac.replace(learning_starts=9, total_steps=10**6))
    trainer.run(max_updates=2)  # 8 env steps, 8 more and learning: 8 Adam steps
    assert trainer.optimizer.steps[0] == 8


@pytest.mark.parametrize("device", DEVICES)
def test_a_compiled_gradient_step_moves_the_weights_as_the_uncompiled_one(device):
    """compile_update runs the same losses, Adam and Polyak update as one compiled graph:
    two seeds trained side by side each way end within float tolerance of each other
    (kernels fused otherwise round otherwise), and report the same figures."""
    runs = {}
    for compiled in (False, True):
        events = []
        trainer = Trainer(small(compile_update=compiled, gradient_steps=2, device=device), events.append,
                          seeds=[3, 4])
        trainer.run(max_updates=64 + 25)  # 25 updates of 2 gradient steps after learning starts
        stats = [e.stats for e in events if isinstance(e, UpdateFinished)][-2:]
        runs[compiled] = trainer, stats
    (eager, eager_stats), (compiled, compiled_stats) = runs[False], runs[True]
    assert compiled.learner._compiled is not None and eager.learner._compiled is None
    moved = (eager.nets.rows - Trainer(small(device=device), seeds=[3, 4]).nets.rows).abs().max()
    assert moved > 1e-2  # the steps moved the weights: agreement below is not of untouched rows
    torch.testing.assert_close(compiled.nets.rows, eager.nets.rows, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(compiled.learner.target_rows, eager.learner.target_rows, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(compiled.optimizer.exp_avg_sq, eager.optimizer.exp_avg_sq,
                               rtol=1e-3, atol=1e-9)
    for a, b in zip(compiled_stats, eager_stats, strict=True):
        for key in ("q_loss", "actor_loss", "entropy", "alpha", "grad_norm"):
            assert a[key] == pytest.approx(b[key], rel=1e-3, abs=1e-5), key
