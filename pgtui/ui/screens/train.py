"""The main screen: one run, its training process, and the panes that show it.

The screen owns its run as the race screen owns its race: it hands the run to a training
process, relays that process's event batches to itself, folds them into ``RunState`` and
assigns the panes' reactives (attributes down, messages up); its keys act on the run.
"""

from __future__ import annotations

import dataclasses
import time
from functools import partial
from pathlib import Path
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from ...config import Config, ConfigError
from ...processes import RemoteTrainer
from ...rl.algos import algo_spec
from ...rl.envs.registry import EnvInfo, solved_threshold
from ...rl.events import (
    ChangeApplied,
    CheckpointSaved,
    CodeReloaded,
    EpsilonGreedy,
    Pause,
    Resume,
    RunError,
    SaveCheckpoint,
    Scene,
    SetParam,
    Solved,
    StepOnce,
)
from ...rl.schema import stats_of
from ...tasks import task_of
from ..messages import TrainerEvents, WatchFrame
from ..state import RunState
from ..watching import Watching
from ..widgets.diagnostics_pane import DiagnosticsPane
from ..widgets.env_view import EnvView
from ..widgets.params_pane import ParamsPane, show_field
from ..widgets.policy_pane import PolicyPane
from ..widgets.returns_pane import ReturnsPane, SeriesPane
from ..widgets.status_bar import StatusBar
from ..widgets.steady_footer import SteadyFooter
from .confirm import ConfirmRestart
from .handoff import HandOff
from .plot import PlotScreen

MIN_SIZE = (60, 20)  # below this the panes cannot be drawn legibly
NARROW_WIDTH = 80  # below this the env drawing gives its room to the policy pane
SNAPSHOT_HZ = 20.0  # how often the trainer reports the drawn state
SCREEN_HZ = 15.0  # most event batches a second that reach the screen
PLOT_PERIOD = 1.0  # seconds between redraws of an open plot screen


