"""The RLHF capstone through the real `pgtui` entry point."""

import json

from cli_helpers import call_pgtui, run_pgtui


def test_compare_reports_proxy_true_agreement_and_kl_per_variant():
    done = run_pgtui("compare", "--preset", "rlhf-sycophancy", "--max-steps", "2560", "--seeds", "2",
                     "--json")
    assert done.returncode == 0, done.stderr
    assert "bias 0.3" in done.stdout and "true reward" in done.stdout  # the table
    variants = json.loads(done.stdout.strip().splitlines()[-1])["variants"]
    assert [v["name"] for v in variants] == ["bias 0", "bias 0.3", "bias 0.6"]
    for v in variants:
        assert {"proxy_reward", "true_reward", "agreement_when_wrong", "kl"} <= v.keys()
        assert 0 <= v["true_reward"] <= 1 and 0 <= v["agreement_when_wrong"] <= 1 and v["kl"] >= 0
    # the reward models differ: labelers who favour agreement rank correctness worse
    assert variants[0]["rm_accuracy"] > variants[2]["rm_accuracy"]


def test_train_writes_the_figures_sampled_and_exact(tmp_path):
    done = call_pgtui("train", "--preset", "rlhf-dialogue", "--updates", "3", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    updates = [r for r in records if r.get("type") == "update"]
    assert len(updates) == 3
    for key in ("proxy_reward", "true_reward", "agreement_when_wrong", "kl"):
        assert key in updates[-1] and f"{key}_exact" in updates[-1]
    assert "rm_accuracy" in updates[-1] and "rm_accuracy_held_out" in updates[-1]


def test_a_network_that_is_not_the_references_is_refused_in_one_line():
    done = call_pgtui("train", "--preset", "rlhf-dialogue", "--set", "hidden_sizes=[32]",
                     "--updates", "1")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "hidden_sizes = [64, 64]" in lines[0]
