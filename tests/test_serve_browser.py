"""The served playground in a real browser: Debian's chromium, headless, driven by
Selenium through its chromedriver. The page draws the terminal on a canvas, so what it
shows is read from the bytes its websocket received (recorded by a script added before
the page's own), replayed into a terminal emulator of the same size.

``PGTUI_SERVE_SCREENSHOT=docs/serve.png`` writes the README's screenshot."""

import base64
import os
import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("textual_serve")
webdriver = pytest.importorskip("selenium.webdriver")
import pyte  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from served import Served, session_processes  # noqa: E402

pytestmark = [pytest.mark.xdist_group("serve"),
              pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                                 reason="needs Debian's chromium and chromium-driver (apt)")]

# before the page's scripts: keep every binary websocket message, and the size asked for
RECORD = """
window.pgtuiFrames = []; window.pgtuiSize = null;
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const socket = new Native(url, protocols);
  const query = new URL(url).searchParams;
  window.pgtuiSize = [Number(query.get('width')), Number(query.get('height'))];
  socket.addEventListener('message', (event) => {
    if (typeof event.data !== 'string') {
      const bytes = new Uint8Array(event.data);
      let text = '';
      for (const b of bytes) text += String.fromCharCode(b);
      window.pgtuiFrames.push(btoa(text));
    }
  });
  return socket;
};
window.WebSocket.prototype = Native.prototype;
"""


class Page:
    """One browser tab on the served playground."""

    def __init__(self, driver) -> None:
        self.driver = driver
        self.screen: pyte.Screen | None = None
        self.read = 0  # the frames fed to the emulator so far

    def text(self) -> str:
        if self.screen is None:
            size = self.driver.execute_script("return window.pgtuiSize")
            if not size:
                return ""
            self.screen = pyte.Screen(*size)
            self.stream = pyte.ByteStream(self.screen)
        frames = self.driver.execute_script(f"return window.pgtuiFrames.slice({self.read})")
        self.read += len(frames)
        for frame in frames:
            self.stream.feed(base64.b64decode(frame))
        return "\n".join(self.screen.display)

    def wait_for(self, needle: str, timeout: float = 60) -> float:
        start = time.monotonic()
        while needle not in self.text():
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{needle!r} not in the page:\n{self.text()}")
            time.sleep(0.2)
        return time.monotonic() - start

    def press(self, *keys: str) -> None:
        """Keys as a person types them into the focused page."""
        if not self.driver.execute_script(
                "return document.activeElement.classList.contains('xterm-helper-textarea')"):
            self.driver.find_element("css selector", ".xterm-screen").click()  # focus the terminal
        for key in keys:
            ActionChains(self.driver).send_keys(key).perform()
            time.sleep(0.3)


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


def open_tab(driver, url: str) -> str:
    """A new tab on ``url``, recording what its websocket receives; its handle."""
    driver.switch_to.new_window("tab")
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD})
    driver.get(url)
    return driver.current_window_handle


