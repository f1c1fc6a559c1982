"""Hyperparameters: live ones apply at the next update, structural ones restart the run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Select, Static, Switch

from ...config import (
    ALGOS,
    BASELINES,
    FIELDS,
    LIVE_PARAMS,
    RETURN_MODES,
    Config,
    ConfigError,
    used_by,
)
from ...config_checks import check_value
from ...rl.algos import algo_spec
from ...tasks import task_of

CLASSIC_ENVS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1")
# live settings typed as numbers (the others are Selects and Switches)
LIVE_INPUTS = tuple(key for key in LIVE_PARAMS
                    if FIELDS[key].type in ("float", "int", "float | str", "float | None", "int | None"))
LABELS = {"labeler_bias": "lab. bias", "exploration_final_eps": "final eps",
          "target_update_interval": "target upd", "double_q": "double Q",
          "normalize_advantage": "normalize", "ent_coef": "ent_coef",
          "return_mode": "returns", "entropy": "entropy"}
STRUCTURAL_INPUTS = ("num_envs", "seed", "hidden_sizes")
DEFAULT_ENT_COEF = 0.01  # what the entropy switch turns on when ent_coef was 0
ROW_KEYS = {"entropy": "ent_coef"}  # a row that sets another key than its id


def parse_field(key: str, text: str) -> Any:
    """The typed value of ``text`` for config field ``key``; raises ConfigError."""
    text = text.strip()
    if key == "hidden_sizes":
        try:
            value: Any = [int(part) for part in text.replace(",", " ").split()]
        except ValueError:
            raise ConfigError(f"{key}: expected widths like 64,64, got {text!r}") from None
    elif FIELDS[key].metadata.get("auto") and text == "auto":
        value = text
    elif FIELDS[key].type in ("int", "int | None"):
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"{key}: expected an integer, got {text!r}") from None
    else:
        try:
            value = float(text)
        except ValueError:
            expected = "auto or a number" if FIELDS[key].metadata.get("auto") else "a number"
            raise ConfigError(f"{key}: expected {expected}, got {text!r}") from None
    return check_value(key, value, "value")


def show_field(key: str, value: Any) -> str:
    return ",".join(map(str, value)) if key == "hidden_sizes" else f"{value:g}" \
        if isinstance(value, float) else str(value)


class FieldValidator(Validator):
    """Runs the config's own checks on what is typed, so the reasons match the CLI's."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_field(self.key, value)
        except ConfigError as err:
            return self.failure(str(err).removeprefix("value: "))
        return self.success()


