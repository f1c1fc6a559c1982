"""pgtui from Python: the API gives the CLI's records, raises its errors, draws real
figures, and stays light to import."""

import os
import signal
import subprocess
import sys
import time

import pytest
from cli_helpers import run_pgtui

import pgtui
from pgtui import figures
from pgtui.metrics import read_metrics

WALL = ("wall_s", "sps", "update_s", "collect_s")  # wall-clock figures differ run to run


def _steady(records: list[dict]) -> list[dict]:
    kept = [r for r in records if r["type"] in ("episode", "update")]
    return [{k: v for k, v in r.items() if k not in WALL} for r in kept]


def test_the_api_and_the_cli_give_the_same_records(tmp_path):
    run = pgtui.train("cartpole-reinforce-baseline", seed=2, max_steps=4000, baseline="none")
    done = run_pgtui("train", "--preset", "cartpole-reinforce-baseline", "--seed", "2", "--max-steps", "4000",
                     "--set", "baseline=none", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert _steady(run.records) == _steady(read_metrics(tmp_path / "metrics.jsonl"))
    assert len(run.returns()) == len(run.episodes) > 10 and run.summary["global_step"] >= 4000
    assert run.config.baseline == "none" and run.config.seed == 2 and not run.solved


def test_a_bad_setting_raises_the_command_lines_message():
    with pytest.raises(pgtui.ConfigError, match=r"lr: expected a value > 0.0, got -1.0"):
        pgtui.train("cartpole-ppo", lr=-1)
    with pytest.raises(pgtui.ConfigError, match="unknown key 'lrr'"):
        pgtui.train("cartpole-ppo", lrr=1e-3)
    cli = run_pgtui("train", "--preset", "cartpole-ppo", "--set", "lr=-1")
    assert cli.returncode == 2 and "lr: expected a value > 0.0, got -1.0" in cli.stderr


def test_a_missing_extra_is_named(monkeypatch):
    monkeypatch.setattr(figures, "available", lambda: False)
    with pytest.raises(figures.FigureError, match=r"pip install 'pgtui\[plot\]'"):
        figures.pyplot()


def _drawn(path) -> tuple[tuple[int, ...], float]:
    """An image's shape and the share of its pixels that are not white."""
    import matplotlib.image

    pixels = matplotlib.image.imread(str(path))[..., :3]
    return pixels.shape, float((pixels.min(-1) < 0.95).mean())


def test_a_run_and_a_race_draw_real_figures(tmp_path):
    run = pgtui.train("cartpole-reinforce-baseline", max_steps=3000)
    figure = run.plot()
    figures.save_figure(figure, tmp_path / "run.png")
    shape, ink = _drawn(tmp_path / "run.png")
    assert shape == (540, 960, 3) and ink > 0.03
    race = pgtui.compare("variance-baseline", seeds=2, max_steps=3000)
    assert [row["name"] for row in race.table()] == ["no baseline", "value baseline"]
    assert race.frame().shape[0] == 2 and len(race.variance_ratios()) == 1
    frame = race.frame()  # an interval's fields are columns of their own
    assert (frame["final_iqm_low"] <= frame["final_iqm_value"]).all()
    assert (frame["final_iqm_value"] <= frame["final_iqm_high"]).all()
    figure = race.plot()
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == [
        "no baseline (2 seeds)", "value baseline (2 seeds)"]
    figures.save_figure(figure, tmp_path / "race.png")
    assert _drawn(tmp_path / "race.png")[1] > 0.03


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_compare_plot_writes_the_format_its_suffix_names(tmp_path, suffix):
    path = tmp_path / f"curves{suffix}"
    done = run_pgtui("compare", "--preset", "variance-baseline", "--seeds", "1", "--max-steps", "2000",
                     "--plot", str(path))
    assert done.returncode == 0, done.stderr
    head = path.read_bytes()[:8]
    assert {".png": head.startswith(b"\x89PNG"), ".svg": b"<?xml" in head,
            ".pdf": head.startswith(b"%PDF")}[suffix]


def test_compare_plot_refuses_an_unknown_format_before_racing(tmp_path):
    done = run_pgtui("compare", "--preset", "variance-baseline", "--plot", str(tmp_path / "curves.gif"))
    assert done.returncode == 2 and "a figure is saved as .png, .svg, .pdf" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_import_pgtui_loads_neither_torch_nor_textual_and_training_no_textual():
    code = ("import sys, pgtui\nprint('torch' in sys.modules, 'textual' in sys.modules)\n"
            "pgtui.train('cartpole-reinforce-baseline', max_steps=600)\n"
            "print('textual' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "False"]


def test_ctrl_c_ends_a_run_cleanly_and_returns_what_was_trained(tmp_path):
    code = (f"import pgtui\nrun = pgtui.train('cartpole-reinforce-baseline', max_steps=10_000_000, "
            f"out={str(tmp_path)!r})\n"
            "print(run.summary['reason'], run.summary['updates'] > 0, len(run.returns()) > 0)")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    metrics = tmp_path / "metrics.jsonl"
    for _ in range(1200):  # until it has trained an update (or ended)
        if process.poll() is not None or (metrics.exists() and '"type": "update"' in metrics.read_text()):
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.split() == ["stopped", "True", "True"]
    assert (tmp_path / "checkpoint.pt").is_file()  # what was trained is kept


async def test_the_playground_saves_an_svg_of_its_screen_where_it_says(tmp_path):
    from pgtui.preset_files import load_preset
    from pgtui.ui.app import PlaygroundApp

    app = PlaygroundApp(load_preset("cartpole-reinforce-baseline"), "cartpole-reinforce-baseline",
                        out=tmp_path, autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("S")
        await pilot.pause(0.3)
        saved = list(tmp_path.glob("*.svg"))
        assert len(saved) == 1 and saved[0].read_text().startswith("<svg")
        assert any(str(saved[0]) in n.message for n in app._notifications)
        assert "policy" in saved[0].read_text()  # the panes are in it
        await pilot.press("q")


def test_a_sweep_from_python_and_its_figure_from_the_command_line(tmp_path):
    sweep = pgtui.sweep("sweep-lr", grid={"lr": [1e-3, 1e-2]}, seeds=1, max_steps=2000)
    assert [row["lr"] for row in sweep.table()] == [1e-3, 1e-2]
    assert all(row["seeds"] == 1 and row["final_mean"] > 0 for row in sweep.table())
    figures.save_figure(sweep.plot(), tmp_path / "sweep.png")
    assert _drawn(tmp_path / "sweep.png")[1] > 0.03
    done = run_pgtui("sweep", "--preset", "sweep-lr", "--grid", "lr=0.001,0.01", "--seeds", "1",
                     "--max-steps", "2000", "--plot", str(tmp_path / "sweep.svg"))
    assert done.returncode == 0, done.stderr
    assert b"<svg" in (tmp_path / "sweep.svg").read_bytes()[:400]


def test_no_module_hides_an_api_function():
    import pgtui.preset_files
    import pgtui.sweeps.run

    names = ("train", "compare", "sweep", "load", "presets", "keys")
    assert all(callable(getattr(pgtui, name)) for name in names)
