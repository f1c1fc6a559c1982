"""Every random stream of a run derives from its seed, and no two seeds or purposes share one."""

import numpy as np
import torch

from pgtui.preset_files import load_preset
from pgtui.rl.seeding import SeedStreams
from pgtui.rl.trainer import Trainer


def test_no_two_seeds_envs_start_alike():
    """Gymnasium seeds a vector env's env i with seed + i: seeds 0..4 of 4 Acrobot envs
    then started 12 of their 20 envs exactly as another seed's env."""
    trainer = Trainer(load_preset("acrobot-ppo").replace(num_envs=4), seeds=range(5))
    starts = trainer.collector.obs.reshape(20, -1)
    assert len(np.unique(starts, axis=0)) == 20
    trainer.collector.envs.close()


def test_every_generator_of_a_race_draws_its_own_stream():
    """Seed s's minibatch shuffles were seeded s + 1, the next seed's action stream, and
    its initial weights came from the same stream as its actions."""
    trainer = Trainer(load_preset("cartpole-ppo"), seeds=range(3))
    generators = [g for run in trainer.runs for g in (run.generator, run.cpu_generator)]
    firsts = {tuple(torch.randint(2**31, (4,), generator=g).tolist()) for g in generators}
    assert len(firsts) == len(generators)
    for run in trainer.runs:  # the weights do not come from the sampler's stream
        assert run.streams.init() != run.streams.sampler()
    trainer.collector.envs.close()


def test_the_streams_of_many_seeds_are_all_distinct_and_repeatable():
    def all_streams(seed):
        s = SeedStreams(seed)
        return [s.init(), s.sampler(), s.shuffle(), s.watch_sampler(), s.watch_env(0),
                *(s.diagnostics(u) for u in range(5)), *(s.env_seed(i) for i in range(8))]

    values = [v for seed in range(20) for v in all_streams(seed)]
    assert len(set(values)) == len(values)
    assert all(0 <= v < 2**63 for v in values)
    assert all_streams(7) == all_streams(7)


def test_a_native_vector_env_takes_one_seed_and_separate_envs_one_each():
    trainer = Trainer(load_preset("acrobot-ppo").replace(num_envs=3), seeds=[4])
    stream = trainer.runs[0].streams
    assert stream.env_reset_seed(trainer.collector.envs.envs[0]) == [stream.env_seed(i) for i in range(3)]
    cartpole = Trainer(load_preset("cartpole-ppo"), seeds=[4])
    assert isinstance(stream.env_reset_seed(cartpole.collector.envs.envs[0]), int)
    for t in (trainer, cartpole):
        t.collector.envs.close()
