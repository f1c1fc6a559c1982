"""The playground: one run at a time, each on a screen of its own, and races beside it.

The train screen owns its run (its training process, its events, its keys), as the
compare screen owns its race. The app picks what runs: it builds a new train screen
for every run (reset, a preset, a restart), opens races, and keeps one training process
warm so that a new run's first frame comes at once. Training runs in processes of their
own (see ``processes/__init__.py`` for the measurement that decided it); this process never
imports torch.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App
from textual.binding import Binding

from .. import lockdown, processes
from ..config import Config, ConfigError
from ..exercises import EXERCISES
from ..lessons import LESSONS
from ..preset_files import load_preset, preset_names
from ..processes import RemoteTrainer
from ..rl.device import device_name
from ..rl.envs.registry import EnvError, EnvInfo, env_info, solved_threshold
from ..rl.events import Pause
from ..rl.race.spec import variant_configs
from .screens.choice import ChoicePicker
from .screens.editor import EditorScreen
from .screens.help import HelpScreen
from .screens.presets import PresetPicker
from .screens.race import RaceScreen
from .screens.sweep import PointCurvesScreen, SweepScreen
from .screens.train import TrainScreen
from .state import RunState


def _env_info(env_id: str, kwargs: dict | None = None) -> EnvInfo:
    """An env's spaces and names (making the env to read them costs a reset its time)."""
    return _cached_env_info(env_id, json.dumps(kwargs or {}, sort_keys=True))


@functools.lru_cache(maxsize=16)
def _cached_env_info(env_id: str, kwargs: str) -> EnvInfo:
    return env_info(env_id, json.loads(kwargs))


