"""The race: one column per variant, every variant training live in its own process."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.scalar import Scalar
from textual.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from ...config import BASELINES, Config, used_by
from ...processes import RemoteVariant, TooManyProcesses, race_threads
from ...rl.events import Pause, Resume, RunError, SetParam
from ...rl.race.figures import band
from ...rl.race.intervals import Certainty, certainty
from ...rl.race.spec import VariantReport, reference_estimator, same_setting, variant_configs
from ..widgets.params_pane import show_field
from ..widgets.steady_footer import SteadyFooter
from ..widgets.variant_column import VariantColumn, VariantOnScreen

PLOT_PERIOD = 1.0  # seconds between redraws of the curves
ENT_STEPS = (0.0, 0.01, 0.1)


@dataclass
class VariantItem(Message):
    """A report (or an error) from one variant's process."""

    variant: str
    item: VariantReport | RunError


class RaceScreen(Screen):
    """Keys act on the selected column (left/right); ``a`` pauses or resumes them all."""

    BINDINGS = [
        Binding("left", "select(-1)", "◀", show=False),
        Binding("right", "select(1)", "▶", show=False),
        Binding("space", "toggle_pause", "pause"),
        Binding("a", "toggle_all", "all"),
        Binding("b", "baseline", "baseline"),
        Binding("t", "return_mode", "rtg/full"),
        Binding("e", "entropy", "entropy"),
        Binding("plus,equals_sign", "lr(2.0)", "lr×2", key_display="+"),
        Binding("minus", "lr(0.5)", "lr÷2", key_display="-"),
        Binding("escape", "back", "back"),
    ]
    AUTO_FOCUS = ""

    def __init__(self, config: Config, title: str, *, resume: dict | None = None,
                 autostart: bool = True, threshold: float | None = None) -> None:
        super().__init__()
        self.title_text, self.autostart, self.threshold = title, autostart, threshold
        self.configs = variant_configs(config)
        self.resume = resume  # a fork: every branch starts from this checkpoint
        self.variants = {name: VariantOnScreen(name, configs[0]) for name, configs in self.configs}
        self.remotes: dict[str, RemoteVariant] = {}
        self.selected = 0
        self._last_plot = 0.0

    def compose(self) -> ComposeResult:
        self.header = Static(id="race-header")
        yield self.header
        with Horizontal(id="columns"):
            for i, race in enumerate(self.variants.values()):
                yield VariantColumn(race, id=f"variant-{i}", classes="variant")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self._mark_selected()
        self.refresh_columns(plots=True)
        if not self.autostart:
            return
        reference = reference_estimator(self.configs)
        threads = race_threads(len(self.configs))
        for name, configs in self.configs:
            remote = RemoteVariant(name, configs, reference=reference, threads=threads,
                                 resume=[self.resume] * len(configs) if self.resume else None)
            try:
                remote.start()
            except TooManyProcesses as err:  # the app checked, but a run may have begun since
                self.variants[name].error = str(err)
                continue
            self.remotes[name] = remote
            self._relay(remote)

    def stop_all(self) -> None:
        """Each variant stops at its next update boundary; the relays then end."""
        for remote in self.remotes.values():
            remote.stop()

    def on_unmount(self) -> None:
        self.stop_all()

    @work(thread=True, group="race", exit_on_error=False)
    def _relay(self, remote: RemoteVariant) -> None:
        for item in remote.reports():
            self.post_message(VariantItem(remote.variant, item))
        remote.join()

    # -- reports ------------------------------------------------------------------------

    def on_variant_item(self, message: VariantItem) -> None:
        race = self.variants[message.variant]
        item = message.item
        if isinstance(item, RunError):
            race.error = item.message
        else:
            race.add(item.seeds)
            for key, value in item.changes:
                race.config = race.config.replace(**{key: value})
                race.feedback = f"applied {key} = {show_field(key, value)}"
            errors = [s.message for s in item.seeds if s.message]
            if errors:
                race.error = errors[-1]
        now = time.monotonic()
        # throttled, but a variant's last report is always drawn
        plots = now - self._last_plot > PLOT_PERIOD or getattr(item, "final", False)
        if plots:
            self._last_plot = now
        self.refresh_columns(plots)
        self._measure_when_stopped()

    def _measure_when_stopped(self) -> None:
        """Once no variant trains any more: their IQMs and intervals, off the event loop."""
        races = list(self.variants.values())
        stopped = races and all(r.seeds and r.status not in ("running", "paused") for r in races)
        if stopped and any(r.certain_of is not r.seeds for r in races):
            self._measure([(r.name, r.seeds, same_setting(races[0].config, r.config)) for r in races])

    @work(thread=True, group="certainty", exclusive=True, exit_on_error=False)
    def _measure(self, seeds: list[tuple[str, tuple, bool]]) -> None:
        first = seeds[0][1]
        found = [(name, own, certainty(own, first if i else None, same))
                 for i, (name, own, same) in enumerate(seeds)]
        self.app.call_from_thread(self._measured, found)

    def _measured(self, found: list[tuple[str, tuple, Certainty]]) -> None:
        for name, seeds, sure in found:
            race = self.variants.get(name)
            if race is not None and race.seeds is seeds:  # else it has trained on since
                race.certainty, race.certain_of = sure, seeds
        self.refresh_columns()

    def refresh_columns(self, plots: bool = False) -> None:
        summaries = [race.summary for race in self.variants.values()]
        measured = [s.grad_var for s in summaries if s.grad_var and math.isfinite(s.grad_var)]
        scale = (min(measured) / 3, max(measured)) if measured else (1.0, 10.0)
        columns = list(self.query(VariantColumn))
        for column in columns:
            column.show(summaries[0] if summaries else None, scale, self.threshold)
        # one height for every column's figures, so every plot gets the same height
        height = max((c.figures_height() for c in columns), default=0)
        if height:
            for column in columns:
                if column.figures.styles.height != Scalar.from_number(height):
                    column.figures.styles.height = height
        if plots:
            y_range = self.y_range()
            for column in columns:
                column.draw_plot(self.threshold, y_range)
        name = list(self.variants)[self.selected]
        self.header.update(f"[b]{escape(self.title_text)}[/b]  ·  keys act on [b]{name}[/b] "
                           "(←/→ to choose)  ·  a: pause/resume all")

    def y_range(self) -> tuple[float, float] | None:
        """The returns' range over every column's band (and the threshold), padded a
        little: one y range for the whole race."""
        values = [v for race in self.variants.values() for curve in band(race.curves)[1:]
                  for v in curve]
        if self.threshold is not None and values:
            values.append(self.threshold)
        if not values:
            return None
        low, high = min(values), max(values)
        pad = max((high - low) * 0.05, 1.0)
        return low - pad, high + pad

    # -- keys ---------------------------------------------------------------------------

    def _mark_selected(self) -> None:
        for i, column in enumerate(self.query(VariantColumn)):
            column.set_class(i == self.selected, "-selected")

    def _race(self) -> VariantOnScreen:
        return list(self.variants.values())[self.selected]

    def _send(self, race: VariantOnScreen, command) -> None:
        remote = self.remotes.get(race.name)
        if remote is not None:
            remote.submit(command)

    def action_select(self, step: int) -> None:
        self.selected = (self.selected + step) % len(self.variants)
        self._mark_selected()
        self.refresh_columns()

    def action_toggle_pause(self) -> None:
        race = self._race()
        self._send(race, Resume() if race.status == "paused" else Pause())

    def action_toggle_all(self) -> None:
        resume = all(r.status == "paused" for r in self.variants.values())
        for race in self.variants.values():
            self._send(race, Resume() if resume else Pause())

    def _set(self, key: str, value) -> None:
        """A live change of the selected variant, or why its algorithm has no such setting."""
        race = self._race()
        if used_by(key, race.config.algo, None):
            race.feedback = f"{key} → {show_field(key, value)} at the next update"
            self._send(race, SetParam(key, value))
        else:
            race.feedback = f"{race.config.algo} has no {key} setting"
        self.refresh_columns()

    def action_baseline(self) -> None:
        now = BASELINES.index(self._race().config.baseline)
        self._set("baseline", BASELINES[(now + 1) % len(BASELINES)])

    def action_return_mode(self) -> None:
        now = self._race().config.return_mode
        self._set("return_mode", "full" if now == "reward_to_go" else "reward_to_go")

    def action_entropy(self) -> None:
        later = [v for v in ENT_STEPS if v > self._race().config.ent_coef]
        self._set("ent_coef", later[0] if later else ENT_STEPS[0])

    def action_lr(self, factor: float) -> None:
        race = self._race()
        self._set("lr", min(race.config.lr * factor, 10.0))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:  # the single run's screen is underneath
            self.app.pop_screen()
        else:
            self.notify("this race is the whole session: q quits")
