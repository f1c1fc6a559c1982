"""Races in the playground: a race preset, key c, per-variant keys, and fork."""

import re

from waiting import wait_for

from pgtui.preset_files import load_preset
from pgtui.rl.race.spec import SeedProgress, VariantReport
from pgtui.ui.app import PlaygroundApp
from pgtui.ui.screens.race import RaceScreen, VariantItem
from pgtui.ui.widgets.variant_column import VariantColumn


def text_of(screen: RaceScreen) -> list[str]:
    return [str(column.figures.render()) for column in screen.query(VariantColumn)]


async def test_a_compare_preset_races_live_and_each_column_obeys_its_keys():
    config = load_preset("variance-baseline").replace(seeds=2, total_steps=10**8)
    app = PlaygroundApp(config, "variance-baseline")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, RaceScreen)
        races = list(screen.variants.values())
        assert [r.name for r in races] == ["no baseline", "value baseline"]
        await wait_for(lambda: all(r.seeds and min(s.episodes for s in r.seeds) > 20
                                   and r.summary.grad_var for r in races))
        none_text, value_text = text_of(screen)
        assert "last-100" in none_text and "solved 0/2" in none_text and "grad var" in none_text
        # early on the two may read "about the same"; either way a paired, like-for-like ratio
        assert "no baseline (same batches, same expected gradient)" in value_text
        assert all(len(curve) > 0 for r in races for curve in r.curves)

        await pilot.press("space")  # pauses the selected column only
        await wait_for(lambda: races[0].status == "paused")
        steps = sum(s.global_step for s in races[0].seeds)
        await wait_for(lambda: sum(s.global_step for s in races[1].seeds) > steps + 5000)
        assert sum(s.global_step for s in races[0].seeds) == steps
        assert races[1].status == "running"

        await pilot.press("right", "b")  # value -> optimal on the second column
        await wait_for(lambda: races[1].config.baseline == "optimal")
        assert "applied baseline = optimal" in text_of(screen)[1]
        assert races[0].config.baseline == "none"  # the first column was never touched

        await pilot.press("left", "space")
        await wait_for(lambda: races[0].status == "running")
        await pilot.press("escape")
        assert isinstance(app.screen, RaceScreen), "the race is the whole session"
        await pilot.press("q")
    assert app.return_code == 0


async def test_key_c_opens_a_race_and_escape_returns_to_the_paused_run():
    app = PlaygroundApp(load_preset("cartpole-reinforce-baseline"), "cartpole-reinforce-baseline")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(lambda: app.state.status == "running")
        await pilot.press("c")
        picker = app.screen
        names = [picker.query_one("#choice-list").get_option_at_index(i).id
                 for i in range(picker.query_one("#choice-list").option_count)]
        assert {"variance-baseline", "variance-techniques", "entropy-exploration",
                "reinforce-a2c-ppo"} <= set(names)
        picker.query_one("#choice-list").highlighted = names.index("variance-baseline")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, RaceScreen))
        await wait_for(lambda: app.state.status == "paused")  # the single run waits
        enabled = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert "toggle_all" in enabled and "reset" not in enabled, "single-run keys are off"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "TrainScreen"
        await pilot.press("q")
    assert app.return_code == 0


