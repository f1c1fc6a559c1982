"""A sweep in the playground: the grid's points in a table, the sensitivity plot filling
in as they finish, and each point's learning curves on ``enter``.

The local engine runs in a worker thread of this screen; the training itself runs in its
processes, so the screen's event loop only draws.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from ... import processes
from ...config import Config
from ...rl.race.figures import moving_average
from ...rl.race.spec import SeedProgress
from ...sweeps import report
from ...sweeps.events import PointFinished, PointProgress, PointRetried, PointStarted, SweepEvent
from ...sweeps.run import finished_trials, prepare_out
from ...sweeps.spec import Point, Sweep, build_sweep, show
from ...sweeps.trials import TrialStore
from ..widgets.steady_footer import SteadyFooter

CURVE_WINDOW = 20


@dataclass
class SweepItem(Message):
    event: SweepEvent


class PointState:
    """What the screen knows of one grid point."""

    def __init__(self, point: Point, seeds: list[int]) -> None:
        self.point = point
        self.status = "waiting"
        self.curves: dict[int, list[float]] = {s: [] for s in seeds}  # episode returns per seed
        self.latest: tuple[SeedProgress, ...] = ()
        self.finished: dict[int, SeedProgress] = {}
        self.note = ""


class SweepScreen(Screen):
    """``enter`` opens the selected point's curves; ``escape`` stops the sweep and goes
    back to the run it was opened over (opened first, the sweep is the session: ``q``
    quits, stopping the running points)."""

    BINDINGS = [Binding("enter", "curves", "curves"), Binding("escape", "back", "back")]

    def __init__(self, config: Config, title: str, *, out: Path | None = None,
                 autostart: bool = True, threshold: float | None = None) -> None:
        super().__init__()
        self.sweep: Sweep = build_sweep(config)
        self.title_text, self.autostart, self.threshold = title, autostart, threshold
        prepare_out(out, config)  # `pgtui sweep --resume OUT` can finish it headless
        self.store = TrialStore(out)
        self.points = {p: PointState(p, self.sweep.seeds) for p in self.sweep.points}
        for point, done in finished_trials(self.sweep, self.store).items():  # resumed
            self.points[point].finished = dict(done)
            if len(done) == len(self.sweep.seeds):
                self.points[point].status = "done"
        self.stop = threading.Event()

    def compose(self) -> ComposeResult:
        self.header = Static(id="sweep-header")
        yield self.header
        with Vertical(id="sweep-body"):
            yield DataTable(id="sweep-table", cursor_type="row", zebra_stripes=True)
            yield PlotextPlot(id="sweep-plot")
        yield SteadyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key in self.sweep.keys:
            table.add_column(key, key=key)
        for column in ("status", "solved", "final mean ± std", "grad var"):
            table.add_column(column, key=column)
        for point in self.sweep.points:
            table.add_row(*[show(v) for _, v in point.values], "waiting", "", "", "",
                          key=point.folder)
            self.refresh_point(self.points[point])
        self.refresh_all()
        table.focus()
        if self.autostart:
            self._run()

    @work(thread=True, group="sweep", exit_on_error=False)
    def _run(self) -> None:
        from ...sweeps.local import run_local

        workers, left = processes.available_cores(), processes.room()
        if left is not None:  # a process a core, within a served session's cap
            workers = max(1, min(workers, left))
        run_local(self.sweep, self.store, lambda e: self.post_message(SweepItem(e)), self.stop,
                  workers=workers)

    def stop_all(self) -> None:
        self.stop.set()

    def on_unmount(self) -> None:
        self.stop_all()

    # -- events -------------------------------------------------------------------------

    def on_sweep_item(self, message: SweepItem) -> None:
        event = message.event
        state = self.points[event.point]
        if isinstance(event, PointStarted):
            state.status = "running"
        elif isinstance(event, PointProgress):
            for seed in event.report.seeds:
                state.curves.setdefault(seed.seed, []).extend(seed.new_returns)
            state.latest = event.report.seeds
        elif isinstance(event, PointRetried):
            state.note = f"attempt {event.attempt} failed; again"
            for curve in state.curves.values():
                curve.clear()
        elif isinstance(event, PointFinished):
            state.finished.update({s.seed: s for s in event.seeds})
            state.status = "failed" if event.error else "done"
            state.note = event.error or ""
        self.refresh_point(state)
        if isinstance(event, PointFinished):
            self.refresh_all()

    def rows(self) -> list[dict]:
        return report.rows(self.sweep, {p: s.finished for p, s in self.points.items()})

    def refresh_point(self, state: PointState) -> None:
        table = self.query_one(DataTable)
        seeds = list(state.finished.values()) or list(state.latest)
        row = report.point_row(state.point, seeds) if seeds else None
        progress = state.status
        if state.status == "running" and state.latest:
            done = sum(s.global_step for s in state.latest)
            progress = f"running {min(done / (len(state.latest) * self.sweep.config.total_steps), 1):.0%}"
        if state.note:
            progress += f" ({state.note})"
        spec = report.return_format([row]) if row is not None else ".1f"
        final = "" if row is None or row["final_mean"] is None else \
            f"{row['final_mean']:{spec}} ± {row['final_std']:{spec}}"
        cells = {"status": progress, "solved": "" if row is None else f"{row['solved']}/{len(seeds)}",
                 "final mean ± std": final,
                 "grad var": "" if row is None or row["grad_var"] is None else f"{row['grad_var']:.3g}"}
        for column, text in cells.items():  # a column widens to its longest text
            table.update_cell(state.point.folder, column, text, update_width=True)

    def refresh_all(self) -> None:
        done = sum(len(s.finished) for s in self.points.values())
        self.header.update(f"[b]{escape(self.title_text)}[/b]  ·  {len(self.sweep.points)} points x "
                           f"{self.sweep.config.seeds} seeds  ·  {done}/{self.sweep.trials} trials "
                           "done  ·  enter: curves")
        self.draw_plot()

    def draw_plot(self) -> None:
        plot = self.query_one("#sweep-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        rows = self.rows()
        key, position, log = report.axis(self.sweep)
        values = self.sweep.config.sweep[key]
        for label, line in report.series(self.sweep, rows):
            drawn = [(position(x), row["final_mean"]) for x, row in line if row["final_mean"] is not None]
            if drawn:
                plt.plot([x for x, _ in drawn], [y for _, y in drawn], label=label, marker="braille")
        plt.xticks([position(v) for v in values], [show(v) for v in values])
        plt.xlim(min(position(v) for v in values) - 0.1, max(position(v) for v in values) + 0.1)
        if self.threshold is not None:
            plt.hline(self.threshold, color="green")
        plt.title("final return (last-100 mean), mean over seeds, against " + key
                  + (" (log scale)" if log else ""))
        plot.refresh()

    # -- keys ---------------------------------------------------------------------------

    def selected_point(self) -> Point:
        table = self.query_one(DataTable)
        return self.sweep.points[table.cursor_row]

    def action_curves(self) -> None:
        state = self.points[self.selected_point()]
        self.app.push_screen(PointCurvesScreen(state, self.threshold))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_curves()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:  # the single run's screen is underneath
            self.stop_all()
            self.app.pop_screen()
        else:
            self.notify("this sweep is the whole session: q quits")


class PointCurvesScreen(Screen):
    """One grid point's learning curves: each seed's 20-episode mean return."""

    BINDINGS = [Binding("escape", "app.pop_screen", "back"), Binding("enter", "app.pop_screen", "back")]

    def __init__(self, progress: PointState, threshold: float | None) -> None:
        super().__init__()
        self.progress, self.threshold = progress, threshold

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="point-curves")
        yield SteadyFooter()

    def on_mount(self) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.title(f"{self.progress.point.name}: return, {CURVE_WINDOW}-episode mean, per seed")
        plt.xlabel("episode")
        for seed, returns in sorted(self.progress.curves.items()):
            if returns:
                plt.plot(list(range(1, len(returns) + 1)), moving_average(returns, CURVE_WINDOW),
                         label=f"seed {seed}", marker="braille")
        if self.threshold is not None:
            plt.hline(self.threshold, color="green")
        plot.refresh()
