"""The engine: trains policies and knows no screen (``tests/test_trainer.py`` enforces it).

Where a toggle goes, from a key press to the optimizer:

1. The screen (``pgtui/ui``) or a race (``variant_run.py``) submits a command
   (``events.py``: ``SetParam("ent_coef", 0.1)``) to a ``Trainer``, usually in another
   process (``remote.py``).
2. ``trainer.py`` drains its inbox between updates and replaces its config; the next
   rollout and update read the new value.
3. ``rollout.py`` steps S seeds x N envs (``joint_envs.py`` steps them as one where
   it can) with every seed's policy at once (``networks.py``) into a ``Batch``.
4. ``algorithms.py`` turns the batch into returns and advantages (``returns.py``),
   evaluates each algorithm's loss (written once, over the seed axis), measures the
   gradient noise (``diagnostics.py``) and steps every seed's row (``optim.py``).
5. The trainer emits events (``events.py``) per seed: episodes, update figures,
   snapshots. The screen draws them; ``pgtui/metrics.py`` writes them to disk.

Around it: ``policies.py`` (architectures and initial weights), ``envs.py`` (Gymnasium
envs by id), ``seed_run.py``, ``env_state.py`` and ``checkpoint.py`` (one seed's
progress, saved and resumed), ``player.py`` (watch mode), ``render.py`` (envs drawn in
text), ``race.py`` and ``race_figures.py`` (a race's configs and figures, without torch),
``device.py``.
"""
