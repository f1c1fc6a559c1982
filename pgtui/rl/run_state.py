"""What a checkpoint holds of one seed of a run, and how it is put back, so that a
resumed seed goes on exactly as the uninterrupted one would: weights, optimizer state,
generators, the env's state mid-episode, the collector's running episodes, progress, and
what the algorithm keeps beyond the weights (DQN's replay buffer and target)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .algos.interface import Learner, Parts
from .checkpoint import CheckpointError
from .envs import state as env_state


def capture(parts: Parts, learner: Learner, i: int) -> dict[str, Any]:
    """Seed ``i``'s checkpoint: tensors, plain config, progress counters, and under
    ``run`` what a resumed run needs. Tensors, numbers and strings only: it loads with
    ``torch.load(weights_only=True)``."""
    run, config, collector = parts.runs[i], parts.config(), parts.collector
    return {"policy": parts.nets.state_dict(i), "optimizer": parts.optimizer.state_dict(i),
            "config": dataclasses.asdict(config.replace(seed=run.seed)),
            "meta": {"global_step": int(collector.env_steps[i]), "update": run.update,
                     "episodes": run.episodes, "env": config.env},
            "run": {**run.state_dict(), "env": env_state.capture(collector.envs.envs[i]),
                    "collector": collector.seed_state(i), "lr": float(parts.optimizer.lr[i]),
                    **learner.seed_state(i)}}


def restore(parts: Parts, learner: Learner, payload: dict[str, Any], i: int) -> None:
    """Put ``capture``'s checkpoint back into seed ``i`` of a run of the same config; one
    that does not fit raises ``CheckpointError`` (one line)."""
    if "run" not in payload:
        raise CheckpointError("this checkpoint holds weights only (written by an older pgtui); "
                              "it cannot be resumed")
    try:
        saved = payload["run"]
        parts.nets.load_state_dict(i, payload["policy"])
        parts.optimizer.load_state_dict(i, payload["optimizer"])
        parts.optimizer.set_lr(i, float(saved["lr"]))
        parts.runs[i].load_state_dict(saved, payload["meta"])
        env_state.restore(parts.collector.envs.envs[i], saved["env"])
        parts.collector.load_seed_state(i, saved["collector"])
        learner.load_seed_state(i, saved)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint does not fit its config: {first_line}") from None
