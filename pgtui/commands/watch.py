"""`pgtui watch CHECKPOINT`: play a saved policy; draw it on a terminal, print returns always."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from ..rl.events import Scene
from ..rl.player import Player
from ..ui.render import render

FRAME_SIZE = (48, 9)  # columns x rows of the drawing on a terminal


def run_watch(path: Path, episodes: int, draw: bool, realtime: bool, as_json: bool) -> int:
    """Play ``episodes`` episodes, actions sampled from the checkpoint's policy."""
    player = Player.from_file(path)
    env = player.make_env()
    period = 1.0 / env.metadata.get("render_fps", 30) if realtime else 0.0
    live = _live() if draw else None
    returns: list[float] = []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=player.streams.watch_env(episode))
            total, done = 0.0, False
            while not done:
                started = time.monotonic()
                obs, reward, terminated, truncated, _ = env.step(player.act(obs))
                total += float(reward)
                done = terminated or truncated
                if live is not None:
                    live.update(_frame(player, obs, episode, total), refresh=True)
                    time.sleep(max(period - (time.monotonic() - started), 0.0))
            returns.append(total)
            print(f"episode {episode + 1}: return {total:g}", flush=True)
    finally:
        if live is not None:
            live.stop()
        env.close()
    mean = statistics.fmean(returns)
    print(f"{player.config.env}: {len(returns)} episodes, mean return {mean:.1f}, "
          f"min {min(returns):g}, max {max(returns):g}")
    if as_json:
        print(json.dumps({"checkpoint": str(path), "env": player.config.env,
                          "returns": returns, "mean": mean}))
    return 0


def _live():
    from rich.live import Live

    live = Live(auto_refresh=False, transient=True, redirect_stdout=True)
    live.start()
    return live


def _frame(player: Player, obs, episode: int, total: float):
    from rich.text import Text

    text = Text(render(player.config.env, Scene(tuple(map(float, obs))), *FRAME_SIZE))
    text.append(f"\nepisode {episode + 1} · return {total:g}", "bold")
    return text


def should_draw(no_render: bool) -> bool:
    return not no_render and sys.stdout.isatty()