class PlaygroundApp(App[int]):
    """`pgtui`: train one policy and play with it while it learns."""

    CSS_PATH = "app.tcss"
    TITLE = "pgtui"
    BINDINGS = [
        Binding("r", "reset", "reset"),
        Binding("p", "presets", "presets"),
        Binding("c", "race", "race"),
        Binding("L", "lessons", "lessons", show=False),  # in the help and README; the footer is full
        Binding("e", "edit", "edit code", show=False),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("S", "screenshot", "screenshot", show=False),  # an SVG of the screen, for a report
        Binding("q", "quit_app", "quit"),
    ]

    def __init__(self, config: Config, preset: str, *, out: Path | None = None,
                 autostart: bool = True) -> None:
        super().__init__()
        processes.prepare()
        self.initial, self.preset, self.out = config, preset, out
        self.autostart = autostart
        self.run_id = 0  # counts the runs started
        self._spare: RemoteTrainer | None = None  # started ahead: a new run begins at once

    SINGLE_RUN_ACTIONS = frozenset({"reset", "presets", "race", "lessons", "edit"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The single run's keys are off (and out of the footer) during a race; in the
        editor every letter is the file's, whatever has the focus."""
        if isinstance(self.screen, EditorScreen):
            return action not in self.SINGLE_RUN_ACTIONS | {"quit_app", "help", "screenshot"}
        return not (action in self.SINGLE_RUN_ACTIONS
                    and isinstance(self.screen, RaceScreen | SweepScreen | PointCurvesScreen))

    # -- the run on screen --------------------------------------------------------------

    @property
    def train_screen(self) -> TrainScreen | None:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, TrainScreen):
                return screen
        return None

    @property
    def state(self) -> RunState:
        screen = self.train_screen
        return screen.state if screen is not None else RunState()

    @property
    def config(self) -> Config:
        """The settings of the run on screen (live changes included)."""
        screen = self.train_screen
        return screen.config if screen is not None else self.initial

    @property
    def remote(self) -> RemoteTrainer | None:
        screen = self.train_screen
        return screen.remote if screen is not None else None

    # -- runs ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.initial.variants:  # a race preset: the race is the session
            self.open_race(self.initial, self.preset, first=True)
        elif self.initial.sweep:  # a sweep preset: so is the sweep
            self.open_sweep(self.initial, self.preset)
        else:
            self.start_run(self.initial, first=True)

    def open_race(self, config: Config, title: str, *, resume: dict | None = None,
                     first: bool = False) -> None:
        try:
            info = env_info(config.env, config.env_kwargs)
            device_name(config.device)
            processes.check_room(len(variant_configs(config)))  # every variant must be valid
        except (EnvError, ConfigError, processes.TooManyProcesses) as err:
            self._cannot_start(err, first)
            return
        threshold = solved_threshold(config, info)
        self.push_screen(RaceScreen(config, title, resume=resume, autostart=self.autostart,
                                       threshold=threshold))

    def open_sweep(self, config: Config, title: str, *, first: bool = True) -> None:
        try:
            info = env_info(config.env, config.env_kwargs)
            device_name(config.device)
            processes.check_room(1)
            screen = SweepScreen(config, title, out=self.out, autostart=self.autostart,
                                 threshold=solved_threshold(config, info))
        except (EnvError, ConfigError, processes.TooManyProcesses) as err:
            self._cannot_start(err, first)
            return
        self.push_screen(screen)

    def _cannot_start(self, err: Exception, first: bool) -> None:
        """A run, race or sweep that cannot start: a notice, or exit 2 if it was the first."""
        self.notify(str(err), title="cannot start", severity="error")
        if first:
            self.exit(return_code=2, message=Text(str(err)))

    def notify(self, message: str, *, markup: bool = False, **kwargs: Any) -> None:
        """A notice, always as plain text: notices carry text from outside (a typed preset
        name, an env's or a checkpoint's error), and markup in it could call any action
        (``[@click=...]``), which in a served session is a visitor's to call."""
        super().notify(message, markup=False, **kwargs)

    def start_run(self, config: Config, first: bool = False) -> None:
        """Run ``config``: in the train screen on show if its panes fit (a reset), else in
        a new one; the run it replaces stops."""
        try:
            info = _env_info(config.env, config.env_kwargs)
            device = device_name(config.device)
        except (EnvError, ConfigError) as err:
            self._cannot_start(err, first)
            return
        trainer = None
        if self.autostart:
            try:
                trainer, self._spare = self._spare or self._spawn(), None
            except processes.TooManyProcesses as err:
                self._cannot_start(err, first)
                return
        self.run_id += 1
        current = self.train_screen
        if current is not None and current.fits(config, info, device):
            current.take_run(config, self.preset, trainer)
            return
        screen = TrainScreen(config, self.preset, info, device, trainer, self.out)
        if first:
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    @staticmethod
    def _spawn() -> RemoteTrainer:
        trainer = RemoteTrainer()
        trainer.start()
        return trainer

    def on_train_screen_running(self, message: TrainScreen.Running) -> None:
        """Once a run is up (not before: two imports of torch would slow its start), a
        spare training process imports torch while the run trains: the next reset,
        preset or restart hands it its run and the first frame comes at once."""
        self._warm_spare()

    def hand_over(self, path: str) -> None:
        """A checkpoint the user saved: where it is, or in a served session (whose folder
        goes when it ends) a download to the browser."""
        if lockdown.served():
            self.deliver_binary(path)
            self.notify(f"checkpoint saved: your browser downloads {Path(path).name}")
        else:
            self.notify(f"checkpoint saved: {path}")

    def _warm_spare(self) -> None:
        # a served session keeps no spare: its memory (a torch process) is a class's
        if lockdown.served():
            return
        if self._spare is None and self.autostart and self.is_running:
            self._spare = self._spawn()

    def _stop_spare(self) -> None:
        if self._spare is not None:  # it holds no run: ended at once, even mid-import
            self._spare.kill()
            self._spare = None

    # -- keys ---------------------------------------------------------------------------

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
            if config.sweep:  # the run pauses under the sweep; escape comes back
                if self.train_screen is not None:
                    self.train_screen.send(Pause())
                self.open_sweep(config, name, first=False)
                return
            self.preset = name
            self.start_run(config)

        self.push_screen(PresetPicker(), picked)

    def action_race(self) -> None:
        """Pick a race preset and race its variants (the single run pauses)."""
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
                if self.train_screen is not None:
                    self.train_screen.send(Pause())
                self.open_race(load_preset(name), name)

        self.push_screen(ChoicePicker("Pick a race preset", choices), picked)

    def action_lessons(self) -> None:
        """Pick one of the lessons' exercises and open its preset."""
        choices = [(lesson.preset, f"{lesson.title}  [dim]{lesson.look_for}[/]") for lesson in LESSONS]

        def picked(name: str | None) -> None:
            if not name:
                return
            config = load_preset(name)
            if config.variants:
                if self.train_screen is not None:
                    self.train_screen.send(Pause())
                self.open_race(config, name)
            else:
                self.preset = name
                self.start_run(config)

        self.push_screen(ChoicePicker("The lessons' exercises", choices), picked)

    def action_edit(self) -> None:
        """Write an exercise's code (the `e` key): the run's answer file, or the scaffold
        written into the working folder (never over a file there), which then trains."""
        if not lockdown.code_allowed():
            self.notify("this served session runs no code of its visitors (the server's "
                        "--allow-code allows it, each session sandboxed)", severity="warning")
            return
        if isinstance(self.screen, EditorScreen):
            return
        algo = self.config.algo
        if algo.endswith(".py") and Path(algo).is_file():
            self.push_screen(EditorScreen(Path(algo)))
            return
        exercise = next(iter(EXERCISES.values()))
        target = (Path.cwd() / exercise.file).resolve()
        try:
            exercise.write_scaffold(Path.cwd())
            config = load_preset(f"exercise-{exercise.name}").replace(algo=str(target))
        except (OSError, ConfigError) as err:
            self.notify(f"cannot write {exercise.file}: {err}", severity="error")
            return
        self.preset = f"{exercise.file} (exercise)"
        self.start_run(config)
        self.notify(f"your {exercise.file} trains: each function it leaves unwritten is pgtui's")
        self.push_screen(EditorScreen(target))

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """An SVG of the screen (the `S` key, the command palette's Screenshot): into `--out`,
        else the working folder, and said where; a served session's goes to its browser."""
        if lockdown.served():
            return super().deliver_screenshot(filename, path, time_format)
        saved = self.save_screenshot(filename, path or str(self.out or Path.cwd()), time_format)
        self.notify(f"saved {saved}", title="screenshot")
        return saved

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit_app(self) -> None:
        """Stop the runs at their next update boundary, let them flush, then exit 0."""
        self._stop_spare()
        for screen in self.screen_stack:
            if isinstance(screen, TrainScreen):
                screen.stop_run()
            elif isinstance(screen, RaceScreen | SweepScreen):
                screen.stop_all()
        await self.workers.wait_for_complete()  # the screens' relays end with their runs
        self.exit(return_code=0)

    async def on_unmount(self) -> None:
        self._stop_spare()  # however the app ends, the processes end too
        for screen in self.screen_stack:
            if isinstance(screen, TrainScreen):
                screen.stop_run()
