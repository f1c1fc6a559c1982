"""`pgtui serve`: the playground in a browser, one session per tab, for a classroom.

textual-serve (by Textual's authors) serves the page and relays each tab's websocket to
a process of its own; this server adds what a classroom needs: at most
``max_sessions`` at once (the next visitor gets a page that says the class is full),
sessions that end when their tab closes or sits idle, locked-down sessions
(``lockdown.py``), the page's font served locally, and every session ended on Ctrl+C.

One visitor must not take the others' server down: a session's screen size is bounded,
its processes and memory are watched (over the limit, it alone ends, and its page says
why), and a connection must finish its request within seconds, with at most a class's
worth of connections from one address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import textual_serve
from aiohttp import WSMsgType, web
from textual_serve.server import Server, to_int

from .sandbox import Limits
from .sessions import Session, Usage, group_usage

log = logging.getLogger("pgtui-serve")

TEMPLATES = Path(__file__).parent / "templates"
HEARTBEAT_S = 15.0  # a browser gone without closing its tab is noticed within ~2x this
WATCH_PERIOD_S = 1.0  # how often a session's processes and memory are read
HEADER_TIMEOUT_S = 10.0  # a connection that has sent no whole request by then is closed
SHUTDOWN_S = 2.0  # on Ctrl+C, requests still open get this long (aiohttp's default: 60 s)
CONNECTIONS_PER_SESSION = 8  # a tab's websocket and a page load's (a browser opens up to 6)
GB = 1024**3
ADDRESS_SPACE_MARGIN = 2 * GB  # a process maps more than it holds (libraries, thread stacks)
# the largest screen a session draws: a 4K display at a 7-pixel font is about 550 x 200
# cells; the screen's memory grows with its area (100,000 x 100,000 took 4 GB)
MAX_COLUMNS, MAX_ROWS = 640, 240
STATICS = Path(textual_serve.__file__).parent / "static"  # textual.js, xterm.css, the font


class ClassroomServer(Server):
    """A textual-serve server of ``pgtui --preset PRESET`` with session limits."""

    def __init__(self, preset: str, host: str = "127.0.0.1", port: int = 8000, *,
                 max_sessions: int = 4, idle_timeout_s: float = 1800.0, trusted: bool = False,
                 public_url: str | None = None, session_memory: int | None = None,
                 allow_code: bool = False, sandbox: dict | None = None,
                 code_seconds: float | None = None) -> None:
        """``session_memory``: the bytes a session's processes may hold together (None:
        no limit). ``allow_code``: each session runs sandboxed, with ``sandbox``'s limits
        (``Limits``' fields; the rest its defaults), and may run a visitor's code."""
        self.argv = [sys.executable, "-m", "pgtui", "--preset", preset]
        super().__init__(" ".join(self.argv), host=host, port=port, title=f"pgtui · {preset}",
                         public_url=public_url, statics_path=STATICS, templates_path=TEMPLATES)
        self.preset = preset
        self.given_public_url = public_url
        self.max_sessions = max_sessions
        self.idle_timeout_s = idle_timeout_s
        self.trusted = trusted
        self.session_memory = session_memory
        self.sandbox = Limits(**(sandbox or {})) if allow_code else None
        self.code_seconds = code_seconds
        self.root = Path(tempfile.mkdtemp(prefix="pgtui-serve-"))
        self.sessions: dict[str, Session] = {}
        self.refused = 0  # visitors turned away because the class was full

    @property
    def full(self) -> bool:
        return len(self.sessions) >= self.max_sessions

    def initialize_logging(self) -> None:
        logging.basicConfig(level="INFO", format="%(message)s")

    async def on_startup(self, app: web.Application) -> None:
        mode = "trusted" if self.trusted else "locked down"
        if self.sandbox is not None:
            mode += ", code allowed: each session sandboxed"
        memory = (f"{self.session_memory / GB:g} GB" if self.session_memory else "no memory limit")
        print(f"pgtui serve: {self.preset} on {self.public_url} ({mode}, at most "
              f"{self.max_sessions} sessions of {memory} each, idle ones end after "
              f"{self.idle_timeout_s / 60:g} min); Ctrl+C stops it", flush=True)
        if self.session_memory and group_usage(os.getpgrp()) is None:
            print("pgtui serve: warning: this system has no /proc to read a session's memory "
                  "from: sessions run without the memory limit", file=sys.stderr, flush=True)

    async def on_shutdown(self, app: web.Application) -> None:
        running = list(self.sessions.values())
        await asyncio.gather(*(s.stop() for s in running), return_exceptions=True)
        shutil.rmtree(self.root, ignore_errors=True)
        print(f"pgtui serve: stopped; {len(running)} sessions ended, {self.refused} visitors were "
              "turned away while the class was full", flush=True)

    async def handle_index(self, request: web.Request) -> web.Response:
        if self.full:
            self.refused += 1
            return aiohttp_jinja2.render_template(
                "full.html", request, {"sessions": self.max_sessions, "title": self.title}, status=503)
        return aiohttp_jinja2.render_template("app_index.html", request, self._page(request))

    def _page(self, request: web.Request) -> dict[str, Any]:
        router = request.app.router
        # the URL the visitor reached, unless the server was told its public one
        base = self.given_public_url or f"{request.scheme}://{request.host}"
        static = f"{base}{router['static'].url_for(filename='/')}".rstrip("/") + "/"
        websocket = f"{base}{router['websocket'].url_for()}"
        scheme = "wss:" if base.startswith("https") else "ws:"
        return {"title": self.title, "static": static,
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "websocket": scheme + websocket.split(":", 1)[1]}

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        if self.full:  # a second tab that raced for the last place
            self.refused += 1
            return web.Response(status=503, text="the class is full")
        websocket = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
        await websocket.prepare(request)
        # a locked-down session's processes each map at most its memory and a margin (its
        # CUDA, which maps far more, is a trusted session's only)
        address_space = (self.session_memory + ADDRESS_SPACE_MARGIN
                         if self.session_memory and not self.trusted else None)
        session = Session(self.argv, self.root, self.trusted, memory_limit=address_space,
                          sandbox=self.sandbox, code_seconds=self.code_seconds,
                          write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                          close=websocket.close, download_manager=self.download_manager)
        self.sessions[session.app_service_id] = session
        watchdog = asyncio.create_task(self._watch(session, websocket))
        try:
            try:
                size = terminal_size(request.query.get("width", 80), request.query.get("height", 24))
            except ValueError as err:
                log.info("session %s: %s; it starts at 80 x 24", session.app_service_id, err)
                size = 80, 24
            await session.start(*size)
            await self._relay(websocket, session)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # one session's failure must not take the server down
            log.exception(error)
        finally:
            watchdog.cancel()
            await session.stop()
            self.sessions.pop(session.app_service_id, None)
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    async def _relay(self, websocket: web.WebSocketResponse, session: Session) -> None:
        """The page's messages to the session, as textual-serve relays them."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                await self._handle(websocket, session, *message.json())
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # not a message the page sends: ignored

    async def _handle(self, websocket: web.WebSocketResponse, session: Session, kind: str,
                      data: Any = None) -> None:
        if kind == "stdin":
            session.touched()
            await session.send_bytes(data.encode("utf-8"))
        elif kind == "resize":
            session.touched()
            try:
                size = terminal_size(data["width"], data["height"])
            except ValueError as err:
                log.info("session %s: %s; ignored", session.app_service_id, err)
                return
            await session.set_terminal_size(*size)
        elif kind == "ping":
            await websocket.send_json(["pong", data])
        elif kind == "blur":
            await session.blur()
        elif kind == "focus":
            await session.focus()

    async def _watch(self, session: Session, websocket: web.WebSocketResponse) -> None:
        """Close the tab's websocket, which ends the session, once no key, click or
        resize came for the idle timeout (training on its own is not activity), or its
        processes hold more memory than a session may, or are more than a session runs.
        The page shows why."""
        peak = Usage(0, 0)
        try:
            while True:
                await asyncio.sleep(min(self.idle_timeout_s / 4, WATCH_PERIOD_S))
                # read off the event loop: /proc holds every process of the machine
                usage = await asyncio.to_thread(group_usage, session.pid) if session.pid else None
                if usage is not None:
                    peak = Usage(max(peak.processes, usage.processes), max(peak.memory, usage.memory))
                reason = self._end_reason(session, usage)
                if reason:
                    log.info("session %s: %s", session.app_service_id, reason)
                    said = f"This session has ended: {reason}."
                    # said first as a message, which the close cannot overtake: a close
                    # frame's reason is lost where the connection ends before it goes out
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await websocket.send_json(["ended", said])
                    # the relay's end cancels this task; the close must not stop half-way
                    await asyncio.shield(websocket.close(message=said.encode()))
                    return
        finally:
            log.info("session %s: at most %d processes and %.2f GB", session.app_service_id,
                     peak.processes, peak.memory / GB)

    def _end_reason(self, session: Session, usage: Usage | None) -> str | None:
        if time.monotonic() - session.last_input > self.idle_timeout_s:
            return f"its tab was idle for {self.idle_timeout_s / 60:g} minutes"
        if usage is None:
            return None
        if self.session_memory and usage.memory > self.session_memory:
            return (f"it used {usage.memory / GB:.1f} GB of memory, more than the "
                    f"{self.session_memory / GB:g} GB a session may use")
        if usage.processes > session.most_processes:
            return f"it ran {usage.processes} processes, more than a session runs"
        return None

    def serve(self, debug: bool = False) -> None:
        """Serve until Ctrl+C (or SIGTERM), as textual-serve does, with aiohttp's limits
        on slow and many connections."""
        self.initialize_logging()
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # aiohttp closes a connection that sent no whole request within its keep-alive
        # timeout (75 s by default): a few hundred that never finish their headers would
        # otherwise hold the server's sockets that long
        runner = _AddressLimitedRunner(await self._make_app(), keepalive_timeout=HEADER_TIMEOUT_S,
                                       per_address=CONNECTIONS_PER_SESSION * self.max_sessions,
                                       shutdown_timeout=SHUTDOWN_S)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
            await stop.wait()
        finally:
            await runner.cleanup()


class _AddressLimitedServer(web.Server):
    """aiohttp's server, closing at once a connection from an address that holds
    ``per_address`` already: a browser behind one address (a class behind one NAT or one
    proxy included) never needs more, a flood gets no more."""

    per_address: int
    by_address: Counter
    address_of: dict

    def connection_made(self, handler: Any, transport: asyncio.Transport) -> None:
        address = (transport.get_extra_info("peername") or ("unknown",))[0]
        self.address_of[handler] = address
        self.by_address[address] += 1
        super().connection_made(handler, transport)
        if self.by_address[address] > self.per_address:  # closed once aiohttp has set it up
            asyncio.get_running_loop().call_soon(handler.force_close)

    def connection_lost(self, handler: Any, exc: BaseException | None = None) -> None:
        address = self.address_of.pop(handler, None)
        if address is not None:
            self.by_address[address] -= 1
            if not self.by_address[address]:
                del self.by_address[address]
        super().connection_lost(handler, exc)


class _AddressLimitedRunner(web.AppRunner):
    def __init__(self, app: web.Application, *, per_address: int, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.per_address = per_address

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _AddressLimitedServer  # the same server, that counts by address
        server.per_address, server.by_address, server.address_of = self.per_address, Counter(), {}
        return server


def terminal_size(width: Any, height: Any) -> tuple[int, int]:
    """A page's terminal size in cells (numbers, or text as a URL's query has them), each
    at most what a browser can show; ValueError for what is no size at all."""
    return _cells(width, MAX_COLUMNS, "width"), _cells(height, MAX_ROWS, "height")


def _cells(value: Any, most: int, name: str) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
        if not (math.isfinite(number) and number >= 1 and number == int(number)):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"a terminal {name} of {str(value)[:20]!r} is not a size in cells") from None
    return min(int(number), most)
