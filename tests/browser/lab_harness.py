"""A JupyterLab server and a headless Chromium page driven as a learner drives them.

Used by the browser check (`make test-browser`). Everything runs on this machine: the server
listens on 127.0.0.1 with a random token, the browser is Debian's `chromium` through the system
`chromedriver`, and nothing is downloaded (Selenium Manager is never asked for a driver).
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

REPO = Path(__file__).resolve().parents[2]
REPORTS = REPO / "reports"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# JupyterLab renders a stream on stderr and a traceback both with this mime type (problem_outputs).
STDERR_MIME = "application/vnd.jupyter.stderr"


def lab_start_url():
    """The page `make lab` (``anomaly-tutorial lab``) opens."""
    from anomaly_tutorial import workspace

    return f"/lab/tree/{workspace.FIRST_NOTEBOOK}"


def git_status():
    """`git status --porcelain` of the checkout: what a run changed in the committed tree."""
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process_group(process, timeout=20):
    """End the process group that `process` leads (it and its children): SIGTERM, then SIGKILL.

    Waits until every member is gone, not only the leader, so no kernel or renderer outlives it.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.2)
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)


class LabServer:
    """`jupyter lab` on the learner's copies of notebooks/, with its own settings and workspaces.

    The settings and workspace folders are fresh temporary ones, so nothing a person saved in
    their own JupyterLab (open tabs, themes, layouts) changes what the check sees.
    """

    def __init__(self, root, *, startup_timeout=120):
        self.root = Path(root)
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = Path(tempfile.mkdtemp(prefix="lab-state-"))
        self.log_path = self.state / "server.log"
        self._write_user_settings(self.state / "settings")
        env = dict(os.environ)
        # The test run's Agg backend would make every plt.show() in the kernel warn on stderr.
        env.pop("MPLBACKEND", None)
        # The kernel runs as a learner's does: no quick mode, TensorFlow's default 2 threads.
        for knob in ("ANOMALY_TUTORIAL_QUICK", "ANOMALY_TUTORIAL_THREADS"):
            env.pop(knob, None)
        env.update(
            # The kernel imports this checkout's package, whatever the venv points at.
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            JUPYTERLAB_SETTINGS_DIR=str(self.state / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.state / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(self.state / "runtime"),
            JUPYTER_CONFIG_DIR=str(self.state / "config"),
        )
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--notebook-dir={self.root}",
            f"--LabApp.default_url={lab_start_url()}",
            f"--LabApp.workspaces_dir={self.state / 'workspaces'}",
            f"--LabApp.user_settings_dir={self.state / 'settings'}",
            # No announcements feed and no extension index: nothing leaves this machine.
            "--LabApp.extension_manager=readonly",
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        self._log = open(self.log_path, "wb")  # closed in stop()
        # A session of its own, so stop() ends the server and its kernels by one process id.
        self.process = subprocess.Popen(
            command,
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_until_answering(startup_timeout)
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _write_user_settings(settings_dir):
        # Without this JupyterLab asks in a toast whether to fetch news; "false" answers no.
        path = (
            settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))

    def _wait_until_answering(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early:\n{self.log()}")
            with contextlib.suppress(OSError, urllib.error.URLError):
                if self.api("GET", "/api/status") is not None:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"jupyter lab did not answer within {timeout} s:\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, method, path):
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else {}

    def page(self, path):
        """A browser URL for `path` that carries the token."""
        separator = "&" if "?" in path else "?"
        return f"{self.url}{path}{separator}token={self.token}"

    def shut_down_sessions(self):
        """Close every notebook session (and its kernel), as a fresh start for the next check."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def stop(self):
        stop_process_group(self.process)
        self._log.close()
        shutil.rmtree(self.state, ignore_errors=True)


class Browser:
    """Headless Chromium through the system chromedriver, with a new empty profile."""

    FLAGS = (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    )

    def __init__(self):
        os.environ["SE_OFFLINE"] = "true"  # belt and braces: Selenium Manager must not download
        self.profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in self.FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        # An explicit driver path means Selenium never looks for (or fetches) one itself; its
        # own session lets stop() end chromedriver and every Chromium process by one id.
        self.service = Service(
            executable_path=str(CHROMEDRIVER), popen_kw={"start_new_session": True}
        )
        try:
            self.driver = webdriver.Chrome(service=self.service, options=options)
        except BaseException:
            self.stop()
            raise
        self.driver.set_page_load_timeout(60)

    def stop(self):
        driver = getattr(self, "driver", None)
        if driver is not None:
            with contextlib.suppress(WebDriverException):
                driver.quit()
        process = getattr(self.service, "process", None)
        if process is not None:
            stop_process_group(process)
        shutil.rmtree(self.profile, ignore_errors=True)


def wait_for(condition, timeout, message, interval=0.25):
    """Poll `condition` until it returns something truthy; fail with `message` on timeout
    (`message` may be a function, called then, to describe what was seen)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(StaleElementReferenceException):
            value = condition()
            if value:
                return value
        if time.monotonic() > deadline:
            message = message() if callable(message) else message
            raise TimeoutError(f"{message} (after {timeout} s)")
        time.sleep(interval)


class NotebookPage:
    """The notebook open in the current JupyterLab tab, read and clicked through the DOM."""

    def __init__(self, driver):
        self.driver = driver

    def _panel(self):
        panels = [
            panel
            for panel in self.driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel")
            if panel.is_displayed()
        ]
        return panels[0] if len(panels) == 1 else None

    def current_tab_title(self):
        tabs = self.driver.find_elements(
            By.CSS_SELECTOR, "#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel"
        )
        return tabs[0].text if tabs else None

    def cells(self):
        panel = self._panel()
        return panel.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell") if panel else []

    def code_prompts(self):
        """The input prompts of the code cells: '[3]:', '[*]:' or '[ ]:'; '' for a cell whose
        source is hidden (the notebooks' check cells): its collapsed placeholder shows none."""
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll("
            "'.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell'"
            ")).map(cell => (cell.querySelector('.jp-InputArea-prompt')"
            " || cell.querySelector('.jp-InputPrompt')"
            " || {textContent: '?'}).textContent.trim())"
        )

    def kernel_status(self):
        """'idle', 'busy', 'starting', ... as the notebook toolbar's indicator shows it."""
        return self.driver.execute_script(
            "const e = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) "
            "[data-status]'); return e ? e.getAttribute('data-status') : null;"
        )

    def output_count(self):
        panel = self._panel()
        return len(panel.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")) if panel else 0

    def problem_outputs(self):
        """The error and the stderr outputs on the page: {'errors': [texts], 'stderr': [texts]}.

        JupyterLab renders both kinds as `jp-OutputArea-output` with the stderr mime type and no
        class of their own. A traceback is the one that IPython colours (the exception's name in
        red) or that says "Traceback (most recent call last)"; a stream on stderr (print to
        sys.stderr, a warning, a log line) is plain text. test_browser_detects_an_error_and_a_
        stderr_line proves the split on a deliberately failing notebook.
        """
        return self.driver.execute_script(
            """
            const found = {errors: [], stderr: []};
            const outputs = document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output');
            for (const output of outputs) {
                if (output.getAttribute('data-mime-type') !== arguments[0]) continue;
                const text = output.textContent;
                const coloured = output.querySelector('[class*="ansi-red"]') !== null;
                const isError = coloured || text.includes('Traceback (most recent call last)');
                (isError ? found.errors : found.stderr).push(text);
            }
            return found;
            """,
            STDERR_MIME,
        )

    def scroll_to_first_problem(self):
        """Bring the first error or stderr output into view (for the screenshot); False if none.

        Cells out of view have estimated heights (CSS content-visibility) that change once they
        are drawn, so the scroll is repeated until the output stays inside the window.
        """
        script = (
            "const output = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) "
            ".jp-OutputArea-output[data-mime-type=\"' + arguments[0] + '\"]');"
            "if (!output) return null;"
            "if (arguments[1]) output.scrollIntoView({block: 'center'});"
            "const box = output.getBoundingClientRect();"
            "return box.top >= 0 && box.top < window.innerHeight;"
        )
        for _ in range(10):
            if self.driver.execute_script(script, STDERR_MIME, True) is None:
                return False
            time.sleep(0.5)
            if self.driver.execute_script(script, STDERR_MIME, False):
                return True
        return True

    def click_menu(self, menu, label):
        """Click `menu` in the main menu bar, then its item `label`, as a person does."""
        bar_items = self.driver.find_elements(By.CSS_SELECTOR, "#jp-MainMenu .lm-MenuBar-item")
        matches = [item for item in bar_items if item.text.strip() == menu]
        if not matches:
            raise AssertionError(f"no {menu!r} menu in {[item.text for item in bar_items]}")
        matches[0].click()

        def menu_item():
            labels = self.driver.find_elements(By.CSS_SELECTOR, ".lm-Menu .lm-Menu-itemLabel")
            return [element for element in labels if element.text.strip() == label]

        wait_for(menu_item, 10, f"the {menu} menu shows no item {label!r}")[0].click()

    def save(self, timeout=30):
        """File > Save Notebook, then wait until the tab no longer shows unsaved changes."""
        labels = ("Save Notebook", "Save")
        bar_items = self.driver.find_elements(By.CSS_SELECTOR, "#jp-MainMenu .lm-MenuBar-item")
        [item for item in bar_items if item.text.strip() == "File"][0].click()

        def save_item():
            items = self.driver.find_elements(By.CSS_SELECTOR, ".lm-Menu .lm-Menu-itemLabel")
            return [item for item in items if item.text.strip() in labels]

        wait_for(save_item, 10, f"the File menu shows none of {labels}")[0].click()
        wait_for(
            lambda: (
                not self.driver.find_elements(
                    By.CSS_SELECTOR,
                    "#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current.jp-mod-dirty",
                )
            ),
            timeout,
            "the notebook still shows unsaved changes after File > Save",
        )

    def run_all_from_menu(self, timeout):
        """Clear the outputs (Edit menu), Run All Cells (Run menu), wait for the end.

        Clearing first makes the wait exact: the committed outputs carry execution counts too.
        The run has ended when no cell is queued or running, the kernel is idle and every code
        cell has a count, or an error stopped the run (JupyterLab then unqueues the rest).
        Returns the seconds from the click on Run All Cells to that state.
        """
        self.click_menu("Edit", "Clear Outputs of All Cells")
        wait_for(
            lambda: (
                self.output_count() == 0
                and all(prompt in ("[ ]:", "") for prompt in self.code_prompts())
            ),
            30,
            lambda: (
                f"outputs and counts did not clear: {self.output_count()} outputs, prompts "
                f"{sorted(set(self.code_prompts()))}"
            ),
        )
        self.click_menu("Run", "Run All Cells")
        started = time.monotonic()
        deadline = started + timeout

        def finished():
            prompts = self.code_prompts()
            if any("*" in prompt for prompt in prompts) or self.kernel_status() != "idle":
                return None
            counted = all(re.fullmatch(r"\[\d+\]:", prompt) for prompt in prompts if prompt)
            return prompts if counted or self.problem_outputs()["errors"] else None

        while True:
            seen = wait_for(
                finished, deadline - time.monotonic(), "Run All Cells did not finish", interval=0.5
            )
            ended = time.monotonic()
            # The kernel can be idle for a moment between two cells: the end state must hold.
            time.sleep(1.5)
            if finished() == seen:
                return ended - started
