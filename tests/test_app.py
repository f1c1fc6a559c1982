"""The playground as a person meets it: keys through Textual's Pilot, a real run behind it."""

import asyncio
import io
import re

import numpy as np
import pytest
from rich.console import Console
from textual.widgets import Input, OptionList, Select
from waiting import wait_for

from pgtui.preset_files import load_preset
from pgtui.rl.events import (
    ChangeApplied,
    DiscretePolicy,
    EpisodesFinished,
    EpsilonGreedy,
    HiddenState,
    LastEpisode,
    Scene,
    Snapshot,
    TwinCritics,
    UpdateFinished,
)
from pgtui.tasks.rlhf.dialogue import END, GREAT, NO, YES, Prompt, encode, prompt_index
from pgtui.ui.app import PlaygroundApp
from pgtui.ui.forks import FORK_TITLE
from pgtui.ui.messages import TrainerEvents, WatchFrame
from pgtui.ui.screens.choice import ChoicePicker

PRESET = "cartpole-reinforce-baseline"


async def test_keys_do_what_they_say():
    app = PlaygroundApp(load_preset(PRESET), PRESET)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: app.state.status == "running" and app.state.episodes > 0)
        assert app.state.snapshot is not None, "the drawn state and pi(a|s) arrive"

        # space pauses: the step counter stops
        await pilot.press("space")
        await wait_for(lambda: app.state.status == "paused")
        await pilot.pause()
        step = app.state.global_step
        await asyncio.sleep(1.0)
        await pilot.pause()
        assert app.state.global_step == step
        assert "paused" in app.screen.status_bar.render().plain

        # a baseline change reaches the trainer and comes back recorded
        app.screen.params.query_one("#baseline", Select).value = "none"
        await pilot.pause()
        await pilot.press("n")  # one update applies it
        await wait_for(lambda: app.config.baseline == "none")
        assert any("baseline: value -> none" in text for _, text in app.state.marks)
        await wait_for(lambda: app.state.step_compare is not None)

        # an invalid lr is refused with its reason; the run keeps the old one
        field = app.screen.params.query_one("#lr", Input)
        field.focus()
        field.value = "-3"
        await pilot.press("enter")
        await pilot.pause()
        feedback = app.screen.params.query_one("#param-feedback").render()
        assert "lr" in str(feedback) and "> 0.0" in str(feedback)
        assert app.config.lr == 1e-3
        await pilot.press("escape")  # out of the field: the keys work again
        assert app.focused is None

        await pilot.press("space")
        await wait_for(lambda: app.state.status == "running")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_an_env_that_raises_is_reported_and_the_app_stays_alive():
    config = load_preset(PRESET).replace(env="raising_env:pgtui-test/Raising-v0", num_envs=2)
    app = PlaygroundApp(config, PRESET)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: app.state.status == "error")
        assert "the simulator lost its state" in app.state.error
        assert "error" in app.screen.status_bar.render().plain
        await pilot.press("question_mark")  # still answering keys
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_help_and_plot_screens_open_and_close():
    app = PlaygroundApp(load_preset(PRESET), PRESET, autostart=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.press("g")
        await pilot.pause()
        assert type(app.screen).__name__ == "PlotScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "TrainScreen"


async def test_plot_screen_draws_the_curve_and_labels_every_change():
    app = PlaygroundApp(load_preset(PRESET), PRESET, autostart=False)
    async with app.run_test(size=(100, 30)) as pilot:
        feed(app)
        app.screen.post_message(TrainerEvents(app.screen.run, (
            ChangeApplied(5000, 13, "baseline", "value", "none"),
            EpisodesFinished(6000, (300.0,) * 20, (300,) * 20),
        )))
        await pilot.pause()
        await pilot.press("g")
        await wait_for(lambda: type(app.screen).__name__ == "PlotScreen")
        await pilot.pause()
        drawn = app.screen.query_one("#curve").render().plain
        assert "baseline: value -> none" in drawn, "the change is labelled where it happened"
        assert "cartpole-reinforce-baseline" in drawn and "episode" in drawn
        ticks = [float(m) for m in re.findall(r"^ *(-?[\d.]+)┤", drawn, re.MULTILINE)]
        assert max(ticks) >= 475 and min(ticks) <= 15, "the y axis spans the returns and the goal"
        assert "mean of 100" in drawn, "the moving average has its legend"
        await pilot.press("g")
        assert type(app.screen).__name__ == "TrainScreen"


async def test_resizing_to_60x20_and_too_small_and_back():
    app = PlaygroundApp(load_preset(PRESET), PRESET, autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        feed(app)
        await pilot.pause()
        screen = app.screen
        too_small = screen.query_one("#too-small")

        await pilot.resize_terminal(60, 20)
        assert not too_small.display and screen.params.display
        assert screen.policy.region.width >= 24, "the policy bars take the env drawing's room"
        diagnostics = drawn_text(screen.diagnostics)
        assert "g var 2100" in diagnostics and "snr" in diagnostics, "every figure still shows"

        await pilot.resize_terminal(50, 15)
        assert too_small.display
        assert "50x15" in str(too_small.render()) and "60x20" in str(too_small.render())

        await pilot.resize_terminal(80, 24)
        assert not too_small.display and screen.env_view.display
        assert screen.env_view.region.width > 10
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen", "keys still work after resizing"


def drawn_text(widget) -> str:
    """What a widget's render() shows at its current content width, as plain text."""
    console = Console(width=widget.content_size.width, file=io.StringIO(), color_system=None)
    console.print(widget.render())
    return console.file.getvalue()


def feed(app):
    """Deterministic events, as a run would send them to its screen."""
    returns = tuple(float(10 + (i * 7) % 40 + i) for i in range(60))
    app.screen.post_message(TrainerEvents(app.screen.run, (
        EpisodesFinished(4096, returns, tuple(int(r) for r in returns)),
        UpdateFinished(12, 4096, {"policy_loss": -0.0123, "value_loss": 61.3, "entropy": 0.58,
                                  "explained_variance": 0.41, "grad_norm": 14.2,
                                  "critic_grad_norm": 96.0,
                                  "grad_var": 2100.0, "grad_snr": 6.4, "sps": 23400.0}),
        Snapshot(4096, Scene((0.4, 0.0, 0.08, 0.0)), DiscretePolicy((0.62, 0.38), 87.1)),
    )))


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_snapshot_of_the_panes(snap_compare, size):
    app = PlaygroundApp(load_preset(PRESET), PRESET, autostart=False)

    async def before(pilot):
        feed(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=before)


async def test_watch_plays_in_a_process_of_its_own_and_reset_takes_the_warm_spare():
    frames = []
    app = PlaygroundApp(load_preset(PRESET), PRESET)

    def hook(message):
        if isinstance(message, WatchFrame):
            frames.append(message)

    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        await wait_for(lambda: app.state.status == "running" and app.state.episodes > 0)
        await pilot.press("w")  # the run pauses, its policy plays one env
        await wait_for(lambda: len(frames) >= 5, timeout=60)
        await pilot.pause()
        assert "watching" in app.screen.status_bar.render().plain
        assert len(frames[-1].probs) == 2 and abs(sum(frames[-1].probs) - 1) < 1e-5
        assert app.screen.env_view.scene.obs in {f.obs for f in frames}
        await pilot.press("w")  # again: back to training
        await wait_for(lambda: not app.screen.watching.active and app.state.status == "running")

        await wait_for(lambda: app._spare is not None)
        spare, old_run = app._spare, app.run_id
        await pilot.press("r")  # a fresh run, in the process that was already warm
        assert app.remote is spare and app.run_id == old_run + 1
        await wait_for(lambda: app.state.snapshot is not None and app.state.status == "running")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


DQN_ONLY = {"exploration_final_eps", "target_update_interval", "double_q"}
OFF_POLICY = {"tau", "gradient_steps"}  # DQN's and SAC's
SAC_ONLY = {"alpha"}
DIALOGUE_ONLY = {"kl_coef", "labeler_bias"}
GRPO_ONLY = {"scale_by_std"}
POLICY_GRADIENT = {"normalize_advantage", "entropy", "ent_coef", "vf_coef"}


@pytest.mark.parametrize(("preset", "hidden", "shown"), [
    ("cartpole-ppo", {"baseline", "return_mode", *DQN_ONLY, *OFF_POLICY, *SAC_ONLY, *GRPO_ONLY},
     {"clip_coef", "gae_lambda", "normalize_advantage"}),
    ("cartpole-a2c", {"baseline", "return_mode", "clip_coef", *DQN_ONLY, *OFF_POLICY, *SAC_ONLY,
                      *GRPO_ONLY},
     {"gae_lambda", "vf_coef"}),
    ("cartpole-reinforce", {"gae_lambda", "clip_coef", *DQN_ONLY, *OFF_POLICY, *SAC_ONLY, *GRPO_ONLY},
     {"baseline", "return_mode", "entropy"}),
    ("cartpole-dqn", {"baseline", "return_mode", "gae_lambda", "clip_coef", *POLICY_GRADIENT, *SAC_ONLY,
                     *GRPO_ONLY}, {"lr", "gamma", *DQN_ONLY, *OFF_POLICY}),
    ("pendulum-sac", {"baseline", "return_mode", "gae_lambda", "clip_coef", "max_grad_norm",
                      *POLICY_GRADIENT, *DQN_ONLY, *GRPO_ONLY}, {"lr", "gamma", *OFF_POLICY, *SAC_ONLY}),
    # the dialogue's methods: GRPO clips its ratio and scales by its groups' std; DPO
    # reads pairs with beta = kl_coef and has no entropy bonus
    ("rlhf-dialogue grpo", {"baseline", "return_mode", "gae_lambda", "normalize_advantage",
                            "vf_coef", *DQN_ONLY, *OFF_POLICY, *SAC_ONLY},
     {"clip_coef", "entropy", *GRPO_ONLY, *DIALOGUE_ONLY}),
    ("rlhf-dialogue dpo", {"baseline", "return_mode", "gae_lambda", "normalize_advantage",
                           "vf_coef", "clip_coef", "entropy", "ent_coef", *DQN_ONLY, *OFF_POLICY,
                           *SAC_ONLY, *GRPO_ONLY},
     {"lr", "max_grad_norm", *DIALOGUE_ONLY}),
])
async def test_the_settings_pane_shows_what_the_algorithm_uses(preset, hidden, shown):
    """A PPO run listed REINFORCE's baseline and returns, where they do nothing."""
    preset, _, algo = preset.partition(" ")
    config = load_preset(preset).replace(**({"algo": algo, "kl_coef": 0.5} if algo else {}))
    app = PlaygroundApp(config, preset, autostart=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        rows = {row.id.removeprefix("row-"): row for row in app.screen.params.query(".param-row")}
        assert hidden | shown <= rows.keys()
        hidden_here = hidden if algo else hidden | DIALOGUE_ONLY
        assert {key for key, row in rows.items() if not row.display} == hidden_here
        assert all(rows[key].region.height == 1 for key in shown)


async def test_the_fork_dialogs_title_fits_80_columns():
    app = PlaygroundApp(load_preset(PRESET), PRESET, autostart=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(ChoicePicker(FORK_TITLE, [("a", "baseline: value (as now) vs none")]))
        await pilot.pause()
        title = app.screen.query_one("#picker-title")
        lines = title.render_lines(title.region.reset_offset)
        shown = " ".join("".join(s.text for s in line).strip() for line in lines)
        assert " ".join(shown.split()) == FORK_TITLE


@pytest.mark.parametrize("preset, placeholders", [("cartpole-ppo", True), ("cartpole-dqn", False),
                                                  ("pendulum-sac", False)])
async def test_before_the_first_update_the_diagnostics_hold_places_its_algorithm_fills(preset, placeholders):
    """A policy gradient's loss and gradient noise show with a dash until its first
    update; DQN and SAC report neither (their spec says so, no key is guessed)."""
    app = PlaygroundApp(load_preset(preset), preset, autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        shown = drawn_text(app.screen.diagnostics)
        assert ("policy loss" in shown and "grad var" in shown and "—" in shown) == placeholders, shown


async def test_a_dqn_run_shows_q_values_epsilon_and_its_own_settings():
    app = PlaygroundApp(load_preset("cartpole-dqn"), "cartpole-dqn", autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        app.screen.post_message(TrainerEvents(app.screen.run, (
            UpdateFinished(40, 10240, {"td_loss": 0.21, "q_mean": 35.2, "grad_norm": 3.1,
                                       "epsilon": 0.37, "buffer_fill": 0.1024,
                                       "target_updates": 1024.0, "sps": 1500.0}),
            Snapshot(10240, Scene((0.1, 0.0, -0.05, 0.2)), EpsilonGreedy((40.7, 41.3), (0.185, 0.815))),
        )))
        await pilot.pause(0.2)
        policy = drawn_text(app.screen.policy.query_one("#policy-extra"))
        assert "▸Q right 41.30" in policy and " Q left 40.70" in policy
        assert "ε-greedy" in policy and "V(s)" not in policy
        diagnostics = drawn_text(app.screen.diagnostics)
        assert "epsilon" in diagnostics and "0.37" in diagnostics and "10%" in diagnostics
        assert "TD loss" in diagnostics and "policy loss" not in diagnostics
        rows = {row.id.removeprefix("row-"): row.display
                for row in app.screen.params.query(".param-row")}
        assert rows["exploration_final_eps"] and rows["target_update_interval"] and rows["double_q"]
        assert not rows["baseline"] and not rows["entropy"] and not rows["clip_coef"]


async def test_a_sac_run_shows_its_mean_action_twin_critics_temperature_and_settings():
    """A real pendulum-sac run behind the screen: once it learns, the policy pane shows the
    mean torque and its spread with Q1, Q2 at the mean action, and the diagnostics the
    critics' loss, the actor's and alpha."""
    app = PlaygroundApp(load_preset("pendulum-sac"), "pendulum-sac")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(lambda: "q_loss" in app.state.stats and app.state.snapshot is not None
                       and isinstance(app.state.snapshot.policy, TwinCritics), timeout=60)
        await pilot.pause(0.3)
        policy = drawn_text(app.screen.policy.query_one("#policy-extra"))
        assert re.search(r"a0 μ [+-]\d\.\d\d σ \d\.\d\d\n", policy), policy
        assert re.search(r"Q1 -?\d+\.\d\d +Q2 -?\d+\.\d\d", policy) and "mean action" in policy
        assert "ε-greedy" not in policy
        diagnostics = drawn_text(app.screen.diagnostics)
        for label in ("Q loss", "actor loss", "alpha", "entropy", "mean Q", "buffer", "policy KL"):
            assert label in diagnostics, (label, diagnostics)
        assert "policy loss" not in diagnostics and "grad var" not in diagnostics
        rows = {row.id.removeprefix("row-"): row.display
                for row in app.screen.params.query(".param-row")}
        assert rows["alpha"] and rows["tau"] and rows["gradient_steps"]
        assert not rows["entropy"] and not rows["double_q"] and not rows["clip_coef"]
        # alpha takes auto or a number, live
        field = app.screen.params.query_one("#alpha", Input)
        field.focus()
        field.value = "0.1"
        await pilot.press("enter")
        await wait_for(lambda: app.config.alpha == 0.1)
        await wait_for(lambda: app.state.stats.get("alpha") == pytest.approx(0.1))
        field.value = "hot"
        await pilot.press("enter")
        await pilot.pause()
        assert "auto or a number" in str(app.screen.params.query_one("#param-feedback").render())
        await pilot.press("escape", "q")


async def test_the_dialogue_shows_the_conversation_proxy_vs_true_reward_and_its_settings():
    app = PlaygroundApp(load_preset("rlhf-dialogue"), "rlhf-dialogue", autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        obs = tuple(float(x) for x in encode(np.array([prompt_index(Prompt(1, 1, 3))]),
                                             np.array([[NO, 2, -1]]), np.array([2]))[0])
        last = tuple(float(x) for x in encode(np.array([prompt_index(Prompt(2, 0, 4))]),
                                              np.array([[YES, GREAT, END]]), np.array([3]))[0])
        stats = [{"proxy_reward_exact": 0.4 * u, "true_reward_exact": 0.62 - 0.03 * u,
                  "kl_exact": 0.5 * u, "agreement_when_wrong_exact": 0.33 + 0.1 * u,
                  "rm_accuracy": 0.61, "policy_loss": -0.1, "sps": 8000.0} for u in range(4)]
        app.screen.post_message(TrainerEvents(app.screen.run, (
            *[UpdateFinished(u + 1, 256 * (u + 1), s) for u, s in enumerate(stats)],
            Snapshot(1024, Scene(obs, LastEpisode(last)), DiscretePolicy((0.05,) * 8 + (0.6,), 0.2)),
        )))
        await pilot.pause(0.2)
        env = drawn_text(app.screen.env_view)
        assert "1 + 1 = ?  I think it's 3." in env and "the user is wrong" in env
        assert "actually, 2▌" in env and "✓ right · disagrees" in env
        assert "last finished:" in env and "2 + 0 = ?  I think it's 4." in env
        assert "you're right, great question! ." in env and "✗ wrong · agrees with the user" in env
        rewards = drawn_text(app.screen.returns.query_one("#series-figures"))
        assert "proxy +1.20 (from +0.00)" in rewards and "true 0.530 (from 0.620)" in rewards
        diagnostics = drawn_text(app.screen.diagnostics)
        assert "KL to ref" in diagnostics and "1.5" in diagnostics and "0.63" in diagnostics
        assert "RM accuracy" in diagnostics
        names = [str(label.render()) for label in app.screen.policy.query(".policy--name")]
        assert names == ["0", "1", "2", "3", "4", "yes", "no", "great", "."]
        assert "0.60" in drawn_text(app.screen.policy.query_one("#prob-label-8"))
        rows = {row.id.removeprefix("row-"): row.display
                for row in app.screen.params.query(".param-row")}
        assert rows["kl_coef"] and rows["labeler_bias"]


async def test_a_dpo_run_says_it_plays_no_dialogue_and_shows_its_implicit_reward():
    app = PlaygroundApp(load_preset("rlhf-dialogue").replace(algo="dpo", kl_coef=1.0),
                        "rlhf-dialogue", autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        stats = {"proxy_reward_exact": 0.2, "true_reward_exact": 0.6, "kl_exact": 0.1,
                 "agreement_when_wrong_exact": 0.4, "rm_accuracy": 0.6, "policy_loss": 0.65,
                 "reward_margin": 0.125, "reward_accuracy": 0.55, "sps": 9000.0}
        app.screen.post_message(TrainerEvents(app.screen.run, (UpdateFinished(1, 384, stats),)))
        await pilot.pause(0.2)
        env = " ".join(drawn_text(app.screen.env_view).split())
        assert "DPO samples nothing" in env and "labelled pairs" in env
        diagnostics = drawn_text(app.screen.diagnostics)
        assert "margin" in diagnostics and "0.125" in diagnostics
        assert "pair acc" in diagnostics and "0.55" in diagnostics
        assert "grad var" not in diagnostics  # DPO measures no gradient noise


async def test_L_lists_the_lessons_and_opens_the_chosen_ones_preset():
    from pgtui.ui.screens.race import RaceScreen

    app = PlaygroundApp(load_preset(PRESET), PRESET, autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("L")
        await pilot.pause()
        assert isinstance(app.screen, ChoicePicker)
        options = app.screen.query_one("OptionList")
        from pgtui.lessons import LESSONS

        assert options.option_count == len(LESSONS)
        options.highlighted = [lesson.preset for lesson in LESSONS].index("variance-horizon")  # a race
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, RaceScreen))
        assert app.screen.title_text == "variance-horizon"
        assert list(app.screen.variants)[:3] == ["none, 100", "none, 200", "none, 500"]


async def test_the_corridor_is_drawn_with_the_agent_and_the_policy_on_j():
    app = PlaygroundApp(load_preset("corridor-reinforce"), "corridor-reinforce", autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        app.screen.post_message(TrainerEvents(app.screen.run, (
            Snapshot(640, Scene((1.0,), HiddenState(1)), DiscretePolicy((0.35, 0.65), -12.0)),
        )))
        await pilot.pause(0.2)
        env = drawn_text(app.screen.env_view)
        assert "@⇄" in env and "G" in env and "J(p)" in env
        assert "● p 0.650" in env and "★ p 0.586" in env


async def test_a_run_solved_by_greedy_evaluation_says_so_and_shows_its_evaluations():
    """cartpole-dqn read "mean100 48.3 ... ✓ SOLVED (ep 515)": the solve came from a
    greedy evaluation the pane never showed."""
    from pgtui.rl.events import Evaluated, Solved

    app = PlaygroundApp(load_preset("cartpole-dqn"), "cartpole-dqn", autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        app.screen.post_message(TrainerEvents(app.screen.run, (
            EpisodesFinished(8000, (20.0,) * 200, (20,) * 200),
            Evaluated(8192, 150.0, (150.0,) * 10),
            EpisodesFinished(18000, (60.0,) * 300, (60,) * 300),
            Evaluated(18432, 481.5, (481.5,) * 10),
            Solved(18432, 500, 30.0, 481.5, by="eval"),
            EpisodesFinished(20000, (13.0,) * 20, (13,) * 20),
        )))
        await pilot.pause(0.2)
        figures = drawn_text(app.screen.returns.query_one("#returns-figures"))
        assert "SOLVED by greedy eval at 18.4k steps · greedy now 481.5" in figures
        assert "(ep 500)" not in figures
        app.screen.post_message(TrainerEvents(app.screen.run, (Evaluated(20480, 120.0, (120.0,) * 10),)))
        await pilot.pause(0.2)
        assert "greedy now 120.0" in drawn_text(app.screen.returns.query_one("#returns-figures"))
        await pilot.press("g")
        await wait_for(lambda: type(app.screen).__name__ == "PlotScreen")
        await pilot.pause()
        drawn = app.screen.query_one("#curve").render().plain
        assert "greedy eval" in drawn and "●" in drawn


async def test_a_run_solved_by_its_training_mean_says_that():
    from pgtui.rl.events import Solved

    app = PlaygroundApp(load_preset(PRESET), PRESET, autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        app.screen.post_message(TrainerEvents(app.screen.run, (
            EpisodesFinished(60000, (480.0,) * 120, (480,) * 120),
            Solved(60000, 115, 12.0, 476.0),
        )))
        await pilot.pause(0.2)
        figures = drawn_text(app.screen.returns.query_one("#returns-figures"))
        assert "SOLVED by the last-100 mean (ep 115)" in figures and "greedy" not in figures


async def test_an_evaluating_run_not_yet_solved_shows_its_greedy_policy_beside_the_goal():
    from pgtui.rl.events import Evaluated

    app = PlaygroundApp(load_preset("cartpole-dqn"), "cartpole-dqn", autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        app.screen.post_message(TrainerEvents(app.screen.run, (
            EpisodesFinished(8000, (20.0,) * 200, (20,) * 200),
            Evaluated(8192, 150.0, (150.0,) * 10),
        )))
        await pilot.pause(0.2)
        figures = drawn_text(app.screen.returns.query_one("#returns-figures"))
        assert "greedy eval 150.0 at 8.2k steps  goal 475" in figures


async def test_the_rlhf_rewards_rows_each_show_their_own_movement():
    """True reward falling from 0.624 to 0.500 drew full-height bars from start to end on
    an axis from 0 to 1."""
    app = PlaygroundApp(load_preset("rlhf-dialogue"), "rlhf-dialogue", autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        n = 40
        stats = [{"proxy_reward_exact": 1.2 * u / (n - 1), "true_reward_exact": 0.624 - 0.124 * u / (n - 1),
                  "kl_exact": 0.0, "agreement_when_wrong_exact": 0.3, "rm_accuracy": 0.6,
                  "policy_loss": 0.0, "sps": 1.0, "optimum_proxy_reward": 1.9,
                  "optimum_true_reward": 0.41} for u in range(n)]
        app.screen.post_message(TrainerEvents(app.screen.run, tuple(
            UpdateFinished(u + 1, 256 * (u + 1), s) for u, s in enumerate(stats))))
        await pilot.pause(0.3)
        for spark_id, falls in (("#true-spark", True), ("#proxy-spark", False)):
            top, bottom = app.screen.returns.query_one(spark_id).render().plain.splitlines()
            start, end = (top[0], top[-1]) if falls else (top[-1], top[0])
            assert start in "▅▆▇█" and end == " ", (spark_id, top)  # high, then down to the floor
            assert (bottom[-1] if falls else bottom[0]) in "▁▂▃", (spark_id, bottom)
        figures = drawn_text(app.screen.returns.query_one("#series-figures"))
        assert "true 0.500 (from 0.624)" in figures and "own axis" in figures
        assert "π* +1.90, 0.410" in figures  # the best against this reward model, at this beta


async def test_a_sac_single_step_shows_its_mean_and_spread_not_q_values():
    from pgtui.rl.events import StepCompared

    app = PlaygroundApp(load_preset("pendulum-sac"), "pendulum-sac", autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        app.screen.post_message(TrainerEvents(app.screen.run, (
            Snapshot(500, Scene((1.0, 0.0, 0.0)), TwinCritics((0.1,), (0.9,), (-3.0, -2.5))),
            StepCompared(101, (1.0, 0.0, 0.0), (0.1, 0.9), (0.2, 0.8)),
        )))
        await pilot.pause(0.2)
        policy = drawn_text(app.screen.policy.query_one("#policy-extra"))
        assert "+0.10→+0.20" in policy and "+0.90→+0.80" in policy and "Q a0" not in policy


async def test_ctrl_s_saves_a_checkpoint_and_says_where(tmp_path):
    from pgtui.rl import checkpoint

    app = PlaygroundApp(load_preset(PRESET), PRESET, out=tmp_path)
    said, notify = [], app.notify
    app.notify = lambda message, **kw: (said.append(message), notify(message, **kw))[1]
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(lambda: app.state.status == "running" and app.state.global_step > 0)
        await pilot.press("ctrl+s")
        await wait_for(lambda: list(tmp_path.glob(f"{PRESET}-step*.pt")))
        (saved,) = tmp_path.glob(f"{PRESET}-step*.pt")
        await wait_for(lambda: f"checkpoint saved: {saved}" in said)
        assert checkpoint.load(saved)["config"]["env"] == "CartPole-v1"
        await pilot.press("q")


@pytest.mark.parametrize("preset, offered", [
    ("cartpole-ppo", ["reinforce", "a2c", "ppo", "dqn", "grpo", "dpo"]),
    ("pendulum-sac", ["reinforce", "a2c", "ppo", "sac"]),
])
async def test_the_algorithm_picker_offers_what_acts_in_the_env_s_action_space(preset, offered):
    app = PlaygroundApp(load_preset(preset), preset, autostart=False)
    async with app.run_test(size=(120, 36)) as pilot:
        select = app.screen.params.query_one("#algo", Select)
        select.action_show_overlay()  # as a click opens it: the options on offer
        await pilot.pause()
        options = select.query_one(OptionList)  # the overlay is one
        assert [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)] == offered
