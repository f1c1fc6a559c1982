"""A served pgtui for the tests and the benchmark: the real `pgtui serve` command in a
process group of its own, and tabs that speak textual-serve's websocket protocol as the
page does, their screens read back by a terminal emulator (pyte)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pyte
from cli_helpers import pgtui_command

WIDTH, HEIGHT = 120, 36


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """``pgtui serve`` on a free port, stopped (with every session) on exit."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # a test's own limit, not one that depends on the machine's cores
        limit = [] if "--max-sessions" in args else ["--max-sessions", "4"]
        self.args = ["serve", "--port", str(self.port), *limit, *args]
        self.env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}

    def __enter__(self) -> Served:
        self.process = subprocess.Popen([*pgtui_command(), *self.args], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=self.env,
                                        start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgtui serve ended: {self.process.stdout.read()}")
            try:
                urllib.request.urlopen(self.url, timeout=2).read()
                return self
            except urllib.error.HTTPError:
                return self  # it answers (the class may already be full)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError("pgtui serve did not answer within 120 s")

    def interrupt(self, timeout: float = 30) -> int:
        """Ctrl+C, as a person stops it; its exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout)

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.interrupt()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


class Tab:
    """One browser tab's session, driven over the websocket as the page drives it."""

    def __init__(self, url: str, width: int = WIDTH, height: int = HEIGHT, emulate: bool = True) -> None:
        """``emulate``: replay the bytes into a terminal emulator, for ``text`` (a
        benchmark of many tabs reads the raw bytes instead: pyte is slow)."""
        self.ws_url = url.replace("http", "ws", 1) + f"/ws?width={width}&height={height}"
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.ByteStream(self.screen)
        self.emulate = emulate
        self.since_mark = bytearray()  # what arrived since ``mark``
        self.messages: list = []  # the server's JSON messages to the page (downloads...)
        self.closed = False
        self.close_reason = ""  # why the server ended the session, as the page shows it
        self.first_byte: float | None = None
        self.received_at = 0.0

    async def __aenter__(self) -> Tab:
        self.http = aiohttp.ClientSession()
        self.opened = time.monotonic()
        self.ws = await self.http.ws_connect(self.ws_url)
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        while True:
            message = await self.ws.receive()
            if message.type == aiohttp.WSMsgType.CLOSE:
                self.close_reason = message.extra or ""
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                                aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
            if message.type == aiohttp.WSMsgType.TEXT:
                self.messages.append(json.loads(message.data))
            elif message.type == aiohttp.WSMsgType.BINARY:
                self.received_at = time.monotonic()
                if self.first_byte is None:
                    self.first_byte = self.received_at
                if self.emulate:
                    self.stream.feed(message.data)
                self.since_mark += message.data
        self.closed = True

    def mark(self) -> None:
        self.since_mark = bytearray()

    async def wait_for_bytes(self, needle: bytes, timeout: float = 60) -> float:
        """Seconds until ``needle`` arrives in the stream after the last ``mark``."""
        start = time.monotonic()
        while needle not in self.since_mark:
            if time.monotonic() - start > timeout or self.closed:
                raise AssertionError(f"{needle!r} did not arrive")
            await asyncio.sleep(0.002)
        return time.monotonic() - start

    def text(self) -> str:
        return "\n".join(self.screen.display)

    async def wait_for(self, needle: str, timeout: float = 60) -> float:
        """Seconds until ``needle`` is on the screen."""
        start = time.monotonic()
        while needle not in self.text():
            if time.monotonic() - start > timeout or self.closed:
                raise AssertionError(f"{needle!r} not on the screen:\n{self.text()}")
            await asyncio.sleep(0.05)
        return time.monotonic() - start

    async def press(self, keys: str) -> None:
        await self.ws.send_str(json.dumps(["stdin", keys]))

    async def close(self) -> None:
        await self.ws.close()
        self.closed = True

    async def __aexit__(self, *exc) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self.reader.cancel()
        await self.http.close()


def session_processes(pid_of_server: int) -> dict[int, list[int]]:
    """The server's sessions, as {session group id: its live (not zombie) processes}."""
    groups: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, ppid, pgid = fields[0], int(fields[1]), int(fields[2])
        if state != "Z":
            groups.setdefault(pgid, []).append(int(entry.name))
            groups.setdefault(-1, [])
            if ppid == pid_of_server:
                groups[-1].append(pgid)  # the groups the server itself started
    leaders = set(groups.pop(-1, []))
    return {g: pids for g, pids in groups.items() if g in leaders}


async def answers_within(tab: Tab, seconds: float = 1.0, tries: int = 3) -> None:
    """The tab's screen answers a key within ``seconds``, at best of ``tries`` (the other
    tests' processes share these cores): ``L`` opens the lessons' list (whether its run
    trains or has finished), escape closes it."""
    latencies = []
    for _ in range(tries):
        tab.mark()
        await tab.press("L")
        latencies.append(await tab.wait_for_bytes(b"The lessons' exercises"))
        await tab.press("\x1b")
        await asyncio.sleep(0.3)
        if latencies[-1] < seconds:
            return
    raise AssertionError(f"the session took {min(latencies):.2f} s at best to answer a key")


def server_memory(served: Served) -> int:
    usage = Path(f"/proc/{served.process.pid}/smaps_rollup").read_text()
    return next(int(line.split()[1]) * 1024 for line in usage.splitlines() if line.startswith("Pss:"))


async def two_sessions(served: Served, **hostile) -> tuple[Tab, Tab, int, int]:
    """(the other tab, the hostile tab, their session groups): the other first, training."""
    other = await Tab(served.url).__aenter__()
    await other.wait_for("running")
    (other_group,) = session_processes(served.process.pid)
    bad = await Tab(served.url, emulate=False, **hostile).__aenter__()
    await bad.wait_for_bytes(b"running")
    (bad_group,) = set(session_processes(served.process.pid)) - {other_group}
    return other, bad, other_group, bad_group
