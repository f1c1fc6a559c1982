"""An exercise's answer, edited in the playground (the `e` key): Textual's TextArea with
Python highlighting. A save (ctrl+s) writes the file, which the run on the train screen
reads at its next update, as `pgtui exercise play` does, and grades it in a process of
its own; the verdicts show beside the code and the run's last word on it below."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, TextArea

from ... import lockdown
from ...processes import CheckResult, check_answer
from ...rl.events import Resume
from ..widgets.steady_footer import SteadyFooter

MARKS = {"passed": ("✓", "green"), "failed": ("✗", "red"), "not started": ("·", "dim")}
RUN_POLL_S = 0.5


def verdict_text(result: CheckResult) -> Text:
    """A check's verdicts, one line each, failures with their message and hint; or the
    one line that says why there are none."""
    if result.code is None:
        return Text("the checks ran past their time and were ended (an endless loop?)", style="red")
    try:
        summary = json.loads(result.output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        said = " ".join(result.errors.split()) or "the checks said nothing"
        return Text(said[:400], style="red")
    text = Text()
    text.append(f"{summary['passed']} of {summary['of']} passed\n\n", style="bold")
    for verdict in summary["verdicts"]:
        mark, style = MARKS.get(verdict["status"], ("?", ""))
        text.append(f"{mark} ", style=style)
        text.append(f"{verdict['function']}\n")
        if verdict["status"] == "failed":
            text.append(f"  {verdict['message']}\n", style="red")
            if verdict["hint"]:
                text.append(f"  hint: {verdict['hint']}\n", style="dim")
    return text


class EditorScreen(Screen):
    """The answer's file: ctrl+s saves and checks it, f2 downloads it, escape goes back."""

    BINDINGS = [
        Binding("ctrl+s", "save", "save and check"),
        Binding("f2", "download", "download"),
        Binding("escape", "leave", "back to the run", priority=True),  # before the editor's own
        Binding("ctrl+home", "to_start", "start of the file", show=False),
        Binding("ctrl+end", "to_end", "end of the file", show=False),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.saved = path.read_text(encoding="utf-8")
        self.warned = False  # escape once with unsaved changes: told; twice: left
        self.saves = 0  # a check's verdicts show only if no later save was checked since

    def compose(self) -> ComposeResult:
        yield Static(f"{self.path.name}: ctrl+s saves it (the run takes it at its next update) "
                     "and checks it", id="editor-title")
        with Horizontal(id="editor-body"):
            area = TextArea.code_editor(self.saved, id="code")
            if "python" in area.available_languages:
                area.language = "python"
            yield area
            with VerticalScroll(id="checks-pane", can_focus=False):  # keys stay the code's
                yield Static("the checks show here after a save", id="checks")
        yield Static("", id="run-line")
        yield Static("", id="code-note")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.query_one("#code", TextArea).focus()
        self.set_interval(RUN_POLL_S, self.show_run)

    @property
    def text(self) -> str:
        return self.query_one("#code", TextArea).text

    def show_run(self) -> None:
        """The run's status and its last word on the code (a version taken, or its error)."""
        state = self.app.state
        mean = state.mean100
        own = state.stats.get("own_functions")
        line = Text(f"run: {state.status} · step {state.global_step:,}"
                    + (f" · mean of the last 100 returns {mean:.1f}" if mean is not None else "")
                    + (f" · your functions: {own:.0f}" if own is not None else ""))
        self.query_one("#run-line", Static).update(line)
        self.query_one("#code-note", Static).update(Text(state.code_note or "", style="yellow"))

    def action_to_start(self) -> None:
        self.query_one("#code", TextArea).move_cursor((0, 0))

    def action_to_end(self) -> None:
        area = self.query_one("#code", TextArea)
        area.move_cursor(area.document.end)

    def action_save(self) -> None:
        text = self.text
        try:
            self.path.write_text(text, encoding="utf-8")
        except OSError as err:
            self.notify(f"not saved: {err}", severity="error")
            return
        self.saved, self.warned = text, False
        state, screen = self.app.state, self.app.train_screen
        if state.paused_by_error and screen is not None:  # a run its code had paused tries again
            screen.send(Resume())
        elif state.status == "finished":  # nothing trains to take the save: a new run does
            self.app.start_run(self.app.config)
            self.notify(f"the run had finished: a new one trains {self.path.name}")
        self.saves += 1
        self.query_one("#checks", Static).update(Text("checking…", style="dim"))
        self.check(self.saves)

    @work(thread=True, group="check")
    def check(self, save: int) -> None:
        result = check_answer(self.path)
        self.app.call_from_thread(self._show_checks, save, verdict_text(result))

    def _show_checks(self, save: int, verdicts: Text) -> None:
        if save == self.saves:  # a later save's check is on its way
            self.query_one("#checks", Static).update(verdicts)

    def action_download(self) -> None:
        """The file as saved: to the browser in a served session, else where it is."""
        if lockdown.served():
            self.app.deliver_text(io.StringIO(self.saved), save_filename=self.path.name)
            self.notify(f"your browser downloads {self.path.name} (as last saved)")
        else:
            self.notify(f"{self.path.name} is at {self.path.resolve()}")

    def action_leave(self) -> None:
        if self.text != self.saved and not self.warned:
            self.warned = True
            self.notify("unsaved changes: ctrl+s saves them, escape again leaves without")
            return
        self.app.pop_screen()