async def test_fork_races_two_branches_from_the_same_weights():
    config = load_preset("cartpole-reinforce-baseline").replace(num_envs=8, episodes_per_update=8)
    app = PlaygroundApp(config, "cartpole-reinforce-baseline")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(lambda: app.state.global_step > 20_000)
        await pilot.press("f")
        options = app.screen.query_one("#choice-list")
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert labels[0] == "baseline: value (as now) vs none"
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, RaceScreen))
        screen = app.screen
        races = list(screen.variants.values())
        assert [r.name for r in races] == ["A: baseline value", "B: baseline none"]
        assert [r.config.baseline for r in races] == ["value", "none"]
        await wait_for(lambda: all(r.seeds for r in races))
        first = [r.seeds[0].global_step for r in races]
        forked_at = app.state.global_step
        # both branches start from the run's step, not from zero
        assert all(step >= forked_at for step in first)
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_stopped_race_shows_each_variants_iqm_interval_and_its_chance_over_the_first():
    config = load_preset("variance-baseline").replace(seeds=4)
    app = PlaygroundApp(config, "variance-baseline", autostart=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen

        def seed(n, final, step, status):
            return SeedProgress(seed=n, global_step=50_000, episodes=400, new_returns=(final,),
                                last100_mean=final, solved_episode=None if step is None else 300,
                                solved_step=step, solved_wall_s=None if step is None else step / 10_000,
                                grad_var_sum=1.0, grad_snr_sum=1.0, diag_updates=1, status=status)

        def report(name, finals, steps, status):
            seeds = tuple(seed(n, f, s, status) for n, (f, s) in enumerate(zip(finals, steps)))
            screen.post_message(VariantItem(name, VariantReport(name, seeds)))

        report("no baseline", (100.0, 120.0, 140.0, 160.0), (None,) * 4, "running")
        report("value baseline", (480.0, 490.0, 500.0, 500.0), (40_000, 30_000, 50_000, None), "finished")
        await pilot.pause(0.5)
        assert not any("IQM" in text for text in text_of(screen))  # one variant still trains
        report("no baseline", (100.0, 120.0, 140.0, 160.0), (None,) * 4, "finished")
        await wait_for(lambda: all("final IQM" in text for text in text_of(screen)))
        none_text, value_text = text_of(screen)
        assert "final IQM 130.0 [" in none_text and "P(>" not in none_text
        # 4 seeds, one cut from each end of 30k, 40k, 50k and never: (40k + 50k) / 2
        assert "IQM 45.0k [" in value_text and "∞] steps" in value_text
        assert "IQM 4.5 [" in value_text and "final IQM 495.0 [" in value_text
        assert "P(> no baseline) 1.00" in value_text  # each of its seeds ends above each of the other's
        assert "median" not in value_text


async def test_one_setting_raced_against_itself_says_how_often_few_seeds_call_a_winner():
    app = PlaygroundApp(load_preset("how-many-seeds"), "how-many-seeds", autostart=False)
    async with app.run_test(size=(120, 40)):
        screen = app.screen
        for name, steps in (("seeds 0-9", range(100_000, 200_000, 10_000)),
                            ("seeds 10-19", range(105_000, 205_000, 10_000))):
            seeds = tuple(SeedProgress(seed=n, global_step=400_000, episodes=900, new_returns=(500.0,),
                                       last100_mean=500.0, solved_episode=500, solved_step=step,
                                       grad_var_sum=1.0, grad_snr_sum=1.0, diag_updates=1, status="finished")
                          for n, step in enumerate(steps))
            screen.post_message(VariantItem(name, VariantReport(name, seeds)))
        await wait_for(lambda: "setting on other seeds" in text_of(screen)[1])
        said = " ".join(text_of(screen)[1].split())
        assert "seeds 10-19 is seeds 0-9's setting on other seeds, yet 3 seeds a side called one" in said
        assert "P(> seeds 0-9) 0.50" in said  # every final return ties: a coin toss, surely
        assert "setting on other seeds" not in text_of(screen)[0]


async def test_columns_show_the_reports_they_are_given():
    config = load_preset("variance-baseline").replace(seeds=2)
    app = PlaygroundApp(config, "variance-baseline", autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen

        def seed(n, returns, solved, var, paired, ref):
            return SeedProgress(seed=n, global_step=5000, episodes=len(returns), new_returns=returns,
                                last100_mean=sum(returns) / len(returns), solved_episode=solved,
                                solved_step=None if solved is None else 6100 * solved,
                                grad_var_sum=var, grad_snr_sum=2.0, diag_updates=1,
                                status="running", paired_var_sum=paired, reference_var_sum=ref)

        screen.post_message(VariantItem("no baseline", VariantReport("no baseline", (
            seed(0, (10.0, 30.0), None, 800.0, 800.0, 800.0),
            seed(1, (20.0, 40.0), None, 800.0, 800.0, 800.0)))))
        screen.post_message(VariantItem("value baseline", VariantReport("value baseline", (
            seed(0, (100.0, 300.0), 2, 200.0, 200.0, 840.0),
            seed(1, (500.0, 500.0), None, 200.0, 200.0, 840.0)))))
        await pilot.pause(0.3)
        none_text, value_text = text_of(screen)
        assert "last-100 25.0 ± 7.1" in none_text and "grad var" in none_text
        assert "solved 1/2, median 12.2k steps" in value_text
        assert "value baseline: 4.2x lower gradient variance than no baseline" in value_text
        assert screen.variants["value baseline"].curves == [[100.0, 300.0], [500.0, 500.0]]
        # one y range and one plot height for the race: the eye compares like with like
        screen.refresh_columns(plots=True)
        await pilot.pause(0.2)
        columns = list(screen.query(VariantColumn))
        assert len({c.plot.size.height for c in columns}) == 1
        ticks = [[line.split("┤")[0].strip() for line in
                  re.sub(r"\x1b\[[0-9;]*m", "", c.plot.plt.build()).splitlines() if "┤" in line]
                 for c in columns]
        assert ticks[0] == ticks[1] and len(ticks[0]) > 2


def test_a_fork_differs_only_in_a_setting_the_algorithm_reads():
    from pgtui.ui.forks import fork_choices

    keys = lambda preset: {f.key for f in fork_choices(load_preset(preset))}  # noqa: E731
    assert keys("cartpole-reinforce") == {"baseline", "return_mode", "ent_coef",
                                          "normalize_advantage", "lr"}
    assert keys("cartpole-ppo") == {"ent_coef", "normalize_advantage", "lr"}
    assert keys("cartpole-dqn") == {"lr"}  # it explores by epsilon: no entropy bonus to fork


async def test_a_column_refuses_a_setting_its_algorithm_does_not_read():
    app = PlaygroundApp(load_preset("pg-vs-dqn"), "pg-vs-dqn", autostart=False)
    async with app.run_test(size=(150, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, RaceScreen))
        variants = list(app.screen.variants.values())
        await pilot.press("right", "b")  # ppo: no baseline setting
        assert variants[1].feedback == "ppo has no baseline setting"
        await pilot.press("right", "e")  # dqn: no entropy bonus
        assert variants[2].feedback == "dqn has no ent_coef setting"
        await pilot.press("right", "b")  # back on REINFORCE: value -> optimal, sent
        assert variants[0].feedback == "baseline → optimal at the next update"
        await pilot.press("q")


async def test_the_stochastic_optimum_race_shows_each_policys_p_and_exact_j_beside_the_best():
    config = load_preset("stochastic-optimum").replace(seeds=1, total_steps=10**8, eval_every=0)
    app = PlaygroundApp(config, "stochastic-optimum")
    async with app.run_test(size=(150, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RaceScreen)
        races = list(screen.variants.values())
        await wait_for(lambda: all(r.summary.exact.get("objective") is not None
                                   and "policy_kl" in r.summary.averages for r in races))
        await pilot.pause(0.3)
        reinforce, _, dqn = text_of(screen)
        assert re.search(r"p\(right\) 0\.\d{3} · J -\d+\.\d\d", reinforce), reinforce
        assert "best: p(right) 0.586 · J -11.66" in reinforce and "policy KL" in reinforce
        assert re.search(r"J ε-greedy -\d+\.\d\d", dqn) and "J greedy" in dqn, dqn
        assert "greedy flips" in dqn
        await pilot.press("q")


async def test_an_rlhf_methods_race_plots_each_methods_true_reward_against_pi_stars():
    config = load_preset("rlhf-methods").replace(seeds=1, total_steps=3_072)
    app = PlaygroundApp(config, "rlhf-methods")
    async with app.run_test(size=(160, 45)) as pilot:
        screen = app.screen
        races = list(screen.variants.values())
        assert [r.name for r in races] == ["RLOO", "PPO", "GRPO", "Dr. GRPO", "DPO"]
        # 27 s on an idle machine; CI's other worker can slow it past 120 s: this bounds a hang
        await wait_for(lambda: all(r.status == "finished" for r in races), timeout=300)
        await pilot.pause(0.5)
        texts = text_of(screen)
        assert "DPO · lr 0.001 · 64 pairs a step" in texts[4]
        assert "GRPO · lr 0.001 · scale_by_std True" in texts[2] and "scale_by_std False" in texts[3]
        for race, column in zip(races, screen.query(VariantColumn), strict=True):
            assert race.traces[0], race.name  # DPO too: it plays no episode
            plot = str(column.plot.render())
            assert "k steps · true reward" in plot, race.name
            assert "├──" in plot, race.name  # pi*'s true reward, a line across
        await pilot.press("q")
    assert app.return_code == 0
