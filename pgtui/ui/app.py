"""The playground: one run at a time, trained in a process of its own, drawn live.

Attributes down, messages up: a relay thread posts the run's ``TrainerEvents``;
the app folds them into ``RunState`` and assigns the panes' reactives. Training runs
in its own process (see ``rl/remote.py`` for the measurement that decided it); the
app only sends it commands.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
import time
from itertools import islice
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding

from ..config import Config, ConfigError, load_preset, preset_names
from ..rl import checkpoint, remote
from ..rl.checkpoint import CheckpointError
from ..rl.device import device_name
from ..rl.envs import EnvError, EnvInfo, env_info
from ..rl.events import (
    ChangeApplied,
    CheckpointSaved,
    Pause,
    Resume,
    RunError,
    SaveCheckpoint,
    SetParam,
    Solved,
    StepCompared,
    StepOnce,
)
from ..rl.race import variant_configs
from ..rl.remote import RemotePlayer, RemoteTrainer
from .forks import Fork, fork_choices
from .messages import TrainerEvents, WatchFrame
from .screens.choice import ChoicePicker
from .screens.compare import CompareScreen
from .screens.confirm import ConfirmRestart
from .screens.help import HelpScreen
from .screens.plot import PlotScreen
from .screens.presets import PresetPicker
from .screens.train import TrainScreen
from .state import RunState
from .widgets.params_pane import ParamsPane, show_field
from .widgets.returns_pane import SPARK_POINTS

SNAPSHOT_HZ = 20.0  # how often the trainer reports the drawn state
SCREEN_HZ = 15.0  # most event batches a second that reach the screen
PLOT_PERIOD = 1.0  # seconds between redraws of an open plot screen
SPARE_AFTER_S = 4.0  # a spare training process starts this long after a run, off its start-up


class PlaygroundApp(App[int]):
    """`pgtui`: train one policy and play with it while it learns."""

    CSS_PATH = "app.tcss"
    TITLE = "pgtui"
    BINDINGS = [
        Binding("space", "toggle_pause", "pause"),
        Binding("n", "step", "step"),
        Binding("r", "reset", "reset"),
        Binding("p", "presets", "presets"),
        Binding("g", "plot", "plot"),
        Binding("w", "watch", "watch"),
        Binding("c", "compare", "compare"),
        Binding("f", "fork", "fork"),
        Binding("ctrl+s", "save", "save"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit_app", "quit"),
    ]

    def __init__(self, config: Config, preset: str, *, out: Path | None = None,
                 autostart: bool = True) -> None:
        super().__init__()
        remote.prepare()
        self.config, self.preset, self.out = config, preset, out
        self.autostart = autostart
        self.state = RunState()
        self.run_id = 0
        self.remote: RemoteTrainer | None = None
        self._spare: RemoteTrainer | None = None  # started ahead: reset and presets begin at once
        self._watch_checkpoint: str | None = None
        self._fork: tuple[str, Fork] | None = None  # (checkpoint path, the chosen fork)
        self.watch_stop: threading.Event | None = None
        self.info: EnvInfo | None = None
        self._last_plot = 0.0
        self._resume_after_watch = False
        self._shown_stats: dict | None = None
        self._shown_episodes = 0

    SINGLE_RUN_ACTIONS = frozenset({"step", "reset", "presets", "plot", "watch", "save",
                                    "compare", "fork"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The single run's keys are off (and out of the footer) during a race."""
        return not (action in self.SINGLE_RUN_ACTIONS and isinstance(self.screen, CompareScreen))

    # -- runs ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.config.variants:  # a compare preset: the race is the session
            self.open_compare(self.config, self.preset, first=True)
        else:
            self.start_run(self.config, first=True)

    def open_compare(self, config: Config, title: str, *, resume: dict | None = None,
                     first: bool = False) -> None:
        try:
            info = env_info(config.env)
            device_name(config.device)
            variant_configs(config)  # every variant must be a valid config
        except (EnvError, ConfigError) as err:
            self.notify(str(err), title="cannot start", severity="error")
            if first:
                self.exit(return_code=2, message=str(err))
            return
        threshold = (config.solved_threshold if config.solved_threshold is not None
                     else info.reward_threshold)
        self.push_screen(CompareScreen(config, title, resume=resume, autostart=self.autostart,
                                       threshold=threshold))

    def start_run(self, config: Config, first: bool = False) -> None:
        """Stop the current run (at its next update boundary) and start ``config``."""
        try:
            info = env_info(config.env)
            device = device_name(config.device)
        except (EnvError, ConfigError) as err:
            self.notify(str(err), title="cannot start", severity="error")
            if first:
                self.exit(return_code=2, message=str(err))
            return
        self._stop_current()
        self.config, self.info = config, info
        self.run_id += 1
        self.state = RunState()
        threshold = (config.solved_threshold if config.solved_threshold is not None
                     else info.reward_threshold)
        screen = TrainScreen(config, self.preset, info.action_names, info.discrete, device,
                             threshold)
        if first:
            self.push_screen(screen)
        else:
            self.switch_screen(screen)
        if self.autostart:
            metrics = self.out / "metrics.jsonl" if self.out else None
            self.remote, self._spare = self._spare or self._spawn(), None
            self.remote.begin(config, snapshot_hz=SNAPSHOT_HZ, hz=SCREEN_HZ, metrics_path=metrics)
            self._relay(self.remote, self.run_id)
            self.set_timer(SPARE_AFTER_S, self._warm_spare)

    @staticmethod
    def _spawn() -> RemoteTrainer:
        remote = RemoteTrainer()
        remote.start()
        return remote

    def _warm_spare(self) -> None:
        """A training process that imports torch now, while the run trains: the next
        reset, preset or restart hands it its run and the first frame comes at once."""
        if self._spare is None and self.is_running:
            self._spare = self._spawn()

    def _stop_current(self) -> None:
        if self.watch_stop is not None:
            self.watch_stop.set()
        if self.remote is not None:
            self.remote.stop()
            self.remote = None

    @work(thread=True, group="trainer", exit_on_error=False)
    def _relay(self, remote: RemoteTrainer, run_id: int) -> None:
        """Forward the run's event batches to the app; ends when the run does."""
        for batch in remote.batches():
            self.post_message(TrainerEvents(run_id, batch))
        remote.join()

    def send(self, command: Any) -> None:
        if self.remote is not None:
            self.remote.submit(command)

    # -- events from the trainer --------------------------------------------------------

    def on_trainer_events(self, message: TrainerEvents) -> None:
        if message.run_id != self.run_id:
            return  # a stopped run's last words
        for event in message.events:
            self.state.apply(event)
            self._announce(event)
        self.refresh_panes()

    def _announce(self, event: Any) -> None:
        params = self._params()
        if isinstance(event, ChangeApplied):
            self.config = dataclasses.replace(self.config, **{event.key: event.new})
            if params is not None:
                params.show_config(self.config)
                params.feedback(f"applied {event.key}: {show_field(event.key, event.old)} → "
                                f"{show_field(event.key, event.new)} at update {event.update}")
        elif isinstance(event, RunError):
            if event.fatal:
                self.notify(event.message, title="run stopped", severity="error", timeout=8)
            elif event.diverged:
                self.notify(event.message, title="diverged", severity="warning", timeout=10)
            elif params is not None:
                params.feedback(event.message, error=True)
        elif isinstance(event, Solved):
            self.notify(f"solved at episode {event.episode:,} (step {event.global_step:,})",
                        title="solved")
        elif isinstance(event, CheckpointSaved):
            if event.path == self._watch_checkpoint:
                self._start_watch(event.path)
            elif self._fork is not None and event.path == self._fork[0]:
                self._start_fork(*self._fork)
            else:
                self.notify(f"checkpoint saved: {event.path}")

    def _train_screen(self) -> TrainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, TrainScreen):
                return screen
        return None

    def _params(self) -> ParamsPane | None:
        screen = self._train_screen()
        return screen.params if screen is not None and screen.params.is_mounted else None

    def refresh_panes(self) -> None:
        screen = self._train_screen()
        if screen is None or not screen.diagnostics.is_mounted:
            return  # not composed yet
        s = self.state
        status = screen.status_bar
        status.status = self._status_word()
        status.global_step, status.episodes, status.sps = s.global_step, s.episodes, s.sps
        returns = screen.returns
        returns.best = None if s.episodes == 0 else s.best
        returns.episodes = s.episodes
        returns.mean100 = s.mean100
        returns.solved_episode = s.solved.episode if s.solved else None
        if s.episodes != self._shown_episodes:  # episodes only grow: a cheap "is it new"
            self._shown_episodes = s.episodes
            returns.returns = tuple(islice(s.returns, max(len(s.returns) - SPARK_POINTS, 0), None))
        if s.stats is not self._shown_stats:
            self._shown_stats = s.stats
            screen.diagnostics.stats = s.stats
        policy = screen.policy
        if s.snapshot is not None and self.watch_stop is None:
            snap = s.snapshot
            policy.probs = snap.probs if snap.probs is not None else snap.mean + snap.std
            policy.value = snap.value
            screen.env_view.obs = snap.obs
        if s.step_compare is not None:
            policy.compare = self._compare_text(s.step_compare)
        if isinstance(self.screen, PlotScreen) and time.monotonic() - self._last_plot > PLOT_PERIOD:
            self._draw_plot(self.screen)

    def _status_word(self) -> str:
        if self.watch_stop is not None:
            return "watching"
        if self.state.status == "running" and self.state.solved is not None:
            return "solved"
        return self.state.status

    def _compare_text(self, c: StepCompared) -> str:
        names = self.info.action_names if self.info else ()
        if self.info is not None and self.info.discrete:
            parts = [f"{n} {b:.3f}→{a:.3f}" for n, b, a in zip(names, c.before, c.after)]
        else:
            parts = [f"{b:+.2f}→{a:+.2f}" for b, a in zip(c.before, c.after)]
        return f"after step {c.update}:\n" + "\n".join(parts)

    # -- what the user changes ----------------------------------------------------------

    def on_params_pane_changed(self, message: ParamsPane.Changed) -> None:
        if message.live:
            self.send(SetParam(message.key, message.value))
            when = "next update" if self.state.status != "paused" else "next update (paused)"
            message.pane.feedback(f"{message.key} → {show_field(message.key, message.value)}"
                                  f" at the {when}")
            return
        try:
            new_config = self.config.replace(**{message.key: message.value})
        except ConfigError as err:
            message.pane.feedback(str(err), error=True)
            message.pane.show_config(self.config)
            return

        def answered(restart: bool | None) -> None:
            if restart:
                self.start_run(new_config)
            else:
                message.pane.show_config(self.config)
                message.pane.feedback(f"kept {message.key} = "
                                      f"{show_field(message.key, getattr(self.config, message.key))}")

        self.push_screen(ConfirmRestart(f"Restart the run with {message.key} = "
                                        f"{show_field(message.key, message.value)}?"), answered)

    # -- keys ---------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        if self.watch_stop is not None:
            self.action_watch()
        elif self.state.status == "paused":
            self.send(Resume())
        else:
            self.send(Pause())

    def action_step(self) -> None:
        if self.watch_stop is None:
            self.send(StepOnce())

    def action_reset(self) -> None:
        self.start_run(self.config)

    def action_presets(self) -> None:
        def picked(name: str | None) -> None:
            if not name:
                return
            try:
                config = load_preset(name)
            except ConfigError as err:
                self.notify(str(err), title="preset not loaded", severity="error")
                return
            self.preset = name
            self.start_run(config)

        self.push_screen(PresetPicker(), picked)

    def action_plot(self) -> None:
        screen = PlotScreen(f"{self.preset} · {self.config.algo} · {self.config.env}")
        self.push_screen(screen)
        self.call_after_refresh(self._draw_plot, screen)

    def _draw_plot(self, screen: PlotScreen) -> None:
        self._last_plot = time.monotonic()
        train = self._train_screen()
        screen.show(list(self.state.returns), list(self.state.marks),
                    train.threshold if train else None)

    def action_compare(self) -> None:
        """Pick a compare preset and race its variants (the single run pauses)."""
        choices = []
        for name in preset_names():
            try:
                config = load_preset(name)
            except ConfigError:
                continue
            if config.variants:
                choices.append((name, f"{name}  [dim]{config.description}[/]"))

        def picked(name: str | None) -> None:
            if name:
                self.send(Pause())
                self.open_compare(load_preset(name), name)

        self.push_screen(ChoicePicker("Race a compare preset", choices), picked)

    def action_fork(self) -> None:
        """Clone the run's current state into two branches that differ in one setting."""
        if self.remote is None or self.state.status in ("starting", "error") or self._fork:
            self.notify("no running policy to fork")
            return
        forks = {f.id: f for f in fork_choices(self.config)}

        def picked(key: str | None) -> None:
            if not key:
                return
            self.send(Pause())
            handle, path = tempfile.mkstemp(prefix="pgtui-fork-", suffix=".pt")
            os.close(handle)
            self._fork = (path, forks[key])
            self.send(SaveCheckpoint(path))  # CheckpointSaved starts the race

        self.push_screen(ChoicePicker("Fork the run here: race two branches from the same "
                                      "weights", [(f.id, f.label) for f in forks.values()]),
                         picked)

    def _start_fork(self, path: str, fork: Fork) -> None:
        self._fork = None
        try:
            payload = checkpoint.load(path)
        except CheckpointError as err:
            self.notify(str(err), title="cannot fork", severity="error")
            return
        finally:
            Path(path).unlink(missing_ok=True)
        step = payload["meta"]["global_step"]
        self.open_compare(fork.compare_config(self.config), f"fork at step {step:,}",
                          resume=payload)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_save(self) -> None:
        folder = self.out or Path("checkpoints")
        name = Path(self.preset).stem
        self.send(SaveCheckpoint(str(folder / f"{name}-step{self.state.global_step}.pt")))

    def action_watch(self) -> None:
        """Pause training, save the policy, and play it in one env at real-time speed."""
        if self.watch_stop is not None or self._watch_checkpoint is not None:
            if self.watch_stop is not None:
                self.watch_stop.set()
            return
        if self.remote is None or self.state.status in ("starting", "error"):
            self.notify("no policy to watch yet")
            return
        self._resume_after_watch = self.state.status != "paused"
        self.send(Pause())
        handle, path = tempfile.mkstemp(prefix="pgtui-watch-", suffix=".pt")
        os.close(handle)
        self._watch_checkpoint = path
        self.send(SaveCheckpoint(path))  # the answer, CheckpointSaved, starts the player

    def _start_watch(self, path: str) -> None:
        self._watch_checkpoint = None
        self.watch_stop = threading.Event()
        self._watch(path, self.watch_stop, self.run_id)
        self.refresh_panes()

    @work(thread=True, group="watch", exit_on_error=False)
    def _watch(self, path: str, stop: threading.Event, run_id: int) -> None:
        """Play the saved policy in a process of its own (``RemotePlayer``: loading it
        needs torch, which the screen's process never imports); pass its frames on."""
        player = RemotePlayer(path)
        player.start()
        try:
            for frame in player.frames():
                if isinstance(frame, RunError):
                    self.call_from_thread(self.notify, frame.message, title="cannot watch",
                                          severity="error")
                    break
                if stop.is_set() or run_id != self.run_id:
                    break
                self.post_message(WatchFrame(*frame))
        finally:
            player.stop()
            player.join()
            self.call_from_thread(self._watch_ended, stop)

    def _watch_ended(self, stop: threading.Event) -> None:
        if self.watch_stop is stop:
            self.watch_stop = None
            if self._resume_after_watch:
                self.send(Resume())
            self.refresh_panes()

    def on_watch_frame(self, frame: WatchFrame) -> None:
        screen = self._train_screen()
        if screen is None or self.watch_stop is None:
            return
        screen.env_view.obs = frame.obs
        screen.policy.probs = frame.probs
        screen.status_bar.status = "watching"

    async def action_quit_app(self) -> None:
        """Stop the run at its next update boundary, let it flush, then exit 0."""
        self._stop_current()
        if self._spare is not None:
            self._spare.stop()
            self._spare = None
        for screen in self.screen_stack:
            if isinstance(screen, CompareScreen):
                screen.stop_all()
        await self.workers.wait_for_complete()
        self.exit(return_code=0)

    async def on_unmount(self) -> None:
        self._stop_current()  # however the app ends, the run's process ends too
        if self._spare is not None:
            self._spare.stop()
            self._spare = None
