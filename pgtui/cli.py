"""The `pgtui` command: the playground by default, plus headless subcommands.

Usage errors end with exit code 2 and one line on stderr; a failed run ends with 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from .assignments import apply_assignments
from .commands import UsageError
from .commands.arguments import non_negative_float as _non_negative_float
from .commands.arguments import non_negative_int as _non_negative_int
from .commands.arguments import positive_int as _positive_int
from .commands.exercise import configure as configure_exercise
from .commands.serve import configure as configure_serve
from .config import FIELDS, ConfigError
from .figures import FigureError, require_figure
from .preset_files import load_preset, preset_names
from .rl.checkpoint import CheckpointError
from .rl.envs.registry import EnvError

USAGE_ERRORS = (ConfigError, EnvError, CheckpointError, FigureError)
DEFAULT_PRESET = "cartpole-reinforce-baseline"


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line instead of a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pgtui", description="A terminal playground for policy-gradient RL.")
    parser.add_argument("--preset", default=DEFAULT_PRESET,
                        help=f"preset name or .toml path to open (default {DEFAULT_PRESET})")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (repeatable)")
    parser.add_argument("--out", type=Path, help="directory for the playground's metrics.jsonl "
                        "and checkpoints")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    presets = sub.add_parser("presets", help="list the shipped presets")
    presets.add_argument("--keys", action="store_true", help="list every config key instead")

    sub.add_parser("lessons", help="the lessons' exercises and the preset that answers each")
    configure_exercise(sub.add_parser("exercise", help="write an exercise's scaffold; check, play "
                                      "and race your answer"))
    train = sub.add_parser("train", help="train without the screen")
    start = train.add_mutually_exclusive_group(required=True)
    start.add_argument("--preset", help="preset name or .toml path")
    start.add_argument("--resume", type=Path, metavar="DIR",
                       help="continue the run saved in DIR (its checkpoint.pt) with its config")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key (repeatable), e.g. --set lr=3e-4")
    train.add_argument("--seed", type=_non_negative_int, help="override the seed")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), help="torch device")
    train.add_argument("--max-steps", type=_positive_int, help="override total_steps")
    train.add_argument("--updates", type=_positive_int, help="stop after N updates")
    train.add_argument("--until-solved", action="store_true",
                       help="stop once the last-100 mean reaches the env's threshold")
    train.add_argument("--out", type=Path, help="directory for metrics.jsonl, config, checkpoint")
    train.add_argument("--checkpoint-every", type=_non_negative_float, default=30.0,
                       metavar="SECONDS", help="with --out or --resume: also save the "
                       "checkpoint this often while training; 0 = only at the end (30)")
    train.add_argument("--json", action="store_true",
                       help="print a JSON summary as the last stdout line")
    train.add_argument("--tensorboard", type=Path, metavar="DIR",
                       help="also write TensorBoard scalars (pip install 'pgtui[tensorboard]')")
    compare = sub.add_parser("compare", help="race every variant x seed of a race preset")
    compare.add_argument("--preset", required=True, help="race preset name or .toml path")
    compare.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                         help="override a key of every variant (repeatable)")
    compare.add_argument("--seeds", type=_positive_int, help="seeds per variant (preset: seeds)")
    compare.add_argument("--max-steps", type=_positive_int, help="env steps per run")
    compare.add_argument("--device", choices=("auto", "cpu", "cuda"), help="torch device")
    compare.add_argument("--out", type=Path, help="directory for each run's metrics and a summary")
    compare.add_argument("--json", action="store_true",
                         help="print a JSON summary as the last stdout line")
    compare.add_argument("--plot", type=Path, metavar="FILE",
                         help="also the curves as a figure: PNG, SVG or PDF by the suffix (pgtui[plot])")
    compare.add_argument("--tensorboard", type=Path, metavar="DIR",
                         help="also write TensorBoard scalars, one run per variant x seed")
    sweep = sub.add_parser("sweep", help="train every grid point x seed; a table and a "
                           "sensitivity plot")
    start = sweep.add_mutually_exclusive_group(required=True)
    start.add_argument("--preset", help="preset name or .toml path (its [sweep] table is the grid "
                       "unless --grid is given)")
    start.add_argument("--resume", type=Path, metavar="DIR",
                       help="run the trials the sweep in DIR has not finished")
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                       help="a swept key and its values (repeatable; replaces the preset's grid)")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key of every trial (repeatable)")
    sweep.add_argument("--seeds", type=_positive_int, help="seeds per grid point (preset: seeds)")
    sweep.add_argument("--plot", type=Path, metavar="FILE",
                       help="also the sensitivity plot as a figure: PNG, SVG or PDF by the suffix "
                       "(pgtui[plot])")
    sweep.add_argument("--max-steps", type=_positive_int, help="env steps per trial")
    sweep.add_argument("--device", choices=("auto", "cpu", "cuda"), help="torch device")
    sweep.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="local processes (default) or Ray Tune (pip install 'pgtui[ray]')")
    sweep.add_argument("--address", help="ray: join this cluster (auto, ray://HOST:PORT); "
                       "default: start a local Ray")
    sweep.add_argument("--scheduler", choices=("asha",), help="ray: stop hopeless grid points "
                       "early (ASHA on the last-100 mean)")
    sweep.add_argument("--workers", type=_positive_int, help="local: grid points training at "
                       "once (default: one per core)")
    sweep.add_argument("--out", type=Path, help="directory for every trial's files and the summary")
    sweep.add_argument("--tensorboard", type=Path, metavar="DIR",
                       help="also write TensorBoard scalars, one run per trial")
    sweep.add_argument("--json", action="store_true",
                       help="print a JSON summary as the last stdout line")
    watch = sub.add_parser("watch", help="play a saved policy: drawn on a terminal, returns printed")
    watch.add_argument("checkpoint", type=Path, help="a .pt file written by ctrl+s or train --out")
    watch.add_argument("--episodes", type=_positive_int, default=3, help="episodes to play (3)")
    configure_serve(sub.add_parser("serve", help="serve the playground to browsers, a session "
                                   "per tab (needs pgtui[serve])"), DEFAULT_PRESET)
    watch.add_argument("--no-render", action="store_true", help="print returns only")
    watch.add_argument("--fast", action="store_true", help="do not wait for the env's frame rate")
    watch.add_argument("--json", action="store_true",
                       help="print a JSON summary as the last stdout line")
    return parser


def _config_from(args: argparse.Namespace):
    config = load_preset(args.preset)
    overrides = list(args.set)
    for key, option in (("seed", "seed"), ("device", "device"), ("total_steps", "max_steps")):
        value = getattr(args, option, None)
        if value is not None:
            overrides.append(f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}")
    return apply_assignments(config, overrides) if overrides else config


def _cmd_presets(args: argparse.Namespace) -> int:
    if args.keys:
        for name, f in FIELDS.items():
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            print(f"{name:22} {default!s:14} {f.metadata['help']}")
        return 0
    for name in preset_names():
        try:
            description = load_preset(name).description
        except ConfigError as err:
            description = f"(invalid: {err})"
        print(f"{name:30} {description}")
    return 0


def _resumed(args: argparse.Namespace):
    """The config and checkpoint of ``train --resume DIR``."""
    from .config import from_mapping
    from .rl.checkpoint import load

    changes = [name for name, value in (("--set", args.set), ("--seed", args.seed),
                                        ("--device", args.device), ("--max-steps", args.max_steps),
                                        ("--out", args.out)) if value]
    if changes:
        raise UsageError(f"pgtui train: --resume continues the saved run as it was; "
                         f"{', '.join(changes)} cannot change it")
    path = args.resume / "checkpoint.pt" if args.resume.is_dir() else args.resume
    payload = load(path)
    return from_mapping(payload["config"], f"{path} config"), payload, path.parent


def _cmd_train(args: argparse.Namespace) -> int:
    from .commands.train import TrainOptions, run_train

    resume, out, preset = None, args.out, args.preset
    if args.resume is not None:
        config, resume, out = _resumed(args)
        preset = f"resume {out}"
    else:
        config = _config_from(args)
        if config.variants:
            print(f"pgtui train: {args.preset} is a race preset; training its base config "
                  f"(`pgtui compare` races its {len(config.variants)} variants)", file=sys.stderr)
        if config.sweep:
            print(f"pgtui train: {args.preset} is a sweep preset; training its base config "
                  "(`pgtui sweep` runs its grid)", file=sys.stderr)
    if args.tensorboard is not None:
        from .tensorboard import require_tensorboard

        require_tensorboard()
    options = TrainOptions(preset=preset, max_updates=args.updates, tensorboard=args.tensorboard,
                           until_solved=args.until_solved, out=out, json=args.json,
                           checkpoint_every_s=args.checkpoint_every, resume=resume)
    return run_train(config, options)


def _cmd_compare(args: argparse.Namespace) -> int:
    from .commands.compare import CompareOptions, run_compare
    from .rl.device import device_name

    config = _config_from(args)
    if config.sweep:
        raise UsageError(f"pgtui compare: {args.preset} is a sweep preset; run it with "
                         f"`pgtui sweep --preset {args.preset}`")
    # options on the command line win over the variants' own settings
    forced = {key for key, option in (("total_steps", "max_steps"), ("device", "device"))
              if getattr(args, option) is not None}
    forced |= {assignment.partition("=")[0].strip() for assignment in args.set}
    if forced and config.variants:
        config = config.replace(variants=[{k: v for k, v in variant.items() if k not in forced}
                                          for variant in config.variants])
    device_name(config.device)  # a missing GPU is a usage error, before any process
    if args.tensorboard is not None:
        from .tensorboard import require_tensorboard

        require_tensorboard()
    if args.plot is not None:
        require_figure(args.plot)  # one line now, not after the races
    return run_compare(config, CompareOptions(seeds=args.seeds, out=args.out, json=args.json,
                                              tensorboard=args.tensorboard, plot=args.plot))


def _sweep_config(args: argparse.Namespace):
    """The sweep to run: a preset with the command line's changes, or the one in --resume."""
    from .config import from_mapping, parse_toml
    from .sweeps.spec import parse_grid

    if args.resume is None:
        config = _config_from(args)
        if args.grid:
            config = config.replace(sweep=parse_grid(args.grid))
        if args.seeds is not None:
            config = config.replace(seeds=args.seeds)
        return config, args.out
    changes = [name for name, value in (("--grid", args.grid), ("--set", args.set),
                                        ("--seeds", args.seeds), ("--max-steps", args.max_steps),
                                        ("--device", args.device)) if value]
    if changes or (args.out is not None and args.out.resolve() != args.resume.resolve()):
        changes += ["--out"] if args.out is not None else []
        raise UsageError(f"pgtui sweep: --resume runs the saved sweep as it was; "
                         f"{', '.join(changes)} cannot change it")
    path = args.resume / "config.toml"
    if not path.is_file():
        raise UsageError(f"pgtui sweep: {args.resume} holds no sweep (no config.toml)")
    return from_mapping(parse_toml(path.read_text("utf-8"), str(path)), str(path)), args.resume


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .rl.device import device_name
    from .sweeps.run import SweepOptions, run_sweep

    ray_only = [name for name, value in (("--address", args.address),
                                         ("--scheduler", args.scheduler)) if value]
    if ray_only and args.engine != "ray":
        raise UsageError(f"pgtui sweep: {', '.join(ray_only)} needs --engine ray")
    if args.workers is not None and args.engine == "ray":
        raise UsageError("pgtui sweep: --workers is for the local engine (Ray places the trials)")
    config, out = _sweep_config(args)
    if args.engine == "ray":
        from .sweeps.run import require_ray

        require_ray()
    if args.tensorboard is not None:
        from .tensorboard import require_tensorboard

        require_tensorboard()
    device_name(config.device)  # a missing GPU is a usage error, before any process
    if args.plot is not None:
        require_figure(args.plot)  # one line now, not after the trials
    options = SweepOptions(engine=args.engine, address=args.address, scheduler=args.scheduler,
                           out=out, json=args.json, tensorboard=args.tensorboard,
                           workers=args.workers, plot=args.plot)
    return run_sweep(config, options)


