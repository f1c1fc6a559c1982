"""The run configuration: one typed object, TOML presets, and their validation.

Every field carries its help text and its valid range in the dataclass metadata, so the
checks (``config_checks.py``), the CLI, the README table and the UI all read the same
source. A preset is data: it is parsed with ``tomllib`` and never executed. Every error
is a :class:`ConfigError` whose message fits on one line and names the file or option,
the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import lockdown
from .config_checks import FIELDS, ConfigError, check_value
from .rl.algos import ALGORITHM_SETTINGS, ALGORITHMS, algo_spec
from .toml_text import toml_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ALGOS = tuple(ALGORITHMS)
BASELINES = ("none", "mean", "value", "optimal")
RETURN_MODES = ("reward_to_go", "full")
DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("adam", "sgd")
ACTIVATIONS = ("tanh", "relu")
POLICIES = ("mlp", "tabular")


def _f(default: Any, help: str, **rules: Any) -> Any:
    """A config field with its help text and validation rules in the metadata; ``live``:
    a running trainer applies it at the next update; ``task``: the task that reads it
    (default: any run); ``unset``: what an optional field left unset means, where its
    algorithm does not say. Which algorithms read a field their specs say
    (``AlgoSpec.settings``)."""
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **rules})
    return field(default=default, metadata={"help": help, **rules})


@dataclass
class Config:
    """Everything that defines a run. Defaults learn CartPole with PPO."""

    description: str = _f("", "One line shown by `pgtui presets`.")
    env: str = _f("CartPole-v1", "Gymnasium env id (Discrete or Box action space).")
    env_kwargs: dict = _f({}, "Keyword arguments for the env, a table (e.g. { is_slippery = "
                          "false, map_name = \"8x8\" }).")
    algo: str = _f("ppo", f"Algorithm: {', '.join(ALGOS)}, or a learner of your own as "
                   "module:Class or path/to/file.py:Class, or your answer to an exercise as path/to/file.py.")
    seed: int = _f(0, "Seed for the networks, the action sampling and the envs.", lo=0)
    device: str = _f("auto", "Torch device; auto picks cpu (small MLPs are fastest there).",
                     choices=DEVICES)
    lr: float = _f(2.5e-4, "Learning rate (live).", lo=0.0, lo_open=True, hi=10.0, live=True)
    optimizer: str = _f("adam", "Optimizer.", choices=OPTIMIZERS)
    anneal_lr: bool = _f(False, "Decay lr linearly to 0 over total_steps.")
    gamma: float = _f(0.99, "Discount factor (live).", lo=0.0, hi=1.0, live=True)
    gae_lambda: float = _f(0.95, "GAE lambda for A2C and PPO (live).", lo=0.0, hi=1.0,
                           live=True)
    baseline: str = _f("value", "REINFORCE baseline: none, mean (leave-one-out batch mean "
                       "of returns), value (learned V(s)) or optimal (the variance-minimizing "
                       "constant, leave-one-out) (live).", choices=BASELINES, live=True)
    return_mode: str = _f("reward_to_go", "REINFORCE weights: reward_to_go, or full "
                          "(the whole episode's return on every step) (live).",
                          choices=RETURN_MODES, live=True)
    normalize_advantage: bool = _f(True, "Standardize advantages in each batch (live).",
                                   live=True)
    ent_coef: float = _f(0.0, "Entropy bonus coefficient (live).", lo=0.0, hi=10.0,
                         live=True)
    clip_coef: float = _f(0.2, "PPO, GRPO: clip range of the probability ratio (live).", lo=0.0,
                          lo_open=True, hi=10.0, live=True)
    scale_by_std: bool = _f(True, "GRPO: divide each response's advantage by its group's std "
                            "(false: only subtract the group mean, as Dr. GRPO) (live).",
                            live=True)
    vf_coef: float = _f(0.5, "Value loss coefficient (live).", lo=0.0, hi=100.0,
                        live=True)
    critic_lr_scale: float = _f(1.0, "The critic's learning rate as a multiple of lr (a value "
                                "baseline of raw returns must keep up with them).", lo=0.0,
                                lo_open=True, hi=1000.0)
    max_grad_norm: float = _f(0.5, "Gradient-norm clip, the actor's and the critic's each on "
                              "its own norm; 0 turns clipping off; SAC does not clip (live).",
                              lo=0.0, hi=1e6, live=True)
    target_kl: float = _f(0.0, "PPO: stop the epochs once approx_kl exceeds this; 0 = off.",
                          lo=0.0, hi=10.0)
    max_episode_steps: int = _f(0, "Cap on an episode's steps (Gymnasium's time limit); 0 = the "
                                "env's own.", lo=0, hi=10**9)
    reward_scale: float = _f(1.0, "Every env reward is multiplied by this before it is learned "
                             "from (and in the returns shown).", lo=0.0, lo_open=True, hi=1e6)
    num_envs: int = _f(8, "Vectorized envs stepped together.", lo=1, hi=4096)
    num_steps: int = _f(128, "A2C/PPO: steps per env per rollout.", lo=1, hi=100_000)
    episodes_per_update: int = _f(8, "REINFORCE, GRPO: complete episodes per update.", lo=1,
                                  hi=100_000)
    update_epochs: int = _f(4, "PPO: passes over each rollout; GRPO: gradient steps on each "
                            "batch.", lo=1, hi=1000)
    pairs_per_update: int = _f(64, "DPO: labelled preference pairs per gradient step.", lo=1,
                               hi=1_000_000)
    num_minibatches: int = _f(4, "PPO: minibatches per epoch.", lo=1, hi=100_000)
    buffer_size: int = _f(100_000, "DQN, SAC: transitions the replay buffer holds per seed.", lo=1,
                          hi=10**8)
    learning_starts: int = _f(1000, "DQN, SAC: env steps of uniformly random actions before the "
                              "first gradient step.", lo=0, hi=10**12)
    batch_size: int = _f(64, "DQN, SAC: transitions per gradient step.", lo=1, hi=1_000_000)
    # defaults: at 8 envs, one gradient step per 4 env steps, as SB3's DQN takes
    train_freq: int = _f(1, "DQN, SAC: vector env steps between rounds of gradient steps.", lo=1,
                         hi=1_000_000)
    gradient_steps: int | None = _f(None, "DQN, SAC: gradient steps per round; default the "
                                    "algorithm's: DQN 2, SAC one per env step of the round "
                                    "(num_envs x train_freq) (live).", optional=True, lo=1,
                                    hi=1_000_000, live=True, unset=2)
    target_update_interval: int = _f(1000, "DQN: env steps between target-network updates "
                                     "(live).", lo=1, hi=10**12, live=True)
    tau: float | None = _f(None, "DQN, SAC: target update weight; 1 copies, below 1 is Polyak "
                           "averaging; default the algorithm's: DQN 1 (a copy every "
                           "target_update_interval), SAC 0.005 (after every gradient step) (live).",
                           optional=True, lo=0.0, lo_open=True, hi=1.0, live=True,
                           unset=1.0)
    alpha: float | str = _f("auto", "SAC: the entropy temperature: auto (learned toward "
                            "target_entropy, from 1) or a fixed number (live).", lo=0.0,
                            lo_open=True, hi=1000.0, auto=True, live=True)
    target_entropy: float | None = _f(None, "SAC: the entropy an auto alpha aims at; default "
                                      "-(action dimensions).", optional=True, lo=-1000.0,
                                      hi=1000.0)
    compile_update: bool = _f(False, "SAC: compile each gradient step (losses, gradient, Adam, "
                              "target update) into one graph with torch.compile: steps 1.5-2.5x "
                              "faster after a first compile of about 30 s (cached: later runs 5 s).")
    exploration_initial_eps: float = _f(1.0, "DQN: epsilon at the start.", lo=0.0, hi=1.0)
    exploration_final_eps: float = _f(0.05, "DQN: the epsilon the schedule heads to (live).",
                                      lo=0.0, hi=1.0, live=True)
    exploration_fraction: float = _f(0.1, "DQN: share of total_steps over which epsilon "
                                     "falls linearly.", lo=0.0, hi=1.0)
    double_q: bool = _f(False, "DQN: Double DQN targets (the online net picks the action, "
                        "the target net values it) (live).", live=True)
    kl_coef: float = _f(0.0, "Dialogue (RLHF): beta, the weight of the KL to the reference "
                        "policy: a per-token penalty log pi - log pi_ref in the reward, GRPO's "
                        "k3 term in its loss, DPO's beta (live).", lo=0.0, hi=100.0, live=True,
                        task="rlhf")
    labeler_bias: float = _f(0.0, "Dialogue (RLHF): chance a labeler prefers the response that "
                             "agrees with the user over the correct one; picks the reward "
                             "model (live).", lo=0.0, hi=1.0, live=True, task="rlhf")
    eval_every: int = _f(0, "Greedy evaluation every k env steps; 0 = off.", lo=0, hi=10**12)
    eval_episodes: int = _f(10, "Episodes per greedy evaluation.", lo=1, hi=10_000)
    hidden_sizes: list = _f([64, 64], "Hidden layer widths of the actor and the critic.",
                            item=int, lo=1, hi=4096, max_len=8)
    activation: str = _f("tanh", "Hidden activation.", choices=ACTIVATIONS)
    policy: str = _f("mlp", "mlp networks, or tabular softmax logits (one-state bandits).",
                     choices=POLICIES)
    total_steps: int = _f(500_000, "Env steps before the run ends.", lo=1, hi=10**12)
    diag_every: int = _f(1, "Gradient diagnostics every k updates; 0 = off.", lo=0,
                         hi=1_000_000)
    solved_threshold: float | None = _f(None, "Mean of the last 100 returns that counts as "
                                        "solved; default: the env's reward_threshold.",
                                        optional=True)
    init_theta: list = _f([], "Tabular softmax only: initial logits (worked example).",
                          item=float, max_len=64)
    seeds: int = _f(1, "Race presets: seeds per variant.", lo=1, hi=1000)
    variants: list = _f([], "Race presets: [[variants]] tables (name + overrides).",
                        item=dict)
    sweep: dict = _f({}, "Sweep presets: a [sweep] table, each swept key = [its values]; "
                     "every grid point trains `seeds` seeds.")

    def effective(self, key: str) -> Any:
        """``key`` as the run reads it: an unset one (tau, gradient_steps) is the
        algorithm's own (``AlgoSpec.unset``), else the field's (its ``unset=``)."""
        value = getattr(self, key)
        if value is None:
            value = algo_spec(self.algo).unset.get(key, FIELDS[key].metadata.get("unset"))
        return value(self) if callable(value) else value

    def replace(self, **changes: Any) -> Config:
        """A validated copy with ``changes`` applied."""
        data = dataclasses.asdict(self)
        data.update(changes)
        return from_mapping(data, source="config")

    def to_toml(self) -> str:
        """The resolved config as a TOML document that loads back to the same Config."""
        lines = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or f.name in ("variants", "sweep"):
                continue
            lines.append(f"{f.name} = {toml_value(value)}")
        for variant in self.variants:
            lines.append("\n[[variants]]")
            lines.extend(f"{k} = {toml_value(v)}" for k, v in variant.items())
        if self.sweep:
            lines.append("\n[sweep]")
            lines.extend(f"{k} = {toml_value(v)}" for k, v in self.sweep.items())
        return "\n".join(lines) + "\n"


FIELDS.update({f.name: f for f in dataclasses.fields(Config)})
#: Parameters the Trainer applies at the next update boundary without a restart.
LIVE_PARAMS = tuple(name for name, f in FIELDS.items() if f.metadata.get("live"))


def used_by(key: str, algo: str, task: str | None) -> bool:
    """Whether a run of ``algo`` on an env of ``task`` (None: a plain env) reads ``key``."""
    if key in ALGORITHM_SETTINGS and key not in algo_spec(algo).settings:
        return False
    return FIELDS[key].metadata.get("task") in (None, task)


def from_mapping(data: Mapping[str, Any], source: str) -> Config:
    """Build a validated Config from plain data (a parsed TOML table, a dict)."""
    values = {key: check_value(key, value, source) for key, value in data.items()}
    config = Config(**values)
    _check_consistency(config, source)
    if lockdown.active() and config.sweep and (why := lockdown.sweep_error(config.sweep, config.seeds)):
        raise ConfigError(f"{source}: {why}")
    if lockdown.active() and config.variants and (why := lockdown.race_error(len(config.variants),
                                                                            config.seeds)):
        raise ConfigError(f"{source}: {why}")
    return config


def _check_consistency(config: Config, source: str) -> None:
    from .rl.envs.registry import env_exists, why_unknown  # gymnasium: only for a whole config

    if not env_exists(config.env):
        raise ConfigError(f"{source}: env: {why_unknown(config.env)}")
    if config.variants and config.sweep:
        raise ConfigError(f"{source}: a preset has [[variants]] (a race) or [sweep], not both")
    consistency = algo_spec(config.algo).consistency
    if consistency is not None and (why := consistency(config)):
        raise ConfigError(f"{source}: {why}")
    for variant in config.variants:  # each variant must make a whole, consistent config
        merged = {**dataclasses.asdict(config), "variants": [], "seeds": 1,
                  **{k: v for k, v in variant.items() if k != "name"}}
        _check_consistency(Config(**merged), f"{source}: variants: {variant['name']!r}")


def parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: invalid TOML: {err}") from None
