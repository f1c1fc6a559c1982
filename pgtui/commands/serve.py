"""`pgtui serve`: checks, the dialogue's models made ready, then the classroom server."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from . import UsageError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


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
    from ..serving.server import ClassroomServer

    if options.host not in LOCAL_HOSTS:
        print(f"pgtui serve: warning: listening on {options.host}: anyone who can reach port "
              f"{options.port} can use the playground (see docs/serve.md)", file=sys.stderr)
    print("pgtui serve: making the dialogue's models ready (fitted once, then cached)…", flush=True)
    prepare_models()
    server = ClassroomServer(options.preset, options.host, options.port,
                             max_sessions=options.max_sessions,
                             idle_timeout_s=options.idle_minutes * 60, trusted=options.trusted,
                             public_url=options.public_url,
                             session_memory=int(options.session_memory_gb * 1024**3) or None)
    server.serve()
    return 0