class TrainScreen(Screen):
    """One run: rebuilt for every run, so the panes match its env and algorithm."""

    class Running(Message):
        """The run's first events arrived: its process has started up."""

    BINDINGS = [
        Binding("space", "toggle_pause", "pause"),
        Binding("n", "step", "step"),
        Binding("g", "plot", "plot"),
        Binding("w", "watch", "watch"),
        Binding("f", "fork", "fork"),
        Binding("ctrl+s", "save", "save"),
        Binding("escape", "leave_controls", "keys", show=False),
    ]
    AUTO_FOCUS = ""  # no auto focus: keys go to the bindings until the user tabs in
    # Screen repaints itself whole on every focus change; the focused and blurred
    # controls repaint themselves, and a full repaint cost ~30 ms of key latency.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(self, config: Config, preset: str, info: EnvInfo, device: str,
                 remote: RemoteTrainer | None, out: Path | None = None) -> None:
        super().__init__()
        self.config, self.preset, self.info, self.device = config, preset, info, device
        self.threshold = solved_threshold(config, info)
        self.remote, self.out = remote, out
        self.run = 0  # counts the runs this screen has shown: a stopped run's last words go
        # a task may show its own progress (the dialogue: proxy vs true reward per update)
        task = task_of(config.env)
        self.series = task.progress if task is not None else ()
        self.progress_title = task.progress_title if task is not None else "episode returns"
        self.state = self._new_state()
        self.watching = Watching(self, self._watch_ended)
        self.handoff = HandOff(self, self._start_watching)
        self._resume_after_watch = False
        self._shown_stats: dict | None = None
        self._last_plot = 0.0

    def compose(self) -> ComposeResult:
        # kept as attributes: many updates a second reach them, queries are slow
        self.status_bar = StatusBar(id="status")
        self.status_bar.preset, self.status_bar.device = self.preset, self.device
        self.params = ParamsPane(self.config, self.info.discrete, id="params-pane")
        self.policy = PolicyPane(self.info.action_names, self.info.discrete, id="policy-pane")
        self.env_view = EnvView(self.config.env, self.config.algo, id="env-pane")
        self.returns = (SeriesPane(self.series, id="returns-pane") if self.series
                        else ReturnsPane(id="returns-pane"))
        self.diagnostics = DiagnosticsPane(id="diagnostics-pane")
        self.diagnostics.placeholders = algo_spec(self.config.algo).placeholders
        self.diagnostics.schema = stats_of(self.config.algo, self.config.env)
        # Everything that changes many times a second sits in the right column: Textual
        # repaints the bounding box of what changed, so the controls stay out of it.
        with Vertical(id="left"):
            yield self.params
        with Vertical(id="right"):
            yield self.status_bar
            with Horizontal(id="stage"):
                yield self.env_view
                yield self.policy
            yield self.returns
            yield self.diagnostics
        yield Static(id="too-small")
        yield SteadyFooter()

    def on_mount(self) -> None:
        titles = {"params": "hyperparameters", "policy": self._policy_title(),
                  "env": self.config.env,
                  "returns": self.progress_title,
                  "diagnostics": "diagnostics"}
        for pane, title in titles.items():
            self.query_one(f"#{pane}-pane").border_title = title
        if not self.series:
            self.returns.threshold = self.threshold
        self._begin()

    def _begin(self) -> None:
        self.run += 1
        if self.remote is not None:
            metrics = self.out / "metrics.jsonl" if self.out else None
            self.remote.begin(self.config, snapshot_hz=SNAPSHOT_HZ, hz=SCREEN_HZ,
                              metrics_path=metrics)
            # a worker of the app's, not this screen's: a screen that goes waits for its
            # workers, and this one ends only once the run has flushed (seconds)
            self.app.run_worker(partial(self._relay, self.remote, self.run), thread=True,
                                group="trainer", exit_on_error=False)

    def fits(self, config: Config, info: EnvInfo, device: str) -> bool:
        """Whether a run of ``config`` can take this screen's panes (the same env drawn,
        the same actions, the same device): then a new run needs no new screen."""
        return (config.env == self.config.env and info.action_names == self.info.action_names
                and device == self.device)

    def _policy_title(self) -> str:
        return algo_spec(self.config.algo).policy_title

    def _new_state(self) -> RunState:
        return RunState.keeping([s.key for s in self.series])

    def take_run(self, config: Config, preset: str, remote: RemoteTrainer | None) -> None:
        """Stop this run and show a new one in the same panes: building a whole screen
        costs Textual about 2 s of layout on this machine, longer than the run's start."""
        self.stop_run()
        if config != self.config:  # a reset shows the same settings: no control to redraw
            self.params.show_config(config)
        self.config, self.preset, self.remote = config, preset, remote
        self.threshold = solved_threshold(config, self.info)
        self.state, self._shown_stats = self._new_state(), None
        self.handoff.pending = None
        self.status_bar.preset = preset
        if self.series:
            self.returns.clear()
        else:
            self.returns.threshold = self.threshold
            self.returns.returns, self.returns.shown_episodes = (), 0
        self.policy.compare, self.policy.value, self.policy.q_values = "", None, None
        self.query_one("#policy-pane").border_title = self._policy_title()
        self.diagnostics.stats, self.diagnostics.placeholders = {}, algo_spec(config.algo).placeholders
        self.diagnostics.schema = stats_of(config.algo, config.env)
        self._begin()
        self.refresh_panes()

    def on_unmount(self) -> None:
        self.stop_run()

    def stop_run(self) -> None:
        """The run stops at its next update boundary and flushes its files."""
        self.watching.stop()
        if self.remote is not None:
            self.remote.stop()
            self.remote = None

    def _relay(self, remote: RemoteTrainer, run: int) -> None:
        """Forward the run's event batches to this screen; ends when the run does."""
        for batch in remote.batches():
            self.post_message(TrainerEvents(run, batch))
        remote.join()

    def send(self, command: Any) -> None:
        if self.remote is not None:
            self.remote.submit(command)

    # -- events from the run ----------------------------------------------------------

    def on_trainer_events(self, message: TrainerEvents) -> None:
        if message.run != self.run:
            return  # a stopped run's last words
        if self.state.status == "starting":
            self.post_message(self.Running())
        for event in message.events:
            self.state.apply(event)
            self._announce(event)
        self.refresh_panes()

    def _announce(self, event: Any) -> None:
        if isinstance(event, ChangeApplied):
            self.config = dataclasses.replace(self.config, **{event.key: event.new})
            self.params.show_config(self.config)
            self.params.feedback(f"applied {event.key}: {show_field(event.key, event.old)} → "
                                 f"{show_field(event.key, event.new)} at update {event.update}")
        elif isinstance(event, CodeReloaded):
            self.params.feedback(f"{event.source}: version {event.version} trains from update {event.update}")
        elif isinstance(event, RunError):
            if event.fatal:
                self.notify(event.message, title="run stopped", severity="error", timeout=8)
            elif event.diverged:
                self.notify(event.message, title="diverged", severity="warning", timeout=10)
            else:
                self.params.feedback(event.message, error=True)
        elif isinstance(event, Solved):
            self.notify(f"solved at episode {event.episode:,} (step {event.global_step:,})",
                        title="solved")
        elif isinstance(event, CheckpointSaved) and not self.handoff.saved(event.path):
            self.app.hand_over(event.path)

    def refresh_panes(self) -> None:
        if not self.diagnostics.is_mounted:
            return  # not composed yet
        s = self.state
        self.status_bar.status = self._status_word()
        self.status_bar.global_step, self.status_bar.episodes = s.global_step, s.episodes
        self.status_bar.sps = s.sps
        new_update = s.stats is not self._shown_stats
        if new_update or not self.series:  # a task's series move only at updates
            self.returns.show(s)
        if new_update:
            self._shown_stats = s.stats
            self.diagnostics.stats = s.stats
        if s.snapshot is not None and not self.watching.active:
            self.policy.show(s.snapshot)
            self.env_view.show(s.snapshot)
        if s.step_compare is not None:  # DQN's are Q values (SAC's: its mean and spread)
            values = s.snapshot is not None and isinstance(s.snapshot.policy, EpsilonGreedy)
            self.policy.compare = self.policy.step_text(s.step_compare, values)
        plot = self.app.screen
        if isinstance(plot, PlotScreen) and time.monotonic() - self._last_plot > PLOT_PERIOD:
            self._draw_plot(plot)

    def _status_word(self) -> str:
        if self.watching.active:
            return "watching"
        if self.state.status == "running" and self.state.solved is not None:
            return "solved"
        return self.state.status

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
                self.app.start_run(new_config)
            else:
                message.pane.show_config(self.config)
                message.pane.feedback(f"kept {message.key} = "
                                      f"{show_field(message.key, getattr(self.config, message.key))}")

        self.app.push_screen(ConfirmRestart(f"Restart the run with {message.key} = "
                                            f"{show_field(message.key, message.value)}?"), answered)

    # -- keys -------------------------------------------------------------------------

    def action_leave_controls(self) -> None:
        """escape: out of the settings, so that space, q and the other keys work again."""
        self.set_focus(None)

    def action_toggle_pause(self) -> None:
        if self.watching.active:
            self.action_watch()
        elif self.state.status == "paused":
            self.send(Resume())
        else:
            self.send(Pause())

    def action_step(self) -> None:
        if not self.watching.active:
            self.send(StepOnce())

    def action_plot(self) -> None:
        screen = PlotScreen(f"{self.preset} · {self.config.algo} · {self.config.env}")
        self.app.push_screen(screen)
        self.call_after_refresh(self._draw_plot, screen)

    def _draw_plot(self, screen: PlotScreen) -> None:
        self._last_plot = time.monotonic()
        screen.show(list(self.state.returns), list(self.state.marks), self.threshold,
                    list(self.state.evaluations))

    def action_save(self) -> None:
        folder = self.out or Path("checkpoints")
        name = Path(self.preset).stem
        self.send(SaveCheckpoint(str(folder / f"{name}-step{self.state.global_step}.pt")))

    def _has_policy(self) -> bool:
        return self.remote is not None and self.state.status not in ("starting", "error")

    def action_fork(self) -> None:
        """Clone the run's current state into two branches that differ in one setting."""
        if not self._has_policy() or self.handoff.pending is not None:
            self.notify("no running policy to fork")
            return
        self.handoff.fork()

    def action_watch(self) -> None:
        """Pause training, save the policy, and play it in one env at real-time speed (again:
        stop playing)."""
        if self.watching.active:
            self.watching.stop()
            return
        if self.handoff.pending is not None:
            return
        if not self._has_policy():
            self.notify("no policy to watch yet")
            return
        self._resume_after_watch = self.state.status != "paused"
        self.handoff.save_for("watch")

    def _start_watching(self, path: str) -> None:
        self.watching.start(path)
        self.refresh_panes()

    def _watch_ended(self) -> None:
        if self._resume_after_watch:
            self.send(Resume())
        self.refresh_panes()

    def on_watch_frame(self, frame: WatchFrame) -> None:
        if not self.watching.active:
            return
        self.env_view.scene, self.env_view.policy = Scene(frame.obs), None
        self.policy.probs = frame.probs
        self.status_bar.status = "watching"

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        too_small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(too_small, "-too-small")
        self.set_class(width < NARROW_WIDTH, "-narrow")
        if too_small:
            self.query_one("#too-small", Static).update(
                f"The terminal is {width}x{height}; pgtui needs at least "
                f"{MIN_SIZE[0]}x{MIN_SIZE[1]}.\nEnlarge it to see the run (it keeps training). "
                "q quits.")
