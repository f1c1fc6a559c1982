"""A sweep preset in the playground: the grid fills in as trials finish, enter shows curves."""

import json

from textual.widgets import DataTable
from textual_plotext import PlotextPlot
from waiting import wait_for

from pgtui.preset_files import load_preset
from pgtui.ui.app import PlaygroundApp
from pgtui.ui.screens.sweep import PointCurvesScreen, SweepScreen


def tiny_sweep():
    return load_preset("sweep-lr").replace(seeds=2, total_steps=6000,
                                           sweep={"baseline": ["none", "value"], "lr": [1e-3, 1e-2]})


def cells(table: DataTable, column: str) -> list[str]:
    return [str(table.get_cell(row, column)) for row in table.rows]


async def test_a_sweep_preset_fills_its_table_and_plot_and_enter_opens_a_point_s_curves(tmp_path):
    app = PlaygroundApp(tiny_sweep(), "sweep-lr", out=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        table = screen.query_one(DataTable)
        assert cells(table, "baseline") == ["none", "none", "value", "value"]
        assert cells(table, "lr") == ["0.001", "0.01", "0.001", "0.01"]
        await wait_for(lambda: any(s.startswith("running") for s in cells(table, "status")))
        await wait_for(lambda: cells(table, "status") == ["done"] * 4, timeout=180)
        assert cells(table, "solved") == ["0/2"] * 4  # 6,000 steps cannot solve CartPole
        rows = screen.rows()
        for row, shown in zip(rows, cells(table, "final mean ± std"), strict=True):
            assert shown == f"{row['final_mean']:.1f} ± {row['final_std']:.1f}"
        plot = screen.query_one("#sweep-plot", PlotextPlot)
        assert "8/8 trials done" in str(screen.header.render())
        assert "baseline=value" in plot.plt.build() and "log scale" in plot.plt.build()
        # what the screen shows is what the trials wrote
        result = json.loads((tmp_path / "baseline-value-lr-0.01" / "seed-1" / "result.json").read_text())
        assert result["seed"] == 1 and result["global_step"] >= 6000

        await pilot.press("down", "enter")  # the second point: baseline none, lr 0.01
        assert isinstance(app.screen, PointCurvesScreen)
        state = app.screen.progress
        assert state.point.name == "baseline=none lr=0.01"
        assert sorted(state.curves) == [0, 1] and all(len(c) > 10 for c in state.curves.values())
        drawn = app.screen.query_one(PlotextPlot).plt.build()
        assert "seed 0" in drawn and "seed 1" in drawn
        await pilot.press("escape")
        assert isinstance(app.screen, SweepScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, SweepScreen), "the sweep is the whole session"
        await pilot.press("q")
    assert app.return_code == 0


async def test_quitting_mid_sweep_stops_its_processes_and_keeps_finished_trials(tmp_path):
    config = tiny_sweep().replace(total_steps=10**7)
    app = PlaygroundApp(config, "sweep-lr", out=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        table = screen.query_one(DataTable)
        await wait_for(lambda: any(s.startswith("running") for s in cells(table, "status")))
        await pilot.press("q")
    assert app.return_code == 0
    assert not list(tmp_path.glob("*/running.json"))
    assert not list(tmp_path.glob("*/seed-*/result.json"))  # none had finished
    # the folder is a sweep that `pgtui sweep --resume` can finish
    from pgtui.config import from_mapping, parse_toml

    saved = from_mapping(parse_toml((tmp_path / "config.toml").read_text(), "saved"), "saved")
    assert saved == config


async def test_a_sweep_preset_picked_with_p_opens_over_the_paused_run_and_escape_returns(tmp_path):
    from pgtui.ui.screens.train import TrainScreen

    preset = tmp_path / "tiny-sweep.toml"
    preset.write_text(tiny_sweep().replace(description="a tiny sweep").to_toml())
    app = PlaygroundApp(load_preset("cartpole-reinforce-baseline"), "cartpole-reinforce-baseline")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.state.status == "running")
        await pilot.press("p")
        path = app.screen.query_one("#preset-path")
        path.value = str(preset)
        path.focus()
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, SweepScreen))
        await wait_for(lambda: app.state.status == "paused")
        sweep = app.screen
        await pilot.press("escape")
        assert isinstance(app.screen, TrainScreen) and sweep.stop.is_set()
        await pilot.press("q")
    assert app.return_code == 0
