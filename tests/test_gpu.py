"""CUDA runs, where a GPU exists; skipped cleanly elsewhere."""

import math

import pytest
import torch

from pgtui.preset_files import load_preset
from pgtui.rl.events import UpdateFinished
from pgtui.rl.trainer import Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("name", ["cartpole-ppo", "cartpole-reinforce-baseline",
                                  "pendulum-ppo"])
def test_training_on_cuda(name):
    events = []
    trainer = Trainer(load_preset(name).replace(device="cuda"), events.append)
    assert trainer.device.type == "cuda"
    assert trainer.nets.rows.is_cuda
    trainer.run(max_updates=3)
    stats = [e.stats for e in events if isinstance(e, UpdateFinished)]
    assert len(stats) == 3 and all(math.isfinite(s["policy_loss"]) for s in stats)


def test_cuda_learns_like_cpu():
    trainer = Trainer(load_preset("cartpole-ppo").replace(device="cuda", seed=1,
                                                           total_steps=250_000))
    assert trainer.run(until_solved=True) == "solved"


def test_checkpoint_and_resume_on_cuda(tmp_path):
    from pgtui.rl import checkpoint

    config = load_preset("cartpole-ppo").replace(device="cuda")
    first = Trainer(config)
    first.run(max_updates=2)
    first.save_checkpoint(tmp_path / "checkpoint.pt")
    second = Trainer(config)
    second.load_run_state(checkpoint.load(tmp_path / "checkpoint.pt"))
    assert second.update == 2 and second.global_step == first.global_step
    assert second.run(max_updates=4) == "updates"


def test_a_race_on_cuda():
    from pgtui.rl.race.spec import variant_configs
    from pgtui.rl.race.variant import VariantRun

    config = load_preset("variance-baseline").replace(device="cuda", total_steps=3000)
    reports = []
    for name, configs in variant_configs(config, seeds=2):
        VariantRun(name, configs, reports.append).run()
    assert all(s.episodes > 0 and s.status == "finished" for r in reports if r.final for s in r.seeds)


def test_sac_trains_on_cuda_with_its_buffer_on_the_cpu():
    events = []
    config = load_preset("pendulum-sac").replace(device="cuda", learning_starts=32, train_freq=16,
                                                 eval_every=64, eval_episodes=2)
    trainer = Trainer(config, events.append)
    assert trainer.learner.target_rows.is_cuda
    trainer.run(max_updates=6)
    stats = [e.stats for e in events if isinstance(e, UpdateFinished)]
    assert len(stats) == 6 and all(math.isfinite(s["q_loss"]) for s in stats[2:])