class ParamsPane(VerticalScroll):
    """Selects, switches and validated inputs for the run's config."""

    can_focus = False  # tab moves between the controls; focus on the pane itself shows nothing

    DEFAULT_CSS = """
    ParamsPane { height: 1fr; }
    ParamsPane Horizontal { height: 1; margin: 0 0 0 0; }
    ParamsPane Label { width: 10; }
    ParamsPane .switch-state { width: 1fr; }
    ParamsPane Select { width: 1fr; }
    ParamsPane Input { width: 1fr; }
    ParamsPane Switch { border: none; height: 1; padding: 0; width: 4; }
    /* a focus border would change the row's layout and cost a full screen relayout */
    ParamsPane Switch:focus { border: none; background-tint: $foreground 25%; }
    ParamsPane .switch-state { width: 1fr; padding: 0 1; color: $text-muted; }
    ParamsPane #param-feedback { height: auto; color: $text-muted; }
    ParamsPane #param-feedback.-error { color: $error; }
    """

    @dataclass
    class Changed(Message):
        """The user set ``key`` to ``value``; ``live`` if it needs no restart."""

        pane: ParamsPane
        key: str
        value: Any
        live: bool

    def __init__(self, config: Config, discrete: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.actions = "discrete" if discrete else "box"  # the env's action space
        self._ent_coef_on = config.ent_coef or DEFAULT_ENT_COEF

    def compose(self) -> ComposeResult:
        c = self.config
        envs = CLASSIC_ENVS if c.env in CLASSIC_ENVS else (c.env, *CLASSIC_ENVS)
        # the algorithms that act in this env's action space; a learner of the user's own
        # beside them, by its title
        algos = [(a, a) for a in ALGOS if self.actions in algo_spec(a).actions or a == c.algo]
        algos += [] if c.algo in ALGOS else [(algo_spec(c.algo).title, c.algo)]
        self._algo_choices = algos
        yield from self._row("algo", Select(algos, value=c.algo,
                                            allow_blank=False, compact=True, id="algo"))
        yield from self._row("env", Select([(e, e) for e in envs], value=c.env,
                                           allow_blank=False, compact=True, id="env"))
        yield from self._row("baseline", Select([(b, b) for b in BASELINES], value=c.baseline,
                                                allow_blank=False, compact=True, id="baseline"))
        yield from self._row("returns", Select([(m, m) for m in RETURN_MODES],
                                               value=c.return_mode, allow_blank=False,
                                               compact=True, id="return_mode"))
        yield from self._row("normalize", Switch(c.normalize_advantage,
                                                 id="normalize_advantage"))
        yield from self._row("entropy", Switch(c.ent_coef > 0, id="entropy"))
        yield from self._row("double Q", Switch(c.double_q, id="double_q"))
        yield from self._row("group std", Switch(c.scale_by_std, id="scale_by_std"))

        for key in LIVE_INPUTS + STRUCTURAL_INPUTS:
            yield from self._row(LABELS.get(key, key), Input(show_field(key, c.effective(key)), id=key,
                                            compact=True, validators=[FieldValidator(key)],
                                            validate_on=["changed", "submitted"]))
        yield Static("enter applies a value; * marks a restart", id="param-feedback")

    def on_mount(self) -> None:
        self._show_what_applies()

    def _show_what_applies(self) -> None:
        """Rows of settings the run does not read are hidden while it runs."""
        task = task_of(self.config.env)
        for row in self.query(".param-row"):
            key = row.id.removeprefix("row-")
            key = ROW_KEYS.get(key, key)
            row.display = key not in FIELDS or used_by(key, self.config.algo, task and task.name)

    def _row(self, label: str, widget) -> ComposeResult:
        restart = widget.id in ("algo", "env", *STRUCTURAL_INPUTS)
        with Horizontal(id=f"row-{widget.id}", classes="param-row"):
            yield Label(label[:9] + ("*" if restart else ""))
            yield widget
            if isinstance(widget, Switch):
                yield Label(self._switch_text(widget.id, widget.value), classes="switch-state",
                            id=f"{widget.id}-state")

    def _switch_text(self, switch_id: str, on: bool) -> str:
        if switch_id == "entropy":
            return f"on ({self.config.ent_coef:g})" if on else "off"
        return "on" if on else "off"

    # -- what the user does -------------------------------------------------------------

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        key = event.select.id
        if event.value != getattr(self.config, key):
            self.post_message(self.Changed(self, key, event.value, live=key not in ("algo", "env")))

    @on(Switch.Changed)
    def _switch_changed(self, event: Switch.Changed) -> None:
        self.query_one(f"#{event.switch.id}-state", Label).update(
            self._switch_text(event.switch.id, event.value))
        if event.switch.id == "entropy":
            value = self._ent_coef_on if event.value else 0.0
            if value != self.config.ent_coef:
                self.post_message(self.Changed(self, "ent_coef", value, live=True))
        elif event.value != getattr(self.config, event.switch.id):
            self.post_message(self.Changed(self, event.switch.id, event.value, live=True))

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        result = event.validation_result
        if result is not None and not result.is_valid:
            self.feedback(result.failure_descriptions[0], error=True)

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        key = event.input.id
        try:
            value = parse_field(key, event.value)
        except ConfigError as err:
            self.feedback(f"refused {str(err).removeprefix('value: ')}; keeping "
                          f"{show_field(key, self.config.effective(key))}", error=True)
            return
        if value != getattr(self.config, key):
            self.post_message(self.Changed(self, key, value, live=key in LIVE_INPUTS))

    # -- what the app tells it ----------------------------------------------------------

    def feedback(self, message: str, error: bool = False) -> None:
        widget = self.query_one("#param-feedback", Static)
        widget.update(Text(message))
        widget.set_class(error, "-error")

    def show_config(self, config: Config) -> None:
        """Make every control show ``config`` without posting Changed."""
        if (config.algo, config.env) != (self.config.algo, self.config.env):
            self.config = config
            self._show_what_applies()
        self.config = config
        if config.ent_coef > 0:
            self._ent_coef_on = config.ent_coef
        with self.prevent(Select.Changed, Switch.Changed):
            if config.algo not in [value for _, value in self._algo_choices]:  # an answer's file
                self._algo_choices = [*self._algo_choices, (algo_spec(config.algo).title, config.algo)]
                self.query_one("#algo", Select).set_options(self._algo_choices)
            for key in ("algo", "env", "baseline", "return_mode"):
                select = self.query_one(f"#{key}", Select)
                if select.value != getattr(config, key):
                    select.value = getattr(config, key)
            self.query_one("#normalize_advantage", Switch).value = config.normalize_advantage
            self.query_one("#double_q", Switch).value = config.double_q
            self.query_one("#scale_by_std", Switch).value = config.scale_by_std
            self.query_one("#entropy", Switch).value = config.ent_coef > 0
        for switch_id in ("normalize_advantage", "entropy", "double_q", "scale_by_std"):
            on = self.query_one(f"#{switch_id}", Switch).value
            self.query_one(f"#{switch_id}-state", Label).update(self._switch_text(switch_id, on))
        for key in LIVE_INPUTS + STRUCTURAL_INPUTS:
            field = self.query_one(f"#{key}", Input)
            if not field.has_focus:
                field.value = show_field(key, config.effective(key))
