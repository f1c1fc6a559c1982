"""Does every preset that claims to solve, solve on every seed and on both kernel paths?

Each preset x kernel path is one `pgtui compare --preset P --seeds N --json` in a fresh
process (its seeds one batched trainer, as a user runs them): solved k/N, and steps and
seconds to solve and the final return as IQM with a 95% bootstrap interval (a seed that
never solved counts as never). The two kernel paths: the machine's own (AVX-512 where it
has it) and AVX2's, which round as another CPU does. Every table carries the CPU
capability each path reported and the versions.

    python benchmarks/robustness.py                                    # seeds 0-9, both paths
    python benchmarks/robustness.py --presets cartpole-dqn --first-seed 100 --seeds 20  # tuning
    python benchmarks/robustness.py --kernels native --json robustness.json
    python benchmarks/robustness.py --presets lunarlander-continuous-sac --kernels native \
        --until-solved 150000 --core 0                  # each seed alone, in turn

A race runs every seed to the preset's budget, which for lunarlander-continuous-sac (500k
steps at about 12 ms each) is hours a seed. ``--until-solved MAX_STEPS`` runs each seed
alone instead, `pgtui train --until-solved --max-steps MAX_STEPS --json` (pinned to
``--core``): each stops where it solves, and one that has not by MAX_STEPS counts as
never; its final return is the last-100 mean where it stopped. Each seed's line goes
to stderr as it ends, so a stopped run keeps what it measured.

Presets are tuned on seeds 100-119 and checked on 0-9, never tuned on the seeds that
check them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from pgtui.commands.compare import show_steps
from pgtui.preset_files import load_preset
from pgtui.rl.envs.registry import env_info, solved_threshold
from pgtui.rl.race.intervals import Interval, iqm_interval, show_interval

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ("cartpole-reinforce-baseline", "cartpole-a2c", "cartpole-ppo", "cartpole-dqn",
           "acrobot-ppo", "pendulum-ppo", "pendulum-sac", "frozenlake-reinforce",
           "cliffwalking-a2c", "lunarlander-ppo", "lunarlander-continuous-sac")
AVX2 = {"MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
KERNELS = {"native": {}, "avx2": AVX2}


def environment(kernel: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in AVX2}
    return {**env, **KERNELS[kernel]}


def capability(kernel: str) -> str:
    """What torch's CPU kernels use on this path: AVX512, AVX2, ..."""
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    return subprocess.run([sys.executable, "-c", code], env=environment(kernel), capture_output=True,
                          text=True, check=True).stdout.strip()


def versions() -> dict[str, str]:
    from importlib.metadata import version

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    found = {name: version(name) for name in ("torch", "gymnasium", "numpy", "scipy")}
    return {"pgtui": commit, "python": platform.python_version(), **found,
            "cpu": platform.processor() or platform.machine(), "cores": str(os.cpu_count())}


def race(preset: str, kernel: str, first_seed: int, seeds: int) -> tuple[list[dict], float]:
    """Each variant's compare record, and the wall time of the whole race."""
    argv = [sys.executable, "-m", "pgtui", "compare", "--preset", preset, "--seeds", str(seeds),
            "--set", f"seed={first_seed}", "--json"]
    start = time.monotonic()
    done = subprocess.run(argv, env=environment(kernel), capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{preset} ({kernel}): exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["variants"], wall


def solo_runs(preset: str, kernel: str, first_seed: int, seeds: int, max_steps: int,
              core: int | None) -> tuple[list[dict], float]:
    """Each seed alone until it solves or takes ``max_steps``: a record laid out as a
    race variant's (``race``), and the wall time of all of them."""
    pin = ["taskset", "-c", str(core)] if core is not None else []
    start, summaries = time.monotonic(), []
    for seed in range(first_seed, first_seed + seeds):
        argv = [*pin, sys.executable, "-m", "pgtui", "train", "--preset", preset, "--seed", str(seed),
                "--until-solved", "--max-steps", str(max_steps), "--json"]
        done = subprocess.run(argv, env=environment(kernel), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{preset} seed {seed} ({kernel}): exit {done.returncode}: "
                             f"{done.stderr.strip()[-500:]}")
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        summaries.append(summary)
        print(f"{preset} seed {seed} ({kernel}): solved {summary['solved']} at {summary['solved_step']}, "
              f"{summary['wall_s']:.0f} s of training, last-100 mean {summary['last100_mean']:.1f}",
              file=sys.stderr, flush=True)
    never = math.inf
    steps = [s["solved_step"] if s["solved"] else never for s in summaries]
    seconds = [s["solved_wall_s"] if s["solved"] else never for s in summaries]
    record = {"name": preset, "seeds": seeds, "solved": sum(s["solved"] for s in summaries),
              "steps_iqm": iqm_interval(steps).as_json(), "seconds_iqm": iqm_interval(seconds).as_json(),
              "final_iqm": iqm_interval([s["last100_mean"] for s in summaries]).as_json(),
              "runs": summaries}
    return [record], time.monotonic() - start


def interval(record: dict, key: str) -> Interval | None:
    found = record.get(key)
    if found is None:
        return None
    inf = float("inf")
    return Interval(*(inf if found[k] is None else found[k] for k in ("value", "low", "high")))


def threshold(preset: str) -> float | None:
    """The return that counts as solved for ``preset`` (None: its env has none, and
    "solved" says nothing of it)."""
    config = load_preset(preset)
    return solved_threshold(config, env_info(config.env, config.env_kwargs))


def row(name: str, kernel: str, record: dict, wall: float, solved_at: float | None) -> str:
    tenths = "{:.1f}".format
    solved = "no threshold" if solved_at is None else f"{record['solved']}/{record['seeds']}"
    cells = [name, kernel, solved,
             show_interval(interval(record, "steps_iqm"), show_steps),
             show_interval(interval(record, "seconds_iqm"), tenths),
             show_interval(interval(record, "final_iqm"), tenths), f"{wall:.0f}"]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--kernels", nargs="+", choices=list(KERNELS), default=list(KERNELS))
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also every record, with the machine, here")
    parser.add_argument("--until-solved", type=int, metavar="MAX_STEPS",
                        help="each seed alone until it solves, or for MAX_STEPS env steps")
    parser.add_argument("--core", type=int, help="with --until-solved: the core each run is pinned to")
    args = parser.parse_args()
    paths = {kernel: capability(kernel) for kernel in args.kernels}
    machine = versions()
    print(f"seeds {args.first_seed}-{args.first_seed + args.seeds - 1}; kernel paths: "
          + ", ".join(f"{k} = {v}" for k, v in paths.items()) + "; "
          + ", ".join(f"{k} {v}" for k, v in machine.items()))
    print("| preset | kernels | solved | steps to solve, IQM [95%] | seconds | final return | race s |")
    print("|---|---|---|---|---|---|---|")
    records = []
    for preset in args.presets:
        solved_at = threshold(preset)
        for kernel in args.kernels:
            variants, wall = (race(preset, kernel, args.first_seed, args.seeds) if args.until_solved is None
                              else solo_runs(preset, kernel, args.first_seed, args.seeds,
                                             args.until_solved, args.core))
            for record in variants:  # a race preset's variants each have a row
                name = preset if len(variants) == 1 else f"{preset}: {record['name']}"
                print(row(name, kernel, record, wall, solved_at), flush=True)
                records.append({"preset": preset, "kernel": kernel, "capability": paths[kernel],
                                "threshold": solved_at, "wall_s": wall, **record})
    if args.json is not None:
        document = {"machine": machine, "kernels": paths, "first_seed": args.first_seed,
                    "seeds": args.seeds, "records": records}
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
