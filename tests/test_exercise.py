"""The REINFORCE exercise: the scaffold, the grader (each planted mistake is named, a
biased estimator that still trains is caught by the exact gradient), and the answer
trained through the real entry point."""

from pathlib import Path

import pytest
from cli_helpers import run_pgtui

from pgtui.exercises.grading import FAILED, NOT_STARTED, PASSED, grade
from pgtui.exercises.loading import fresh_module
from pgtui.exercises.reinforce import answer
from pgtui.exercises.reinforce.checks import CHECKS
from pgtui.exercises.reinforce.exact import check_gradient
from pgtui.metrics import read_metrics
from pgtui.preset_files import load_preset
from pgtui.rl.trainer import Trainer

ANSWER = Path(answer.__file__).read_text(encoding="utf-8")


def planted(tmp_path: Path, old: str, new: str, name: str = "reinforce.py") -> Path:
    """pgtui's answer with one mistake planted: ``old`` replaced by ``new``."""
    assert old in ANSWER, old
    path = tmp_path / name
    path.write_text(ANSWER.replace(old, new), encoding="utf-8")
    return path


ENTROPY = "return log_prob_entropy(logits, torch.zeros(logits.shape[:-1], dtype=torch.long), None)[1]"

# (the function, the mistake planted in pgtui's answer, what the grader says of it)
MISTAKES = {
    "return across episodes": (
        "reward_to_go", "return engine_reward_to_go(rewards, dones, gamma)",
        "return engine_reward_to_go(rewards, torch.zeros_like(dones), gamma)",
        "carried +"),
    "return without gamma": (
        "reward_to_go", "return engine_reward_to_go(rewards, dones, gamma)",
        "return engine_reward_to_go(rewards, dones, 1.0)", "ignores gamma"),
    "reward-to-go for the whole return": (
        "episode_return", "return full_episode_returns(rewards, dones, gamma)",
        "return engine_reward_to_go(rewards, dones, gamma)", "gives each step the reward-to-go"),
    "log of a softmax": (
        "log_prob", "return categorical_log_prob(logits, actions)",
        "return logits.softmax(-1).log().gather(-1, actions.unsqueeze(-1)).squeeze(-1)",
        "take log_softmax"),
    "a probability for its log": (
        "log_prob", "return categorical_log_prob(logits, actions)",
        "return categorical_log_prob(logits, actions).exp()", "returns pi(a|s), not its log"),
    "0 log 0": (
        "entropy", ENTROPY, "p = logits.softmax(-1)\n    return -(p * p.log()).sum(-1)",
        "0 log 0 counts as 0"),
    "a negative entropy": ("entropy", ENTROPY, f"return -{ENTROPY[len('return '):]}", "wrong sign"),
    "a baseline that sees its own episode": (
        "mean_baseline", "    episodes = int(episode_ids.max()) + 1 if valid.any() else 1",
        "    return returns[valid].mean().expand_as(returns)", "own episode is in its mean"),
    "a mean over steps that are not valid": (
        "mean_baseline", "    episodes = int(episode_ids.max()) + 1 if valid.any() else 1",
        "    return returns.mean().expand_as(returns)", "not valid"),
    "normalized over every step": (
        "normalize", "return normalize_rows(advantages.reshape(1, -1), valid.reshape(1, -1))",
        "return normalize_rows(advantages.reshape(1, -1), None)", "leave out steps that are not valid"),
    "one step divided by its std": (
        "normalize", "    if int(valid.sum()) < 2:",
        "    kept = advantages[valid]\n"
        "    return (advantages - kept.mean()) / (kept.std() + 1e-8)\n    if False:",
        "a batch of one valid step"),
    "a value baseline the policy trains": (
        "advantages", "weights = returns - values.detach()", "weights = returns - values",
        "carry a gradient into the critic"),
    "a loss that climbs": (
        "loss", "policy = -masked_sum(", "policy = masked_sum(", "wrong sign"),
    "a policy term averaged over steps": (
        "loss", "policy = -masked_sum((log_probs * advantages).reshape(1, -1), mask) / episodes",
        "policy = -(log_probs * advantages)[valid].mean()", "policy term is a mean over the batch's steps"),
    "an entropy bonus weighed per batch": (
        "loss", "bonus = masked_sum(entropies.reshape(1, -1), mask) / episodes",
        "bonus = entropies[valid].mean()", "entropy bonus is a mean over the batch's steps"),
    "steps that are not valid in the loss": (
        "loss", "policy = -masked_sum((log_probs * advantages).reshape(1, -1), mask) / episodes",
        "policy = -(log_probs * advantages).sum() / episodes", "not valid get a gradient"),
    "probabilities out of the network": (
        "policy_network", "nn.Linear(hidden, n_actions))", "nn.Linear(hidden, n_actions), nn.Softmax(-1))",
        "returns probabilities"),
    "one hidden layer": (
        "policy_network", " nn.Linear(hidden, hidden), nn.Tanh(),", "", "its linear layers are"),
}


