"""`pgtui serve --allow-code`: what a hostile visitor's code meets. Each attack is typed
into the served app's editor (`e`, then a paste and ctrl+s) in one session while a
second session trains beside it. The attack is stopped or fails harmlessly, its session
says so in one line (or, past the process limit, is ended with its page saying why),
the other session answers a key within a second, and nothing of it is read or changed."""

import asyncio
import os
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("textual_serve")
from served import Served, Tab, session_processes
from served import answers_within as answers_within_1s

import pgtui
from pgtui.serving import sandbox

pytestmark = [
    pytest.mark.xdist_group("serve"),  # one server at a time: they share the cores
    pytest.mark.skipif(bool(sandbox.missing_tools()), reason="bubblewrap is not installed"),
]

WIDE = 220  # the hostile tab: wide enough for its one-line report
CODE_SECONDS = 5  # the grader's first calls import torch's parts, on busy cores
PASTE, SELECT_ALL, SAVE = "\x1b[200~{}\x1b[201~", "\x1b[18~", "\x13"  # f7 selects all in the editor
HEAD = 'EXERCISE = "pgtui.exercises.reinforce"\n'


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")  # the server's own folder, where its sessions' are made
    with Served("--preset", "cartpole-reinforce-baseline", "--allow-code", "--session-memory", "1",
                "--code-seconds", str(CODE_SECONDS),
                env={"TMPDIR": str(root), "CLASS_TOKEN": "the teacher's"}) as server:
        server.root = root
        yield server


async def open_pair(served: Served) -> tuple[Tab, Tab, int, int]:
    """(the other tab, training; the hostile tab; their session groups)."""
    known = set(session_processes(served.process.pid))
    other = await Tab(served.url).__aenter__()
    await other.wait_for("running")
    (other_group,) = set(session_processes(served.process.pid)) - known
    # the hostile tab is read as bytes: a terminal emulator in this process would slow its
    # reading of the other tab's answers
    bad = await Tab(served.url, width=WIDE, emulate=False).__aenter__()
    await bad.wait_for_bytes(b"running")
    (bad_group,) = set(session_processes(served.process.pid)) - known - {other_group}
    return other, bad, other_group, bad_group


async def submit(tab: Tab, program: str) -> None:
    """Open the editor, wait until the scaffold trains, replace its text with
    ``program``, save: the run reads it at its next update."""
    tab.mark()
    await tab.press("e")
    await tab.wait_for_bytes(b"ctrl+s saves it")
    await tab.wait_for_bytes(b"run: running")
    await tab.press(SELECT_ALL)
    await asyncio.sleep(0.5)  # a key and a paste in one read are taken for one sequence
    await tab.press(PASTE.format(program))
    await asyncio.sleep(0.5)
    tab.mark()
    await tab.press(SAVE)


async def answers_within(tab: Tab, seconds: float = 2.0) -> None:
    """The session answers a key: within 2 s at best of three here, where the suite's other
    worker trains beside the two sessions (their latency is benchmarks/serve_sessions.py's)."""
    await answers_within_1s(tab, seconds)


async def checked(tab: Tab) -> None:
    """The session's check of the saved file has finished (the attack ran there too)."""
    await tab.wait_for_bytes(b"of 12 passed", timeout=180)


async def goes_on(tab: Tab) -> None:
    """The hostile session itself still answers: escape leaves its editor for its run,
    whose screen answers a key."""
    tab.mark()
    await tab.press("\x1b")
    await tab.wait_for_bytes(b"hyperparameters")
    await answers_within(tab, 5.0)


async def close(*tabs: Tab) -> None:
    for tab in tabs:
        await tab.__aexit__(None, None, None)


def report(attempts: str) -> str:
    """A loss that tries ``attempts`` (Python that appends to ``done`` what succeeded),
    then raises with the count: the session shows it as its one line."""
    return HEAD + textwrap.dedent("""
        import os, socket

        def loss(*args):
            done = []
        {attempts}
            raise RuntimeError(f"got through {{len(done)}}: {{done}}")
        """).format(attempts=textwrap.indent(textwrap.dedent(attempts), "    "))


