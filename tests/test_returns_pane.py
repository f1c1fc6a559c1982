"""The returns sparkline's axis: anchored at zero and the goal, so a plateau reads as one."""

import pytest
from textual.app import App

from pgtui.ui.widgets.returns_pane import ReturnsPane, ReturnsSparkline, bar_rows, scale


def test_the_axis_runs_from_zero_to_the_goal_or_the_best_return():
    assert scale([12.0, 80.0], goal=475.0) == (0.0, 475.0)
    assert scale([500.0, 500.0], goal=475.0) == (0.0, 500.0)
    assert scale([-500.0, -120.0], goal=-100.0) == (-500.0, 0.0)  # Acrobot rises to zero
    assert scale([-1400.0, -300.0], goal=None) == (-1400.0, 0.0)


def test_bars_fill_in_eighths_from_the_bottom_row():
    # height 2: 16 eighths; the lowest value keeps one eighth so that the floor shows
    rows, fractions = bar_rows([0.0, 50.0, 100.0], width=3, height=2, low=0.0, high=100.0)
    assert rows == ["  █", "▁██"]
    assert fractions == [0.0, 0.5, 1.0]
    assert bar_rows([0.0, 0.25], width=2, height=1, low=0.0, high=1.0)[0] == ["▁▂"]


@pytest.mark.parametrize("values, width, expected", [
    ([1.0, 8.0, 3.0, 4.0], 2, "█▄"),  # two values a column: each shows its bin's best
    ([0.0, 8.0], 4, "▁▁██"),  # fewer values than columns: each spans several
])
def test_values_are_binned_to_the_width(values, width, expected):
    assert bar_rows(values, width=width, height=1, low=0.0, high=8.0)[0] == [expected]


class OnePane(App):
    def compose(self):
        pane = ReturnsPane()
        pane.threshold = 475.0
        yield pane


@pytest.mark.parametrize("returns, top_row", [
    ((500.0,) * 60, "█"),  # a solved run holding 500: full bars, not an empty floor
    ((20.0, 30.0) * 30, " "),  # a young run: low bars on the goal's axis
])
async def test_the_pane_draws_returns_against_the_goal(returns, top_row):
    app = OnePane()
    async with app.run_test(size=(60, 8)) as pilot:
        pane = app.query_one(ReturnsPane)
        pane.returns = returns
        await pilot.pause()
        spark = pane.query_one(ReturnsSparkline)
        assert spark.goal == 475.0
        lines = spark.render().plain.split("\n")
        assert len(lines) == 2 and len(lines[0]) == spark.size.width > 20
        assert set(lines[0]) == {top_row}