def test_pgtuis_answer_passes_every_check():
    path = Path(answer.__file__)
    verdicts = grade(fresh_module(path), path, CHECKS)
    assert [v.status for v in verdicts] == [PASSED] * len(CHECKS), verdicts


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_planted_mistake_fails_its_function_with_a_message_that_names_it(tmp_path, mistake):
    function, old, new, says = MISTAKES[mistake]
    path = planted(tmp_path, old, new)
    verdicts = {v.name: v for v in grade(fresh_module(path), path, CHECKS)}
    assert verdicts[function].status == FAILED, verdicts[function]
    assert verdicts[function].message.startswith(f"{function}: ") and says in verdicts[function].message
    assert "\n" not in verdicts[function].message and verdicts[function].hint
    # the others still pass, but for those that call the broken one
    calls = {"mean_baseline": {"advantages"}, "normalize": {"advantages"}}.get(function, set())
    assert all(v.status == PASSED for name, v in verdicts.items() if name not in {function, *calls})


def test_a_biased_baseline_that_still_trains_is_caught_by_the_exact_gradient(tmp_path):
    path = planted(tmp_path, *MISTAKES["a baseline that sees its own episode"][1:3])
    verdicts = {v.name: v for v in check_gradient(fresh_module(path), path)}
    biased = verdicts["gradient (mean baseline, reward-to-go)"]
    assert biased.status == FAILED and "biased" in biased.message, biased
    assert verdicts["gradient (none baseline, full)"].status == PASSED  # it has no mean baseline
    # and it trains: three seeds, each well past a random policy's 22 within 60k steps
    config = load_preset("exercise-reinforce").replace(algo=str(path), baseline="mean", total_steps=60_000)
    trainer = Trainer(config, seeds=range(3))
    trainer.run()
    assert all(run.last100_mean > 100 for run in trainer.runs), [run.last100_mean for run in trainer.runs]


def test_the_exact_gradient_check_passes_pgtuis_answer():
    path = Path(answer.__file__)
    verdicts = check_gradient(fresh_module(path), path)
    assert [v.status for v in verdicts] == [PASSED] * 3, verdicts


def test_the_scaffold_is_written_once_and_graded_not_started_not_crashed(tmp_path):
    done = run_pgtui("exercise", "reinforce", str(tmp_path / "mine"))
    target = tmp_path / "mine" / "reinforce.py"
    assert done.returncode == 0 and target.is_file(), done.stderr
    target.write_text(target.read_text() + "\n# my work\n")
    again = run_pgtui("exercise", "reinforce", str(tmp_path / "mine"))
    assert again.returncode == 1 and "left as it is" in again.stderr
    assert target.read_text().endswith("# my work\n")  # never overwritten
    graded = run_pgtui("exercise", "check", str(target))
    assert graded.returncode == 1 and "Traceback" not in graded.stdout + graded.stderr
    assert graded.stdout.count("not started") == 12 and "0 of 12 passed" in graded.stdout


def test_a_loss_that_never_returns_is_waited_for_once_not_once_per_check(tmp_path, monkeypatch):
    from pgtui.exercises.limits import SECONDS_VAR
    from pgtui.exercises.reinforce import grade as grade_answer

    monkeypatch.setenv(SECONDS_VAR, "1")  # an honest check takes milliseconds; the clock allows 6 s
    calls = tmp_path / "calls"
    path = planted(tmp_path, "def loss(", f"""def loss(*args):
    open({str(calls)!r}, "a").write("called\\n")
    while True:
        pass


def pgtuis_loss(""")
    verdicts = {v.name: v for v in grade_answer(path)}
    assert "ran past the 1 s of CPU time" in verdicts["loss"].message, verdicts["loss"]
    gradients = [v for name, v in verdicts.items() if name.startswith("gradient")]
    assert len(gradients) == 3 and all(v.status == FAILED for v in gradients)
    assert all("not run, as loss ran past its time above" in v.message for v in gradients)
    assert calls.read_text() == "called\n"  # the gradient cases did not call it again
    assert verdicts["log_prob"].status == PASSED  # the other functions were graded as usual


def test_check_exits_0_on_the_answer_and_1_with_one_line_per_failure(tmp_path):
    right = planted(tmp_path, "EXERCISE =", "EXERCISE =", "right.py")
    passed = run_pgtui("exercise", "check", str(right))
    assert passed.returncode == 0 and "12 of 12 passed" in passed.stdout, passed.stdout + passed.stderr
    wrong = planted(tmp_path, *MISTAKES["return across episodes"][1:3], "wrong.py")
    failed = run_pgtui("exercise", "check", str(wrong), "--hint")
    assert failed.returncode == 1
    lines = [line for line in failed.stdout.splitlines() if line.startswith("✗")]
    assert lines and lines[0].startswith("✗ reward_to_go: the episode that ends at t=")
    assert "hint: run backwards over t" in failed.stdout


