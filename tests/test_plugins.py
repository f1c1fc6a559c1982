"""A learner of the user's own (``algo = "file.py:Class"``): the example VPG trains,
races beside pgtui's REINFORCE and shows its panes; a broken one is one line."""

import json
from pathlib import Path

import pytest
from cli_helpers import call_pgtui, run_pgtui
from test_app import drawn_text
from waiting import wait_for

from pgtui.config import ConfigError, used_by
from pgtui.metrics import read_metrics
from pgtui.preset_files import load_preset
from pgtui.rl.algos import algo_spec
from pgtui.rl.trainer import Trainer
from pgtui.ui.app import PlaygroundApp

EXAMPLES = Path(__file__).parent.parent / "examples"
VPG = str(EXAMPLES / "vpg.toml")
RANDOM_POLICY_RETURN = 22  # CartPole-v1 under uniformly random actions, about


def test_the_example_vpg_solves_cartpole_headless_from_its_preset(tmp_path):
    result = run_pgtui("train", "--preset", VPG, "--seed", "0", "--until-solved", "--out", str(tmp_path),
                       "--json", cwd=tmp_path.parent)  # the preset finds its file, not the cwd
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["reason"] == "solved" and summary["last100_mean"] >= 475, summary
    assert summary["algo"] == f"{EXAMPLES / 'vpg.py'}:VPG"  # the saved config names the file
    updates = [r for r in read_metrics(tmp_path / "metrics.jsonl") if r["type"] == "update"]
    assert {"policy_loss", "entropy", "grad_norm"} <= set(updates[0])


def test_the_example_vpg_solves_cartpole_on_every_seed():
    trainer = Trainer(load_preset(VPG).replace(total_steps=400_000), seeds=range(4))
    trainer.run(until_solved=True)
    assert [run.solved is not None for run in trainer.runs] == [True] * 4


def test_a_run_of_a_plugin_is_named_by_its_title():
    result = call_pgtui("train", "--preset", VPG, "--updates", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("CartPole-v1 VPG seed 0: reached --updates after 1 upd"), result.stdout


def test_the_spec_of_a_plugin_comes_from_its_class():
    spec = algo_spec(load_preset(VPG).algo)
    assert (spec.title, spec.settings, spec.gradient_noise) == ("VPG", ("episodes_per_update",), False)
    assert spec.name == spec.learner == f"{EXAMPLES / 'vpg.py'}:VPG"
    config = load_preset(VPG)
    # the settings pane shows what it reads: its own setting and the common ones
    assert used_by("episodes_per_update", config.algo, None) and used_by("lr", config.algo, None)
    assert not used_by("baseline", config.algo, None) and not used_by("num_steps", config.algo, None)
    assert spec.knob_line(config) == "VPG · lr 0.003 · 16 episodes"


def test_compare_races_the_vpg_beside_reinforce(tmp_path):
    result = run_pgtui("compare", "--preset", str(EXAMPLES / "vpg-vs-reinforce.toml"), "--max-steps",
                       "60000", "--out", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout.strip().splitlines()[-1])["variants"]}
    assert set(rows) == {"VPG (yours)", "REINFORCE"}
    for name, row in rows.items():  # both learn, on all of their seeds
        assert row["final_mean"] > 4 * RANDOM_POLICY_RETURN, (name, row)
    # the same estimator: standardized reward-to-go, so the two keep pace
    vpg, reinforce = rows["VPG (yours)"]["final_mean"], rows["REINFORCE"]["final_mean"]
    assert 0.5 < vpg / reinforce < 2, rows


async def test_the_playground_shows_the_vpg_s_policy_and_diagnostics():
    app = PlaygroundApp(load_preset(VPG), "vpg")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(lambda: "policy_loss" in app.state.stats and app.state.snapshot is not None)
        await pilot.pause()
        policy = app.screen.query_one("#policy-pane")
        assert policy.border_title == "policy π(a|s)"
        probs = app.state.snapshot.policy.probs
        assert len(probs) == 2 and abs(sum(probs) - 1) < 1e-6
        shown = drawn_text(app.screen.query_one("#diagnostics-pane"))
        assert "policy loss" in shown and "entropy" in shown and "grad norm" in shown, shown
        await pilot.press("q")


BROKEN = '''
import math
from pgtui.rl.algos.interface import Learner

class Raises(Learner):
    def collect(self, config, seeds):
        return self.parts.collector.episodes(self.parts.nets, 2, seeds)

    def update(self, batch, config):
        raise RuntimeError("my loss has a typo")

class NaN(Raises):
    def update(self, batch, config):
        return [{"policy_loss": math.nan} for _ in batch.seeds]

NotALearner = dict
'''


@pytest.mark.parametrize("algo, says", [
    ("no_such_module:VPG", "algo 'no_such_module:VPG': cannot import no_such_module: ModuleNotFoundError"),
    ("{dir}/missing.py:VPG", "no such file"),
    ("{dir}/broken.py:Nope", "broken.py has no Nope"),
    ("{dir}/broken.py:NotALearner", "NotALearner is not a Learner"),
    ("{dir}/syntax.py:VPG", "cannot import"),
    ("vpg", "expected one of reinforce, a2c, ppo, dqn, sac, grpo, dpo, or module:Class"),
])
def test_a_plugin_that_cannot_load_is_one_line_and_exit_2(tmp_path, algo, says):
    (tmp_path / "broken.py").write_text(BROKEN)
    (tmp_path / "syntax.py").write_text("def update(:\n")
    result = call_pgtui("train", "--preset", "cartpole-ppo", "--set", f"algo={algo.format(dir=tmp_path)}",
                        "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name, says", [
    ("Raises", "RuntimeError: my loss has a typo"),
    ("NaN", "diverged at update 1: policy_loss = nan"),
])
def test_a_plugin_whose_update_fails_ends_the_run_with_one_line_and_its_records(tmp_path, name, says):
    (tmp_path / "broken.py").write_text(BROKEN)
    result = run_pgtui("train", "--preset", "cartpole-ppo", "--set", f"algo={tmp_path}/broken.py:{name}",
                       "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert (tmp_path / "out" / "config.toml").exists()
    assert any(r["type"] == "episode" for r in read_metrics(tmp_path / "out" / "metrics.jsonl"))


async def test_in_the_playground_a_failing_update_pauses_the_run_and_keeps_it(tmp_path):
    (tmp_path / "broken.py").write_text(BROKEN)
    config = load_preset("cartpole-ppo").replace(algo=f"{tmp_path}/broken.py:Raises")
    app = PlaygroundApp(config, "broken")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(lambda: app.state.status == "paused")
        await pilot.pause()
        feedback = str(app.screen.params.query_one("#param-feedback").render())
        assert "update 1 raised RuntimeError: my loss has a typo" in feedback
        assert app.state.episodes > 0  # what it collected is kept
        await pilot.press("q")


def test_a_config_names_a_plugin_s_errors_on_one_line(tmp_path):
    where = tmp_path / "x.py"
    with pytest.raises(ConfigError, match=f"^config: algo '{where}:Y': no such file {where}$"):
        load_preset("cartpole-ppo").replace(algo=f"{where}:Y")
