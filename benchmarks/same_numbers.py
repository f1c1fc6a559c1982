"""Do two checkouts train the same numbers? A refactor's gate.

Runs ``pgtui train`` from each checkout's own virtual environment for a fixed number of
updates, for each preset x seed, and compares the update and episode records of the two
``metrics.jsonl`` files field by field, wall-clock fields aside (``wall_s``, ``sps``).
Records are compared as written (JSON numbers), so "same" means bit for bit.

    python benchmarks/same_numbers.py --before ../before --after . [--updates 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

PRESETS = ("cartpole-ppo", "cartpole-reinforce-baseline", "cartpole-dqn", "rlhf-dialogue")
WALL_CLOCK = {"wall_s", "sps"}


def updates(checkout: Path, preset: str, seed: int, count: int) -> list[dict]:
    """The update and episode records of one headless run from ``checkout``."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([str(checkout / ".venv" / "bin" / "pgtui"), "train", "--preset", preset,
                        "--seed", str(seed), "--updates", str(count), "--out", out, "--json"],
                       check=True, capture_output=True, cwd=checkout)
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
    for preset in PRESETS:
        for seed in range(args.seeds):
            a = updates(args.before.resolve(), preset, seed, args.updates)
            b = updates(args.after.resolve(), preset, seed, args.updates)
            verdict = "same" if a == b and a else "DIFFERENT"
            same &= verdict == "same"
            print(f"{preset:30s} seed {seed}: {len(a):4d} vs {len(b):4d} records, {verdict}")
    raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
