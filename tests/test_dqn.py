"""DQN: the TD target by hand, Double DQN, the replay buffer's transitions, the epsilon
schedule, the target network, resume, and a run that learns CartPole."""


import numpy as np
import pytest
import torch
from resuming import straight_and_resumed
from stepping import single_step

from pgtui.config import Config
from pgtui.preset_files import load_preset
from pgtui.rl.algos.dqn import behaviour_probs, epsilon, td_targets
from pgtui.rl.algos.replay import ReplayBuffer
from pgtui.rl.envs.registry import env_info
from pgtui.rl.events import Evaluated
from pgtui.rl.networks import SeedNets
from pgtui.rl.policies import build_policy
from pgtui.rl.trainer import Trainer

CARTPOLE_X, CARTPOLE_THETA = 2.4, 12 * 2 * np.pi / 360  # where an episode terminates


def linear_q(weight, bias):
    """A Q-network with no hidden layer: Q(s) = W s + b, for 2-d observations."""
    info = env_info("CartPole-v1")
    policy = build_policy(info, [], "relu", tabular=False, networks="q")
    nets = SeedNets([policy], torch.device("cpu"))
    state = nets.state_dict(0)
    state["actor.net.0.weight"] = torch.tensor(weight)
    state["actor.net.0.bias"] = torch.tensor(bias)
    nets.load_state_dict(0, state)
    return nets


def test_the_td_target_bootstraps_on_truncation_and_not_on_termination():
    W = [[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]]
    nets = linear_q(W, [0.5, -0.5])
    next_obs = torch.tensor([[[1.0, 3.0, 0.0, 0.0], [4.0, 1.0, 0.0, 0.0]]])
    # Q(s'1) = (1.5, 5.5): max 5.5;  Q(s'2) = (4.5, 1.5): max 4.5
    rewards, terminated = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 1.0]])
    target = td_targets(nets, nets.params, nets.params, rewards, next_obs, terminated, 0.9, False)
    assert target.tolist() == [pytest.approx([1.0 + 0.9 * 5.5, 2.0])]


def test_double_dqn_takes_the_online_argmax_and_the_targets_value():
    online = linear_q([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]], [0.0, 0.0])
    target = linear_q([[10.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]], [0.0, 0.0])
    next_obs = torch.tensor([[[1.0, 2.0, 0.0, 0.0]]])  # online (1, 2): argmax 1; target (10, 2)
    args = (torch.tensor([[0.0]]), next_obs, torch.tensor([[0.0]]), 0.5)
    double = td_targets(online, online.params, target.params, *args, True)
    plain = td_targets(online, online.params, target.params, *args, False)
    assert double.item() == pytest.approx(0.5 * 2.0)  # the target's Q of the online argmax
    assert plain.item() == pytest.approx(0.5 * 10.0)  # the target's own max