def _cmd_watch(args: argparse.Namespace) -> int:
    from .commands.watch import run_watch, should_draw

    return run_watch(args.checkpoint, args.episodes, draw=should_draw(args.no_render),
                     realtime=not args.fast, as_json=args.json)


def _cmd_serve(args: argparse.Namespace) -> int:
    from .commands.serve import run

    return run(args)


def _cmd_lessons(args: argparse.Namespace) -> int:
    from .lessons import LESSONS

    for lesson in LESSONS:
        print(f"{lesson.title}\n  pgtui --preset {lesson.preset}\n  {lesson.look_for}\n")
    return 0


def _cmd_exercise(args: argparse.Namespace) -> int:
    from .commands.exercise import run

    return run(args)


def _cmd_app(args: argparse.Namespace) -> int:
    from .rl.envs.registry import check_installed
    from .ui.app import PlaygroundApp

    config = apply_assignments(load_preset(args.preset), args.set)
    for env_id in dict.fromkeys([config.env, *(v.get("env", config.env) for v in config.variants)]):
        check_installed(env_id)  # before the screen opens: a missing extra is one line
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    app = PlaygroundApp(config, preset=args.preset, out=args.out)
    app.run()
    return app.return_code or 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        handler = {"presets": _cmd_presets, "train": _cmd_train, "compare": _cmd_compare,
                   "sweep": _cmd_sweep, "watch": _cmd_watch, "serve": _cmd_serve,
                   "lessons": _cmd_lessons, "exercise": _cmd_exercise}.get(args.command, _cmd_app)
        return handler(args)
    except UsageError as err:
        print(err, file=sys.stderr)
        return 2
    except USAGE_ERRORS as err:
        print("pgtui: " + " ".join(str(err).split()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader left (| head): say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