def test_a_browser_tab_draws_the_playground_answers_keys_races_and_ends_when_closed(browser, tmp_path):
    with Served("--preset", "cartpole-reinforce-baseline") as served:
        first = browser.current_window_handle
        open_tab(browser, served.url)
        page = Page(browser)
        page.wait_for("hyperparameters")
        page.wait_for("CartPole-v1")
        page.wait_for("step")
        assert "googleapis" not in browser.page_source  # nothing fetched from the internet
        (group,) = session_processes(served.process.pid)

        # keys first, while the run trains (unloaded, it finishes its 1M steps in 40 s)
        page.press(" ")
        page.wait_for("paused")
        page.press(" ")
        page.wait_for("running")
        # the baseline: tab to its select, open it (its list shows the last choice,
        # optimal), one down (value -> optimal), choose
        page.press(Keys.TAB, Keys.TAB, Keys.TAB, Keys.ENTER)
        page.wait_for("optimal")
        page.press(Keys.ARROW_DOWN, Keys.ENTER)
        page.wait_for("applied baseline: value →")

        page.press(Keys.ESCAPE)
        page.wait_for("episode returns")
        time.sleep(2)  # let the cart move and the curve grow, for the screenshot
        shot = Path(os.environ.get("PGTUI_SERVE_SCREENSHOT", tmp_path / "served.png"))
        browser.save_screenshot(str(shot))  # docs/serve.png is one of these
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

        page.press("c")  # a race preset: the first listed, chain-estimators
        page.wait_for("Pick a race preset")
        page.press(Keys.ENTER)
        page.wait_for("chain-estimators")
        page.wait_for("keys act on")

        browser.close()  # the tab closes: its session's processes end
        browser.switch_to.window(first)
        deadline = time.monotonic() + 10
        while group in session_processes(served.process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert group not in session_processes(served.process.pid)


def test_the_page_says_why_the_server_ended_its_session(browser):
    with Served("--preset", "cartpole-reinforce-baseline", "--idle-minutes", "0.05") as served:
        open_tab(browser, served.url)
        Page(browser).wait_for("CartPole-v1")
        reason = browser.find_element("id", "ended-reason")
        deadline = time.monotonic() + 30
        while not reason.is_displayed() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert reason.text == "This session has ended: its tab was idle for 0.05 minutes."


LOSS = ("return (-(log_probs * advantages * valid).sum() - ent_coef * (entropies * valid).sum()) "
        "/ num_episodes + vf_coef * 0.5 * ((values - returns) ** 2 * valid).sum() / valid.sum()")


def run_step(page: Page) -> int:
    """The step the editor's run line shows."""
    line = next(row for row in page.text().splitlines() if "run: " in row and " · step " in row)
    return int(line.split(" · step ")[1].split()[0].replace(",", ""))


def ctrl(driver, key: str) -> None:
    ActionChains(driver).key_down(Keys.CONTROL).send_keys(key).key_up(Keys.CONTROL).perform()
    time.sleep(0.3)


@pytest.mark.skipif(not shutil.which("bwrap"), reason="needs bubblewrap (apt)")
def test_a_student_edits_the_loss_in_the_browser_and_the_run_takes_it(browser):
    with Served("--preset", "cartpole-reinforce-baseline", "--allow-code") as served:
        open_tab(browser, served.url)
        page = Page(browser)
        page.wait_for("CartPole-v1")
        page.press("e")  # reinforce.py from the scaffold: it trains, and opens in the editor
        page.wait_for("ctrl+s saves it")
        page.wait_for("run: running")
        # a broken edit first, while the scaffold's run is young: one line, and the
        # scaffold's version trains on
        ctrl(browser, Keys.END)
        page.press("x = (")
        ctrl(browser, "s")
        page.wait_for("syntax error: '(' was never closed")
        page.wait_for("the last good version trains on")
        # and it trains on: its step grows, or it finishes its budget (CartPole's 2M steps
        # take about two minutes); never paused or stopped by the broken save
        step = run_step(page)
        deadline = time.monotonic() + 30
        while run_step(page) <= step and "run: finished" not in page.text():
            assert "run: paused" not in page.text() and "run: error" not in page.text(), page.text()
            assert time.monotonic() < deadline, f"the run stopped training:\n{page.text()}"
            time.sleep(1)
        # the broken line fixed, and the loss's `raise NotImplementedError`, the line
        # above, given a body (home goes to a line's text, after its indent)
        page.press(Keys.END, ")", Keys.UP, Keys.HOME)
        ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.END).key_up(Keys.SHIFT).perform()
        page.press(LOSS)
        ctrl(browser, "s")
        # the run took it: the version in flight (or, where the run had finished meanwhile,
        # a new run) counts one function of the student's
        # (on loaded cores the save reaches the run's line after a minute or more)
        page.wait_for("your functions: 1", timeout=180)
        page.wait_for("4 of 12 passed", timeout=120)  # the checks: the loss and the three gradients
        page.press(Keys.ESCAPE)  # back to the run
        page.wait_for("hyperparameters")
