"""Fixtures for the browser check: one JupyterLab server, a fresh Chromium per test.

Both are stopped by their process ids in finalizers, so a failing test leaves nothing running.
"""

import shutil

import lab_harness
import pytest

RUN_ALL_TIMES = pytest.StashKey[dict]()


def pytest_configure(config):
    config.stash[RUN_ALL_TIMES] = {}


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    for program in (lab_harness.CHROMIUM, lab_harness.CHROMEDRIVER):
        if not program.is_file():
            pytest.fail(f"{program} is missing: `make test-browser` installs Debian's chromium")
    root = tmp_path_factory.mktemp("course") / "notebooks"
    shutil.copytree(lab_harness.REPO / "notebooks", root)
    server = lab_harness.LabServer(root)
    yield server
    server.stop()


@pytest.fixture
def browser(lab):
    lab.shut_down_sessions()
    chromium = lab_harness.Browser()
    yield chromium.driver
    chromium.stop()
    lab.shut_down_sessions()


@pytest.fixture(scope="session")
def run_all_times(pytestconfig):
    """Notebook name -> seconds that Run All Cells took; printed at the end of the run."""
    return pytestconfig.stash[RUN_ALL_TIMES]


def pytest_terminal_summary(terminalreporter, config):
    times = config.stash.get(RUN_ALL_TIMES, {})
    if times:
        terminalreporter.section("Run All Cells in JupyterLab (quick mode)")
        for name, seconds in times.items():
            terminalreporter.write_line(f"{name}: {seconds:.0f} s")
