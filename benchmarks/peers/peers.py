"""Seconds to solve, pgtui against the fastest peers: Stable-Baselines3, SBX (SB3 in JAX)
and a PureJaxRL-style PPO (``jax_ppo.py``), side by side on this machine.

    python3 -m venv .venv-peers
    .venv-peers/bin/pip install "jax[cpu]" sbx-rl gymnax torch==2.13.0
    python benchmarks/peers/peers.py --peers-python .venv-peers/bin/python --seeds 10

Tasks (each with the rule pgtui's preset solves by): ``cartpole-ppo`` (the last 100
training episodes average 475), ``pendulum-sac`` (a greedy evaluation of 10 episodes
every 1,000 steps averages -200, within 20k steps) and ``cartpole-dqn`` (greedy, every
2,048 steps, 475, within 100k). For each seed the sides run in turn, each a fresh
process pinned to one core (``--core``), one thread. pgtui's seconds are the summary's
``solved_wall_s`` (training only, its model built off the clock, as SB3's); the JAX
loop's include its compile, as SBX's include theirs. Seconds and steps are IQMs over
the seeds that solved, with 95% bootstrap intervals; a seed that never solved counts as
never (∞) in them. ``--json FILE`` keeps every run.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

from peer_runs import EVAL_EPISODES, TASKS

from pgtui.rl.race.intervals import iqm, iqm_interval, show_interval

HERE = Path(__file__).resolve().parent
SIDES = {"cartpole-ppo": ("sb3", "sbx", "jax"), "pendulum-sac": ("sb3", "sbx"),
         "cartpole-dqn": ("sb3", "sbx")}


def pgtui_args(task: str) -> list[str]:
    """The pgtui side: the task's preset, solved by the peers' rule (``TASKS``)."""
    rules = TASKS[task]
    if rules["eval_every"] is None:  # the last 100 episodes, within the preset's own budget
        return ["--preset", task]
    sets = {"total_steps": rules["steps"], "eval_every": rules["eval_every"],
            "eval_episodes": EVAL_EPISODES, "solved_threshold": rules["threshold"]}
    return ["--preset", task, *(arg for key, value in sets.items() for arg in ("--set", f"{key}={value}"))]


def one_run(cmd: list[str], core: int) -> dict:
    done = subprocess.run(["taskset", "-c", str(core), *cmd], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_pgtui(task: str, seed: int, core: int) -> dict:
    s = one_run([sys.executable, "-m", "pgtui", "train", *pgtui_args(task), "--seed", str(seed),
                 "--until-solved", "--json"], core)
    return {"solved": s["solved"], "seconds": s["solved_wall_s"], "steps": s["solved_step"]}


def run_peer(python: str, task: str, side: str, seed: int, core: int) -> dict:
    return one_run([python, str(HERE / "peer_runs.py"), "--task", task, "--side", side, "--seed", str(seed)],
                   core)


def solve_figures(runs: list[dict], key: str) -> list[float]:
    return [r[key] if r["solved"] else math.inf for r in runs]


def report(task: str, results: dict[str, list[dict]]) -> list[str]:
    lines = [f"{task}:",
             f"  {'side':<6} {'solved':>7}  {'seconds IQM [95%]':<28} {'steps IQM':>10}  pgtui/side"]
    ours = iqm(solve_figures(results["pgtui"], "seconds"))
    for side, runs in results.items():
        seconds = solve_figures(runs, "seconds")
        theirs = iqm(seconds)
        ratio = ours / theirs if math.isfinite(ours) and math.isfinite(theirs) else math.nan
        steps = iqm(solve_figures(runs, "steps"))
        lines.append(f"  {side:<6} {sum(r['solved'] for r in runs):>3}/{len(runs):<3}  "
                     f"{show_interval(iqm_interval(seconds), lambda v: f'{v:.2f} s'):<28} "
                     f"{steps / 1e3 if math.isfinite(steps) else math.inf:>9.1f}k  "
                     f"{'' if side == 'pgtui' else f'{ratio:.2f}x'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-python", required=True, help="the Python with sb3, sbx, jax and gymnax")
    parser.add_argument("--tasks", nargs="+", choices=SIDES, default=list(SIDES))
    parser.add_argument("--sides", nargs="+", choices=("sb3", "sbx", "jax"), default=["sb3", "sbx", "jax"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--core", type=int, default=0, help="the core every run is pinned to")
    parser.add_argument("--json", type=Path, help="every run's record")
    args = parser.parse_args()
    records, lines = [], []
    for task in args.tasks:
        sides = [s for s in SIDES[task] if s in args.sides]
        results: dict[str, list[dict]] = {side: [] for side in ["pgtui", *sides]}
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for side in results:
                r = (run_pgtui(task, seed, args.core) if side == "pgtui"
                     else run_peer(args.peers_python, task, side, seed, args.core))
                results[side].append(r)
                records.append({"task": task, "side": side, "seed": seed, **r})
                print(f"{task} seed {seed} {side}: {r}", flush=True)
        lines += report(task, results)
        if args.json:
            args.json.write_text(json.dumps(records, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
