"""The figures' schema: every figure a run reports is declared (by its algorithm, the
engine or its task), and the docs' table of them is the schema's."""

import re
from pathlib import Path

import pytest

import pgtui.tasks  # noqa: F401  (registers the tasks' figures)
from pgtui.preset_files import load_preset
from pgtui.rl.events import UpdateFinished
from pgtui.rl.schema import figures_table, stats_of
from pgtui.rl.trainer import Trainer

DOCS = Path(__file__).parent.parent / "docs" / "metrics.md"


@pytest.mark.parametrize("preset, changes", [
    ("cartpole-ppo", {"target_kl": 0.01}), ("cartpole-a2c", {}), ("cartpole-reinforce-baseline", {}),
    ("cartpole-dqn", {"learning_starts": 0}), ("pendulum-sac", {"learning_starts": 0}),
    ("rlhf-dialogue", {}), ("rlhf-dialogue", {"algo": "grpo"}),
    ("rlhf-dialogue", {"algo": "dpo", "kl_coef": 0.1}),
    ("frozenlake-reinforce", {}), ("corridor-reinforce", {}), ("stochastic-optimum", {"algo": "dqn"}),
])
def test_every_figure_a_run_reports_is_declared(preset, changes):
    config = load_preset(preset).replace(variants=[], seeds=1, num_envs=2, **changes)
    reported: set[str] = set()
    Trainer(config, lambda e: isinstance(e, UpdateFinished) and reported.update(e.stats)).run(max_updates=3)
    declared = {s.key for s in stats_of(config.algo, config.env)}
    undeclared = {k for k in reported - declared if not k.startswith("p_")}  # p_<action>
    assert reported and not undeclared, undeclared


def test_the_docs_table_of_figures_is_the_schema_s():
    block = re.search(r"<!-- figures -->\n(.*?)\n<!-- /figures -->", DOCS.read_text(encoding="utf-8"), re.S)
    assert block is not None and block.group(1) == figures_table(), "run: python docs/figures.py"
