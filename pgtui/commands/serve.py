"""`pgtui serve`: its command line, checks, the dialogue's models made ready, then the
classroom server."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

from . import UsageError
from .arguments import int_at_least, non_negative_float, positive_float, positive_int

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# one served session per core: measured on 2 cores (benchmarks/serve_sessions.py), two
# sessions all training answer a key within 76 ms at p95, three within 234 ms
DEFAULT_SESSIONS = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                       else os.cpu_count() or 1)
# a served session's memory (PSS of its processes, benchmarks/serve_memory.py): a single
# run held 0.3 GB, the widest shipped race (five variants) 1.6 GB, about 0.29 GB a
# variant; the most a session may open, a race of six beside its paused run, comes to
# about 2.2 GB
DEFAULT_SESSION_MEMORY_GB = 3.0


@dataclass
class ServeOptions:
    preset: str
    host: str
    port: int
    max_sessions: int
    idle_minutes: float
    public_url: str | None
    trusted: bool
    session_memory_gb: float = 0.0  # 0: no limit
    allow_code: bool = False
    sandbox: dict = field(default_factory=dict)  # sandbox.Limits' fields, where given
    code_seconds: float | None = None


def configure(parser: argparse.ArgumentParser, default_preset: str) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int_at_least(1, "a port number"), default=8000,
                        help="port (8000)")
    parser.add_argument("--preset", default=default_preset, help="the shipped preset every tab opens")
    parser.add_argument("--max-sessions", type=positive_int, default=DEFAULT_SESSIONS,
                        help=f"playgrounds at once, the next visitor told the class is full "
                             f"(one per core: {DEFAULT_SESSIONS})")
    parser.add_argument("--idle-minutes", type=positive_float, default=30.0,
                        help="end a session after this long without a key or click (30)")
    parser.add_argument("--session-memory", type=non_negative_float, default=DEFAULT_SESSION_MEMORY_GB,
                        metavar="GB", help="end a session whose processes hold more memory than "
                        f"this, 0 for no limit ({DEFAULT_SESSION_MEMORY_GB:g})")
    parser.add_argument("--public-url", help="the URL visitors use, behind a reverse proxy")
    parser.add_argument("--trusted", action="store_true",
                        help="lift the lockdown (preset paths, module:EnvId, caps): your own machine only")
    code = parser.add_argument_group("code (--allow-code: each session sandboxed, see docs/serve.md)")
    code.add_argument("--allow-code", action="store_true",
                      help="let each session write and run an exercise's code, in a sandbox "
                           "(needs bubblewrap)")
    from ..exercises.limits import DEFAULT_CODE_SECONDS
    from ..serving.sandbox import MB, Limits

    defaults = Limits()
    code.add_argument("--sandbox-tasks", type=positive_int, metavar="N",
                      help=f"processes and threads a session may run ({defaults.tasks})")
    code.add_argument("--sandbox-files", type=positive_int, metavar="N",
                      help=f"files each of its processes may hold open ({defaults.open_files})")
    code.add_argument("--sandbox-disk", type=positive_int, metavar="MB",
                      help=f"what its folder may hold, in memory ({defaults.disk // MB})")
    code.add_argument("--code-seconds", type=positive_float, metavar="S",
                      help=f"the CPU time one call of a session's code may use before its run "
                           f"pauses ({DEFAULT_CODE_SECONDS:g})")


def run(args: argparse.Namespace) -> int:
    from .. import lockdown
    from ..preset_files import load_preset, preset_names

    require_textual_serve()
    if not args.trusted and (why := lockdown.preset_error(args.preset, preset_names())):
        raise UsageError(f"pgtui serve: {why}")
    load_preset(args.preset)  # a bad preset is one line now, not in every tab
    if args.port > 65535:
        raise UsageError(f"pgtui serve: --port: expected a port number, got {args.port}")
    sandbox = {name: value for name, value in (("tasks", args.sandbox_tasks),
                                              ("open_files", args.sandbox_files),
                                              ("disk", args.sandbox_disk and args.sandbox_disk * 1024**2))
               if value is not None}
    if (sandbox or args.code_seconds) and not args.allow_code:
        raise UsageError("pgtui serve: --sandbox-* and --code-seconds set the limits of "
                         "--allow-code, which is not given")
    return run_serve(ServeOptions(args.preset, args.host, args.port, args.max_sessions,
                                  args.idle_minutes, args.public_url, args.trusted,
                                  args.session_memory, args.allow_code, sandbox, args.code_seconds))


def require_textual_serve() -> None:
    """A missing extra is one line and exit 2, before anything starts."""
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        raise UsageError("pgtui serve needs textual-serve, which is not installed: "
                         "pip install 'pgtui[serve]'") from None


def prepare_models() -> None:
    """Fit (or read) the dialogue's reference policy and the reward models its shipped
    presets use, into the cache the sessions read: a locked-down session writes none."""
    from .. import tasks
    from ..preset_files import load_preset, preset_names

    configs = []
    for name in preset_names():
        config = load_preset(name)
        configs += [config.replace(**{k: v for k, v in variant.items() if k != "name"})
                    for variant in config.variants] or [config]
    tasks.prepare(configs)


def run_serve(options: ServeOptions) -> int:
    from ..serving.sandbox import SandboxError, check
    from ..serving.server import ClassroomServer

    if options.allow_code:
        try:
            check()
        except SandboxError as err:
            raise UsageError(f"pgtui serve: {err}") from None
    if options.host not in LOCAL_HOSTS:
        print(f"pgtui serve: warning: listening on {options.host}: anyone who can reach port "
              f"{options.port} can use the playground (see docs/serve.md)", file=sys.stderr)
    print("pgtui serve: making the dialogue's models ready (fitted once, then cached)…", flush=True)
    prepare_models()
    if options.allow_code:  # its sessions run as users of their own: they read the cache as others
        from ..tasks.rlhf.models import share_cache

        share_cache()
    server = ClassroomServer(options.preset, options.host, options.port,
                             max_sessions=options.max_sessions,
                             idle_timeout_s=options.idle_minutes * 60, trusted=options.trusted,
                             public_url=options.public_url,
                             session_memory=int(options.session_memory_gb * 1024**3) or None,
                             allow_code=options.allow_code, sandbox=options.sandbox,
                             code_seconds=options.code_seconds)
    server.serve()
    return 0