async def test_it_reads_writes_and_connects_to_nothing_outside_its_folder(served):
    secrets = [served.root / "secret.txt", Path.home() / f"pgtui-secret-{os.getpid()}.txt"]
    for secret in secrets:
        secret.write_text("the server's")
    other, bad, other_group, _ = await open_pair(served)
    try:
        others = session_processes(served.process.pid)[other_group]
        own = Path(pgtui.__file__)
        before = own.stat().st_mtime_ns
        # files of the server's, its home's and its checkout's; its own and the others' /proc
        reads = [str(p) for p in (*secrets, Path.cwd() / "README.md", "/etc/passwd", "/etc/shadow")]
        reads += [f"/proc/{pid}/environ" for pid in [served.process.pid, *others]]
        writes = [str(own), str(served.root / "planted"), str(Path.home() / "planted"),
                  str(Path(pgtui.__file__).parent / "planted.py")]
        program = report(f"""
            for path in {reads!r}:
                try:
                    open(path, "rb").read(1)
                    done.append("read " + path)
                except OSError:
                    pass
            here = os.getcwd()
            beside = set(os.listdir(os.path.dirname(here))) - {{os.path.basename(here)}}
            if beside:  # the other sessions' folders, made where its own is
                done.append(f"saw {{sorted(beside)}}")
            for path in {writes!r}:
                try:
                    open(path, "a").write("#")
                    done.append("wrote " + path)
                except OSError:
                    pass
            for address in [("127.0.0.1", {served.port}), ("1.1.1.1", 80)]:
                try:
                    socket.create_connection(address, timeout=2).close()
                    done.append("connected " + str(address))
                except OSError:
                    pass
            if "CLASS_TOKEN" in os.environ:  # the server's variables stay out
                done.append("the server's CLASS_TOKEN")
            pids = [p for p in os.listdir("/proc") if p.isdigit()]
            if len(pids) > 12:  # its own processes, not the machine's
                done.append(f"saw {{len(pids)}} processes")
            """)
        await submit(bad, program)
        await bad.wait_for_bytes(b"got through 0: []", timeout=60)
        await checked(bad)
        assert own.stat().st_mtime_ns == before
        assert [secret.read_text() for secret in secrets] == ["the server's"] * 2
        assert not (served.root / "planted").exists() and not (Path.home() / "planted").exists()
        await answers_within(other)
        await goes_on(bad)
    finally:
        for secret in secrets:
            secret.unlink(missing_ok=True)
        await close(bad, other)


async def test_an_endless_loop_in_the_loss_is_stopped_and_the_run_goes_on(served):
    other, bad, _, _ = await open_pair(served)
    try:
        await submit(bad, HEAD + "\ndef loss(*args):\n    while True:\n        pass\n")
        said = f"ran past the {CODE_SECONDS} s of CPU time one call may take"
        await bad.wait_for_bytes(said.encode(), timeout=60)
        await bad.wait_for_bytes(b"the last good version trains on")
        await checked(bad)
        await answers_within(other)
        await goes_on(bad)
    finally:
        await close(bad, other)


async def test_allocating_without_end_fails_in_one_line(served):
    other, bad, _, _ = await open_pair(served)
    try:
        # address space, not memory: each 1 GB block is mapped, never touched
        await submit(bad, HEAD + "\nimport torch\n\ndef loss(*args):\n    kept = []\n"
                               "    while True:\n        kept.append(torch.empty(2**28))\n")
        await bad.wait_for_bytes(b"can't allocate memory", timeout=60)
        # (its check may end either way: a grader at its address-space limit fails as a whole)
        await answers_within(other)
        await goes_on(bad)
    finally:
        await close(bad, other)


async def test_a_module_that_is_not_installed_is_one_line(served):
    other, bad, _, _ = await open_pair(served)
    try:
        await submit(bad, HEAD + "import surely_not_a_module_here\n")
        await bad.wait_for_bytes(b"No module named 'surely_not_a_module_here'", timeout=60)
        await answers_within(other)
    finally:
        await close(bad, other)


async def test_printing_without_end_leaves_the_page_whole(served):
    other, bad, _, _ = await open_pair(served)
    try:
        await submit(bad, HEAD + "\nimport os, sys\n\ndef loss(*args):\n"
                               "    for _ in range(256):\n        print('x' * 2**20)\n"
                               "        os.write(1, b'\\x1b[2J' * 2**16)\n"
                               "    raise RuntimeError('printed 256 MB')\n")
        await bad.wait_for_bytes(b"printed 256 MB", timeout=90)
        await checked(bad)
        await goes_on(bad)  # its page still draws and answers
        await answers_within(other)
    finally:
        await close(bad, other)


async def test_forking_without_end_ends_that_session_alone(served):
    other, bad, _, bad_group = await open_pair(served)
    try:
        await submit(bad, HEAD + "\nimport os, time\n\ndef loss(*args):\n    while True:\n"
                               "        if os.fork() == 0:\n            time.sleep(60)\n"
                               "            os._exit(0)\n")
        for _ in range(600):
            if bad.closed:
                break
            await asyncio.sleep(0.1)
        assert "processes, more than a session runs" in bad.close_reason
        await answers_within(other)
        for _ in range(50):  # its processes, forked ones included, are gone
            if bad_group not in session_processes(served.process.pid):
                break
            await asyncio.sleep(0.1)
        assert bad_group not in session_processes(served.process.pid)
        assert os.path.exists(f"/proc/{served.process.pid}")
        fresh = await Tab(served.url).__aenter__()  # and its place is free for the next visitor
        await fresh.wait_for("running")
        await close(fresh)
    finally:
        await close(bad, other)
