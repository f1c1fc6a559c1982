"""The Trainer: presets run, commands apply at update boundaries, runs are repeatable."""

import math
import threading

import pytest
import torch

from pgtui.preset_files import load_preset, preset_names
from pgtui.rl.events import (
    ChangeApplied,
    EpisodesFinished,
    Pause,
    RunError,
    SetParam,
    Snapshot,
    StepOnce,
    Stop,
    Stopped,
    UpdateFinished,
)
from pgtui.rl.trainer import Trainer

LOSSES = ("policy_loss", "value_loss", "entropy", "grad_norm")
DQN_LOSSES = ("td_loss", "q_mean", "grad_norm")
ANSWER_LOSSES = ("loss", "entropy", "grad_norm")  # an exercise's answer: one loss, its figures
SAC_LOSSES = ("q_loss", "actor_loss", "entropy", "alpha", "grad_norm", "critic_grad_norm")


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads_and_runs_with_finite_losses(name):
    config = load_preset(name)
    assert config.description, "every preset carries a one-line description"
    if config.algo in ("dqn", "sac"):  # their gradient steps from the first update
        config = config.replace(learning_starts=0)
    events = []
    trainer = Trainer(config, events.append)
    assert trainer.run(max_updates=2) == "updates"
    updates = [e for e in events if isinstance(e, UpdateFinished)]
    assert len(updates) == 2
    for u in updates:
        for key in {"dqn": DQN_LOSSES, "sac": SAC_LOSSES}.get(config.algo, ANSWER_LOSSES if "." in config.algo
                                                               else LOSSES):
            assert math.isfinite(u.stats[key]), (key, u.stats)


def small(name="cartpole-reinforce-baseline", **changes):
    return load_preset(name).replace(**changes)


def test_live_change_is_applied_at_the_next_update_and_recorded():
    events = []
    trainer = Trainer(small(num_envs=4, episodes_per_update=4), events.append)
    trainer.step()
    trainer.submit(SetParam("baseline", "none"))
    trainer.submit(SetParam("lr", 0.005))
    assert trainer.config.baseline == "value", "nothing changes until the update boundary"
    trainer.run(max_updates=2)
    changes = [e for e in events if isinstance(e, ChangeApplied)]
    assert [(c.key, c.old, c.new) for c in changes] == [("baseline", "value", "none"),
                                                          ("lr", 0.001, 0.005)]
    assert changes[0].update == 1
    assert trainer.config.baseline == "none"
    assert float(trainer.optimizer.lr[0]) == pytest.approx(0.005)


@pytest.mark.parametrize("key,value", [("lr", -1.0), ("gamma", float("nan")), ("lr", "x"),
                                       ("num_envs", 4), ("bogus", 1)])
def test_invalid_or_structural_live_change_is_refused(key, value):
    events = []
    trainer = Trainer(small(num_envs=2, episodes_per_update=2), events.append)
    before = trainer.config
    trainer.submit(SetParam(key, value))
    trainer.run(max_updates=1)
    assert trainer.config == before
    assert any(isinstance(e, RunError) and not e.fatal for e in events)


def test_pause_blocks_and_step_runs_exactly_one_update():
    events = []
    trainer = Trainer(small(num_envs=2, episodes_per_update=2), events.append)
    trainer.submit(Pause())
    done = threading.Event()
    thread = threading.Thread(target=lambda: (trainer.run(), done.set()))
    thread.start()
    try:
        assert not done.wait(0.5)
        assert trainer.update == 0, "a paused trainer does no work"
        trainer.submit(StepOnce())
        for _ in range(200):
            if trainer.update == 1:
                break
            done.wait(0.05)
        assert not done.wait(0.3)
        assert trainer.update == 1 and trainer.paused
    finally:
        trainer.submit(Stop())
        thread.join(10)
    assert isinstance(events[-1], Stopped) and events[-1].reason == "stopped"


def test_snapshots_carry_the_shown_state_and_action_probabilities():
    events = []
    trainer = Trainer(small(num_envs=2, episodes_per_update=2), events.append,
                      snapshot_hz=1e9)
    trainer.run(max_updates=1)
    snaps = [e for e in events if isinstance(e, Snapshot)]
    assert snaps
    s = snaps[0]
    assert len(s.scene.obs) == 4 and len(s.policy.probs) == 2
    assert sum(s.policy.probs) == pytest.approx(1.0, abs=1e-5)
    # drawn in the first rollout, by the initial weights: those of a fresh twin
    twin = Trainer(small(num_envs=2, episodes_per_update=2))
    assert s.policy.probs == pytest.approx(twin.summary_of(s.scene.obs), abs=1e-6)
    assert s.policy.value == pytest.approx(twin.nets.value(0, s.scene.obs), abs=1e-6)
    assert s.scene.obs in {tuple(map(float, o)) for o in trainer.last_batch.obs[:, 0].reshape(-1, 4).tolist()}


def test_episode_returns_are_all_reported():
    events = []
    trainer = Trainer(small(num_envs=3, episodes_per_update=5), events.append)
    trainer.run(max_updates=3)
    reported = [r for e in events if isinstance(e, EpisodesFinished) for r in e.returns]
    assert len(reported) == trainer.runs[0].episodes == 15


@pytest.mark.numerics
def test_same_seed_same_numbers():
    def run(seed):
        events = []
        Trainer(small("cartpole-ppo", seed=seed), events.append).run(max_updates=3)
        return [{k: v for k, v in e.stats.items() if k not in ("wall_s", "sps")}
                for e in events if isinstance(e, UpdateFinished)]

    assert run(3) == run(3)
    assert run(3) != run(4)


@pytest.mark.numerics
@pytest.mark.parametrize("preset", ["cartpole-ppo", "cartpole-a2c"])
def test_measuring_gradient_noise_does_not_change_the_run(preset):
    def weights(diag_every):
        trainer = Trainer(small(preset, diag_every=diag_every))
        trainer.run(max_updates=6)
        return trainer.nets.rows

    assert torch.equal(weights(1), weights(0))
