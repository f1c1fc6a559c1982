"""A run's pieces, built in the order that fixes its random streams: the envs, the task's
hook, each seed's networks, the optimizer, each seed's generators and evaluator, the
collector and, for a tabular env that publishes it, its model. The trainer drives what
this builds (``trainer.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..config import Config
from .algos import algo_spec, plugins
from .algos.exact_gradient import tabular_model
from .algos.interface import Learner, Parts
from .envs.registry import EnvError, describe, make_vec_env
from .evaluation import Evaluator
from .networks import SeedNets
from .optim import RowOptimizer
from .policies import seeded_policies
from .rollout import Collector, SnapshotSink
from .seed_run import Emit, SeedRun
from .seeding import SeedStreams
from .task import TaskHook
from .tasks import task_of


def assemble(config: Config, seeds: list[int], emits: list[Emit], device: torch.device,
             live_config: Callable[[], Config], snapshot_sink: SnapshotSink, snapshot_hz: float,
             reference: dict[str, Any] | None) -> tuple[Parts, type[Learner]]:
    """The parts of a run of ``config`` with ``seeds`` (each seed's events to its emit)
    and its learner's class; raises EnvError (one line) where the algorithm or the task
    cannot run ``config``."""
    learner_class = plugins.learner_class(algo_spec(config.algo))
    envs = [make_vec_env(config.env, config.num_envs, config.max_episode_steps, config.env_kwargs)
            for _ in seeds]
    spec = task_of(config.env)  # registered as its env's module was imported
    task = spec.hook(device) if spec is not None else TaskHook()
    info = describe(envs[0])
    why = learner_class.check(config, envs[0], task) or task.check(config, not learner_class.q_network)
    if why is not None:
        for e in envs:
            e.close()
        raise EnvError(f"env '{config.env}': {why}")
    streams = [SeedStreams(seed) for seed in seeds]
    nets = SeedNets(seeded_policies(config, info, [s.init() for s in streams], learner_class.networks),
                    device)
    task.start(nets)
    optimizer = RowOptimizer.for_nets(nets, config)
    runs = [SeedRun(stream, e, torch.Generator(device=device).manual_seed(stream.sampler()),
                    torch.Generator().manual_seed(stream.shuffle()),
                    Evaluator(config, stream, info, learner_class.greedy) if config.eval_every > 0 else None)
            for stream, e in zip(streams, emits, strict=True)]
    collector = Collector(envs, info, device, [r.generator for r in runs],
                          [s.env_reset_seed(e) for s, e in zip(streams, envs, strict=True)],
                          snapshot_sink=snapshot_sink, snapshot_hz=snapshot_hz,
                          reward_scale=config.reward_scale)
    parts = Parts(nets, optimizer, collector, runs, streams, live_config, None, reference, task)
    task.apply(config, parts.every_env())
    # tabular envs that publish their model: drawn with the policy's arrows, and
    # REINFORCE's estimates meet the true gradient
    if info.discrete:
        parts.tabular = tabular_model(config.env, config.max_episode_steps, config.env_kwargs)
    return parts, learner_class
