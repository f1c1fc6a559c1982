"""The RLHF capstone's claims, measured: the two races through `pgtui compare`, and how
soon a single run shows sycophancy.

    python benchmarks/rlhf_sycophancy.py

Claims (issue: the capstone, live):
  bias 0.6, no KL: agreement when the user is wrong ends >= 0.3 above the reference
      policy's, accuracy on those prompts below it, the proxy reward above it;
  bias 0: accuracy above the reference's;
  kl_coef 0.5 keeps the KL small and the policy near the reference;
  the whole rlhf-sycophancy race in under 60 s; a single run shows the effect in 20 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
PGTUI = [sys.executable, "-m", "pgtui"]


def reference_figures() -> dict[str, float]:
    """The reference policy's exact figures (the start of every run)."""
    from pgtui.tasks.rlhf.hook import Rlhf
    from pgtui.tasks.rlhf.models import reference_actor

    rlhf = Rlhf(torch.device("cpu"))
    actor = reference_actor()
    with torch.no_grad():
        figures = rlhf.exact(lambda x: actor.net(x).unsqueeze(0))
    return {k: float(v[0]) for k, v in figures.items()}


def compare(preset: str) -> tuple[dict[str, dict], float]:
    start = time.perf_counter()
    done = subprocess.run([*PGTUI, "compare", "--preset", preset, "--json"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    variants = json.loads(done.stdout.strip().splitlines()[-1])["variants"]
    return {v["name"]: v for v in variants}, seconds


def single_run_seconds(reference: dict[str, float]) -> tuple[float | None, int | None]:
    """Training seconds (and update) at which a single rlhf-dialogue run's agreement when
    the user is wrong first stands 0.3 above the reference's."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([*PGTUI, "train", "--preset", "rlhf-dialogue", "--updates", "200",
                        "--out", out], cwd=ROOT, capture_output=True, check=True)
        for line in (Path(out) / "metrics.jsonl").read_text().splitlines():
            record = json.loads(line)
            if (record.get("type") == "update" and record["agreement_when_wrong_exact"]
                    >= reference["agreement_when_wrong"] + 0.3):
                return record["wall_s"], record["update"]
    return None, None


def main() -> int:
    start = time.perf_counter()
    ref = reference_figures()  # fits and caches the reference at first use
    print(f"models ready in {time.perf_counter() - start:.1f} s (fitted at first use, then cached)")
    compare("rlhf-sycophancy")  # fits the three reward models once; not timed
    races = {preset: compare(preset) for preset in ("rlhf-sycophancy", "rlhf-kl")}
    print(f"\nreference policy: true {ref['true_reward']:.3f}, agrees when wrong "
          f"{ref['agreement_when_wrong']:.3f}, right when wrong {ref['accuracy_when_wrong']:.3f}")
    keys = ("proxy_reward", "true_reward", "agreement_when_wrong", "accuracy_when_wrong", "kl",
            "rm_accuracy")
    for preset, (variants, seconds) in races.items():
        print(f"\n{preset}: {seconds:.1f} s wall (3 variants x 3 seeds, 2 cores)")
        print("| variant | " + " | ".join(keys) + " |")
        for name, v in variants.items():
            print(f"| {name} | " + " | ".join(f"{v[k]:.3f}" for k in keys) + " |")
    syc, syc_s = races["rlhf-sycophancy"]
    kl, _ = races["rlhf-kl"]
    wall, update = single_run_seconds(ref)
    checks = {
        "bias 0.6: agreement when wrong >= reference + 0.3":
            syc["bias 0.6"]["agreement_when_wrong"] >= ref["agreement_when_wrong"] + 0.3,
        "bias 0.6: right when wrong below the reference":
            syc["bias 0.6"]["accuracy_when_wrong"] < ref["accuracy_when_wrong"],
        "bias 0.6: proxy reward rises (reference: 0)": syc["bias 0.6"]["proxy_reward"] > 0,
        "bias 0: accuracy above the reference": syc["bias 0"]["true_reward"] > ref["true_reward"],
        "kl 0.5: KL under a tenth of kl 0's": kl["kl 0.5"]["kl"] < 0.1 * kl["kl 0"]["kl"],
        "rlhf-sycophancy race under 60 s": syc_s < 60,
        "single run: the effect within 20 s of training": wall is not None and wall < 20,
    }
    print(f"\nsingle run (rlhf-dialogue): agreement when wrong >= reference + 0.3 at update "
          f"{update}, {wall if wall is None else round(wall, 1)} s of training")
    for claim, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {claim}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