def test_the_epsilon_schedule_by_hand():
    config = Config(algo="dqn", total_steps=10_000, exploration_fraction=0.2,
                    exploration_initial_eps=1.0, exploration_final_eps=0.1)
    assert [epsilon(config, s) for s in (0, 1000, 2000, 9000)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    probs = behaviour_probs(torch.tensor([0.3, 2.0, -1.0]), 0.3)
    assert probs.tolist() == pytest.approx([0.1, 0.8, 0.1])


def test_the_buffer_keeps_only_real_transitions_and_each_ends_where_its_episode_did():
    """No stored transition pairs an episode's last observation with the next one's
    first: a terminated transition's next observation is past CartPole's bounds."""
    config = load_preset("cartpole-dqn").replace(num_envs=4, total_steps=10**6)
    trainer = Trainer(config)
    batches = []
    for _ in range(40):
        batch = trainer.collector.steps(trainer.nets, 32, [0], values=False)
        batches.append(batch)
        trainer.learner.buffer.add(batch)
    buffer = trainer.learner.buffer
    n = int(buffer.size[0])
    assert n == sum(int(b.valid.sum()) for b in batches) < 40 * 32 * 4  # resets left out
    ended = buffer.terminated[0, :n] == 1
    assert ended.sum() > 10
    final = buffer.next_obs[0, :n][ended]
    assert ((np.abs(final[:, 0]) > CARTPOLE_X) | (np.abs(final[:, 2]) > CARTPOLE_THETA)).all()
    # every other transition is one physics step: a reset start (|x| <= 0.05) never follows
    # an observation from far away
    moved = np.abs(buffer.next_obs[0, :n][~ended, 0] - buffer.obs[0, :n][~ended, 0])
    assert moved.max() < 0.1


def test_the_ring_overwrites_the_oldest_and_samples_only_what_it_holds():
    buffer = ReplayBuffer(1, 5, 1, ())
    for start in (0, 3):
        obs = torch.arange(start, start + 3, dtype=torch.float32).view(3, 1, 1, 1)
        from pgtui.rl.rollout import Batch
        ones = torch.ones(3, 1, 1, dtype=torch.bool)
        buffer.add(Batch([0], obs, torch.zeros(3, 1, 1, dtype=torch.long), torch.ones(3, 1, 1),
                         ~ones, ~ones, ones, next_obs=obs + 1))
    assert sorted(buffer.obs[0, :, 0].tolist()) == [1.0, 2.0, 3.0, 4.0, 5.0]  # 0 was overwritten
    state = buffer.seed_state(0)
    assert state["obs"][:, 0].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]  # oldest first
    sample = buffer.sample([0], 200, [torch.Generator().manual_seed(1)], torch.device("cpu"))
    assert set(sample[0].flatten().tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_the_target_network_follows_every_interval_copy_or_polyak():
    config = load_preset("cartpole-dqn").replace(target_update_interval=100)
    trainer = Trainer(config)
    dqn, nets = trainer.learner, trainer.nets
    with torch.no_grad():
        nets.rows.add_(1.0)
    dqn.update_target(nets, [0], np.array([150]), np.array([190]), config)  # no crossing
    torch.testing.assert_close(dqn.target_rows, nets.rows - 1.0)
    dqn.update_target(nets, [0], np.array([190]), np.array([210]), config)
    assert torch.equal(dqn.target_rows, nets.rows) and dqn.target_updates[0] == 1
    soft = config.replace(tau=0.5)
    before = dqn.target_rows.clone()
    with torch.no_grad():
        nets.rows.add_(2.0)
    dqn.update_target(nets, [0], np.array([210]), np.array([300]), soft)
    torch.testing.assert_close(dqn.target_rows, before + 1.0)  # halfway
    # the target's views see it: Q from the target params equals Q from a copy of its rows
    obs = torch.randn(1, 3, 4)
    torch.testing.assert_close(nets.head(obs, dqn.target_params),
                               nets.head(obs, nets.views_of(dqn.target_rows.clone())))


@pytest.mark.numerics
def test_a_resumed_dqn_run_goes_on_exactly(tmp_path):
    config = load_preset("cartpole-dqn").replace(learning_starts=200, train_freq=8,
                                                 gradient_steps=4, total_steps=10**6)
    straight, resumed, _ = straight_and_resumed(config, 30, 15, tmp_path)
    assert torch.equal(resumed.nets.rows, straight.nets.rows)
    assert torch.equal(resumed.learner.target_rows, straight.learner.target_rows)


def test_any_algorithm_can_evaluate_its_greedy_policy_on_envs_of_its_own():
    """PPO with eval_every: an evaluation each 1024 steps, of eval_episodes episodes; it
    changes nothing of the run (the same updates with and without it)."""
    config = load_preset("cartpole-ppo").replace(num_envs=8, num_steps=64, total_steps=10**6)
    events, plain = [], []
    with_eval = Trainer(config.replace(eval_every=1024, eval_episodes=3), events.append)
    with_eval.run(max_updates=6)
    Trainer(config, plain.append).run(max_updates=6)
    evaluations = [e for e in events if isinstance(e, Evaluated)]
    assert [e.global_step for e in evaluations] == [1024, 2048, 3072]
    assert all(len(e.returns) == 3 and e.mean_return == pytest.approx(sum(e.returns) / 3)
               for e in evaluations)
    updates = [e.stats["policy_loss"] for e in events if type(e).__name__ == "UpdateFinished"]
    assert updates == [e.stats["policy_loss"] for e in plain if type(e).__name__ == "UpdateFinished"]


def test_a_single_step_of_dqn_is_one_gradient_step_with_q_before_and_after():
    config = load_preset("cartpole-dqn").replace(learning_starts=256, total_steps=10**6)
    events = []
    trainer = Trainer(config, events.append)
    trainer.run(max_updates=2)  # 512 steps: learning has started
    step, rows = trainer.global_step, trainer.nets.rows.clone()
    compared = single_step(trainer, events)
    assert trainer.global_step == step, "no collection"
    assert not torch.equal(trainer.nets.rows, rows), "one gradient step"
    assert len(compared.before) == 2 and compared.before != compared.after
    # Q(s, .) of the probe, not probabilities
    q = trainer.nets.head(torch.tensor(compared.obs).view(1, 1, -1))[0, 0].tolist()
    assert list(compared.after) == pytest.approx(q)
