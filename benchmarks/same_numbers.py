"""Do two checkouts train the same numbers? A refactor's gate.

Runs ``pgtui train`` from each checkout (its code on ``PYTHONPATH``, this interpreter's
packages) for a fixed number of updates, for each case (every algorithm: a preset and its
overrides) x seed, and compares the update and episode records of the two
``metrics.jsonl`` files field by field, wall-clock fields aside (``wall_s``, ``sps``).
Records are compared as written (JSON numbers), so "same" means bit for bit.

    git worktree add ../before HEAD~1
    python benchmarks/same_numbers.py --before ../before --after . [--updates 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

#: every algorithm at least once, and the envs with a published model or a task
CASES = (("cartpole-ppo", ()), ("cartpole-a2c", ()), ("cartpole-reinforce-baseline", ()),
         ("cartpole-dqn", ()), ("pendulum-sac", ()), ("rlhf-dialogue", ()),
         ("rlhf-dialogue", ("algo=grpo",)), ("rlhf-dialogue", ("algo=dpo", "kl_coef=0.1")),
         ("frozenlake-baseline", ()), ("corridor-reinforce", ()))
WALL_CLOCK = {"wall_s", "sps"}


def updates(checkout: Path, preset: str, overrides: tuple[str, ...], seed: int, count: int) -> list[dict]:
    """The update and episode records of one headless run from ``checkout``."""
    sets = [arg for kv in overrides for arg in ("--set", kv)]
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "pgtui", "train", "--preset",
                        str(checkout / "presets" / f"{preset}.toml"), *sets, "--seed", str(seed),
                        "--updates", str(count), "--out", out, "--json"],
                       check=True, capture_output=True, cwd=checkout,
                       env={**os.environ, "PYTHONPATH": str(checkout)})
        lines = (Path(out) / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return [{k: v for k, v in r.items() if k not in WALL_CLOCK}
            for r in records if r["type"] in ("update", "episode")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    same = True
    for preset, overrides in CASES:
        for seed in range(args.seeds):
            a = updates(args.before.resolve(), preset, overrides, seed, args.updates)
            b = updates(args.after.resolve(), preset, overrides, seed, args.updates)
            verdict = "same" if a == b and a else "DIFFERENT"
            same &= verdict == "same"
            name = " ".join((preset, *overrides))
            print(f"{name:40s} seed {seed}: {len(a):4d} vs {len(b):4d} records, {verdict}", flush=True)
    raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
