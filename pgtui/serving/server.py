"""`pgtui serve`: the playground in a browser, one session per tab, for a classroom.

textual-serve (by Textual's authors) serves the page and relays each tab's websocket to
a process of its own; this server adds what a classroom needs: at most
``max_sessions`` at once (the next visitor gets a page that says the class is full),
sessions that end when their tab closes or sits idle, locked-down sessions
(``lockdown.py``), the page's font served locally, and every session ended on Ctrl+C.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import textual_serve
from aiohttp import WSMsgType, web
from textual_serve.server import Server, to_int

from .sessions import Session

log = logging.getLogger("pgtui-serve")

TEMPLATES = Path(__file__).parent / "templates"
HEARTBEAT_S = 15.0  # a browser gone without closing its tab is noticed within ~2x this
STATICS = Path(textual_serve.__file__).parent / "static"  # textual.js, xterm.css, the font


class ClassroomServer(Server):
    """A textual-serve server of ``pgtui --preset PRESET`` with session limits."""

    def __init__(self, preset: str, host: str = "127.0.0.1", port: int = 8000, *,
                 max_sessions: int = 4, idle_timeout_s: float = 1800.0, trusted: bool = False,
                 public_url: str | None = None) -> None:
        self.argv = [sys.executable, "-m", "pgtui", "--preset", preset]
        super().__init__(" ".join(self.argv), host=host, port=port, title=f"pgtui · {preset}",
                         public_url=public_url, statics_path=STATICS, templates_path=TEMPLATES)
        self.preset = preset
        self.given_public_url = public_url
        self.max_sessions = max_sessions
        self.idle_timeout_s = idle_timeout_s
        self.trusted = trusted
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
        print(f"pgtui serve: {self.preset} on {self.public_url} ({mode}, at most "
              f"{self.max_sessions} sessions, idle ones end after {self.idle_timeout_s / 60:g} min); "
              "Ctrl+C stops it", flush=True)

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
                "websocket": scheme + websocket.split(":", 1)[1],
                "idle_minutes": f"{self.idle_timeout_s / 60:g}"}

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        if self.full:  # a second tab that raced for the last place
            self.refused += 1
            return web.Response(status=503, text="the class is full")
        websocket = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
        await websocket.prepare(request)
        session = Session(self.argv, self.root, self.trusted, write_bytes=websocket.send_bytes,
                          write_str=websocket.send_str, close=websocket.close,
                          download_manager=self.download_manager)
        self.sessions[session.app_service_id] = session
        watchdog = asyncio.create_task(self._end_when_idle(session, websocket))
        try:
            await session.start(to_int(request.query.get("width", "80"), 80),
                                to_int(request.query.get("height", "24"), 24))
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
            await session.set_terminal_size(int(data["width"]), int(data["height"]))
        elif kind == "ping":
            await websocket.send_json(["pong", data])
        elif kind == "blur":
            await session.blur()
        elif kind == "focus":
            await session.focus()

    async def _end_when_idle(self, session: Session, websocket: web.WebSocketResponse) -> None:
        """Close the tab's websocket once no key, click or resize came for the timeout
        (training on its own is not activity); the session then ends."""
        while True:
            await asyncio.sleep(min(self.idle_timeout_s / 4, 5.0))
            if time.monotonic() - session.last_input > self.idle_timeout_s:
                log.info("session %s idle for %g s: ended", session.app_service_id, self.idle_timeout_s)
                await websocket.close(message=b"idle")
                return
