"""The engine: trains policies and knows no screen (``tests/test_layering.py`` enforces it).

- ``trainer.py``: collect -> update for S seeds, the command inbox, the events;
  ``seed_run.py`` one seed's progress, ``run_state.py`` what a checkpoint holds of it;
- ``rollout.py`` (collecting), ``networks.py`` (every seed's weights as rows),
  ``policies.py``, ``optim.py``, ``seeding.py``, ``evaluation.py``, ``events.py``,
  ``checkpoint.py``, ``player.py``, ``device.py``, ``task.py`` (the task hook);
- ``algos/``: one ``Learner`` per family (the algorithm interface) and what they share;
- ``envs/``: env ids and vector envs, the joint CartPole, env state, the chain;
- ``race/``: a race's variants x seeds, its figures, one variant's run.

``docs/architecture.md`` maps every module and follows one key press to the optimizer.
"""
