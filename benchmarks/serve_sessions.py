"""How many served playgrounds this machine holds: `pgtui serve` with N tabs open, every
one training, driven over textual-serve's websocket as the page drives it.

    python benchmarks/serve_sessions.py [--sessions 1 2 4 6 8 10 12] [--presses 12]
    python benchmarks/serve_sessions.py --sessions 2 --allow-code --rounds 3


Per N: seconds from opening a tab to its first byte and to its CartPole pane, the key
latency (the screen's own answer: ``L`` until the lessons' list arrives at the page; p50
and p95 over every tab's presses), memory (RSS of each session's process group) and CPU
per session. Goal (issue: the playground in a browser): the most sessions for which a
key is answered within 200 ms at p95. With ``--allow-code``, each N is measured with and
without ``pgtui serve --allow-code`` (every session sandboxed), alternating, ``--rounds``
times each, and the sandbox's start-up cost is measured alone: a sandboxed trial start
(bubblewrap around ``python -c pass``) against the same start without it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from served import Served, Tab, session_processes

PRESET = "cartpole-reinforce-baseline"  # the playground's default: REINFORCE, 16 envs
GOAL_P95_S = 0.2
CLOCK_TICKS = 100  # /proc's utime and stime unit on Linux


def group_figures(groups: dict[int, list[int]]) -> tuple[float, float]:
    """(RSS in MiB, CPU seconds so far) summed over the processes of ``groups``."""
    rss_kib, ticks = 0, 0
    for pids in groups.values():
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            rss_kib += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
            ticks += int(stat[11]) + int(stat[12])
    return rss_kib / 1024, ticks / CLOCK_TICKS


async def key_latencies(tab: Tab, presses: int) -> list[float]:
    """The screen's own answer to a key: ``L`` until the lessons' list arrives (its
    title, in the bytes sent to the page), ``presses`` times; escape closes it."""
    out = []
    for _ in range(presses):
        tab.mark()
        await tab.press("L")
        out.append(await tab.wait_for_bytes(b"The lessons' exercises", timeout=30))
        await asyncio.sleep(0.3)
        await tab.press("\x1b")
        await asyncio.sleep(0.5)
    return out


async def measure(n: int, presses: int, allow_code: bool = False) -> dict:
    code = ["--allow-code"] if allow_code else []
    with Served("--preset", PRESET, "--max-sessions", str(n), *code) as served:
        tabs = [Tab(served.url, emulate=False) for _ in range(n)]
        for tab in tabs:
            await tab.__aenter__()
        try:
            drawn = await asyncio.gather(*(tab.wait_for_bytes(b"CartPole-v1", timeout=120) for tab in tabs))
            await asyncio.gather(*(tab.wait_for_bytes(b"running", timeout=120) for tab in tabs))
            first_bytes = [tab.first_byte - tab.opened for tab in tabs]
            await asyncio.sleep(3)  # every session training
            groups = session_processes(served.process.pid)
            _, cpu_before = group_figures(groups)
            start = time.monotonic()
            each = await asyncio.gather(*(key_latencies(t, presses) for t in tabs))
            latencies = [x for xs in each for x in xs]
            rss, cpu_after = group_figures(session_processes(served.process.pid))
            wall = time.monotonic() - start
        finally:
            for tab in tabs:
                await tab.__aexit__(None, None, None)
    latencies.sort()
    return {"sessions": n, "first_byte_s": statistics.median(first_bytes),
            "drawn_s": statistics.median(drawn), "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p95_ms": 1000 * latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
            "rss_mib_per_session": rss / n, "cpu_per_session": (cpu_after - cpu_before) / wall / n}


def sandbox_start(rounds: int = 20) -> tuple[float, float]:
    """Median seconds to start and end ``python -c pass``, without and with the sandbox a
    session gets (the same folders bound, the same limits)."""
    import subprocess
    import tempfile

    from pgtui.serving import sandbox

    folder = Path(tempfile.mkdtemp(prefix="pgtui-session-"))
    plain = [sys.executable, "-c", "pass"]
    boxed = sandbox.wrap(plain, folder, sandbox.Limits(), {"PATH": "/usr/bin:/bin"})
    times: dict[str, list[float]] = {"plain": [], "boxed": []}
    for _ in range(rounds):  # alternating: the machine's speed drifts
        for name, argv in (("plain", plain), ("boxed", boxed)):
            start = time.perf_counter()
            subprocess.run(argv, check=True, cwd=folder)
            times[name].append(time.perf_counter() - start)
    folder.rmdir()
    return statistics.median(times["plain"]), statistics.median(times["boxed"])


def compare_sandbox(sessions: list[int], presses: int, rounds: int) -> None:
    print("| sessions | sandbox | first byte (s) | drawn (s) | key p50 (ms) | key p95 (ms) "
          "| RSS / session (MiB) |")
    print("|---|---|---|---|---|---|---|")
    for n in sessions:
        for _ in range(rounds):
            for allow_code in (False, True):
                r = asyncio.run(measure(n, presses, allow_code))
                print(f"| {n} | {'yes' if allow_code else 'no'} | {r['first_byte_s']:.2f} "
                      f"| {r['drawn_s']:.2f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} "
                      f"| {r['rss_mib_per_session']:.0f} |", flush=True)
    plain, boxed = sandbox_start()
    print(f"\nstart-up: python -c pass {1000 * plain:.0f} ms, in the sandbox {1000 * boxed:.0f} ms "
          f"(+{1000 * (boxed - plain):.0f} ms a session)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 4, 6, 8, 10, 12])
    parser.add_argument("--presses", type=int, default=12)
    parser.add_argument("--allow-code", action="store_true",
                        help="each N with and without the sandbox, alternating")
    parser.add_argument("--rounds", type=int, default=3, help="with --allow-code: rounds of each")
    args = parser.parse_args()
    if args.allow_code:
        compare_sandbox(args.sessions, args.presses, args.rounds)
        return 0
    print("| sessions | first byte (s) | drawn (s) | key p50 (ms) | key p95 (ms) | RSS / session (MiB) "
          "| CPU / session (cores) |")
    print("|---|---|---|---|---|---|---|")
    held = 0
    for n in args.sessions:
        r = asyncio.run(measure(n, args.presses))
        print(f"| {n} | {r['first_byte_s']:.2f} | {r['drawn_s']:.2f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} "
              f"| {r['rss_mib_per_session']:.0f} | {r['cpu_per_session']:.2f} |", flush=True)
        if r["p95_ms"] <= GOAL_P95_S * 1000:
            held = n
    print(f"\nholds {held} sessions with p95 key latency <= {GOAL_P95_S * 1000:.0f} ms "
          "(every session training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