@pytest.mark.parametrize(("args", "says"), [
    (["check", "no_such.py"], "no such file no_such.py"),
    (["check", "tests/conftest.py"], "answers no exercise"),
    (["nope"], "expected an exercise (reinforce) or one of check, play, race"),
    (["play"], "expected one answer file"),
    (["race", "x.py", "--seeds", "0"], "--seeds: expected a positive integer, got '0'"),
])
def test_bad_input_is_one_line_and_exit_2(args, says):
    result = run_pgtui("exercise", *args, cwd=Path(__file__).parent.parent)
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_syntax_error_in_the_answer_is_one_line_naming_its_line(tmp_path):
    broken = planted(tmp_path, "def loss(", "def loss(:", "broken.py")
    result = run_pgtui("exercise", "check", str(broken))
    line = next(n for n, text in enumerate(broken.read_text().splitlines(), 1) if "def loss(:" in text)
    assert result.returncode == 2 and f"broken.py, line {line}: syntax error" in result.stderr


def test_the_answer_trains_through_the_real_entry_point_and_records_its_figures(tmp_path):
    path = planted(tmp_path, "EXERCISE =", "EXERCISE =")
    result = run_pgtui("train", "--preset", "exercise-reinforce", "--set", f"algo={path}",
                       "--updates", "3", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    updates = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["type"] == "update"]
    assert len(updates) == 3 and all(u["own_functions"] == 9 for u in updates)
    assert all(0.5 < u["entropy"] <= 0.6932 for u in updates)  # near-uniform over two actions


def test_an_unwritten_function_is_pgtuis_while_training(tmp_path):
    path = planted(tmp_path, "return categorical_log_prob(logits, actions)", "raise NotImplementedError")
    result = run_pgtui("train", "--preset", "exercise-reinforce", "--set", f"algo={path}",
                       "--updates", "1", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    update = next(r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["type"] == "update")
    assert update["own_functions"] == 8


def test_not_started_is_not_a_gradient_check():
    scaffold = Path(answer.__file__).with_name("scaffold.py")
    from pgtui.exercises.reinforce import grade as grade_file

    assert all(v.status == NOT_STARTED for v in grade_file(scaffold))


@pytest.mark.parametrize("biased", [False, True])
def test_on_the_chain_the_diagnostics_hold_each_update_against_the_true_gradient(tmp_path, biased):
    from pgtui.rl.events import UpdateFinished

    path = planted(tmp_path, *MISTAKES["a baseline that sees its own episode"][1:3]) if biased \
        else planted(tmp_path, "EXERCISE =", "EXERCISE =")
    events = []
    config = load_preset("exercise-reinforce").replace(
        algo=str(path), env="pgtui/Chain-v0", hidden_sizes=[16], gamma=1.0, baseline="mean",
        normalize_advantage=False, num_envs=4, episodes_per_update=4, diag_every=1)
    Trainer(config, events.append).run(max_updates=60)
    stats = [e.stats for e in events if isinstance(e, UpdateFinished)]
    assert len(stats) == 60 and all("true_grad_cosine" in s for s in stats)
    assert sum(s["true_grad_cosine"] for s in stats) / 60 > 0.3  # each update's: noisy, aligned
    # the error along the true gradient, averaged over the updates: noise, or a bias of 1/K
    if biased:
        assert stats[-1]["true_grad_bias"] < -0.2 and stats[-1]["true_grad_bias_se"] > 3
    else:
        assert abs(stats[-1]["true_grad_bias"]) < 0.2 and stats[-1]["true_grad_bias_se"] < 3


def test_the_screens_process_reads_an_answer_without_running_it_or_loading_torch(tmp_path):
    import subprocess
    import sys

    path = planted(tmp_path, "EXERCISE =", "EXERCISE =")
    code = ("import sys\nfrom pgtui.preset_files import load_preset\n"
            "shown = load_preset('exercise-reinforce')\n"
            f"mine = shown.replace(algo={str(path)!r})\n"
            "from pgtui.rl.algos import algo_spec\n"
            "print(algo_spec(mine.algo).title, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["REINFORCE", "(reinforce.py)", "False"]


def test_the_scaffold_counts_none_of_its_functions_as_written_while_it_trains(tmp_path):
    path = tmp_path / "reinforce.py"
    path.write_text(Path(answer.__file__).with_name("scaffold.py").read_text())
    result = run_pgtui("train", "--preset", "exercise-reinforce", "--set", f"algo={path}",
                       "--updates", "1", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    update = next(r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["type"] == "update")
    assert update["own_functions"] == 0  # pgtui's answer stands in for all nine
