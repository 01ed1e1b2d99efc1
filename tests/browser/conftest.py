"""Fixtures for the browser check: one JupyterLab server, a fresh Chromium per test.

Both are stopped by their process ids in finalizers, so a failing test leaves nothing running.
"""

import contextlib

import lab_harness
import pytest

RUN_ALL_TIMES = pytest.StashKey[dict]()
FAILED = pytest.StashKey[bool]()


def pytest_configure(config):
    config.stash[RUN_ALL_TIMES] = {}


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    for program in (lab_harness.CHROMIUM, lab_harness.CHROMEDRIVER):
        if not program.is_file():
            pytest.fail(f"{program} is missing: `make test-browser` installs Debian's chromium")
    from anomaly_tutorial import workspace

    # The learner's working copies, made as `make lab` makes them (in a folder of the test's).
    root = tmp_path_factory.mktemp("course") / "workspace"
    workspace.prepare(root)
    server = lab_harness.LabServer(root)
    yield server
    server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def browser(lab, request):
    lab.shut_down_sessions()
    chromium = lab_harness.Browser()
    yield chromium.driver
    if request.node.stash.get(FAILED, False):
        # What the page showed and what the server said, for a failure in CI.
        lab_harness.REPORTS.mkdir(exist_ok=True)
        shot = lab_harness.REPORTS / f"browser-failed-{request.node.name}.png"
        with contextlib.suppress(Exception):
            chromium.driver.save_screenshot(str(shot))
        print(f"screenshot: {shot}\nlast lines of the JupyterLab log:")
        print("\n".join(lab.log().splitlines()[-40:]))
    chromium.stop()
    lab.shut_down_sessions()


@pytest.fixture(scope="session")
def status_before():
    return lab_harness.git_status()


@pytest.fixture(scope="session")
def run_all_times(pytestconfig):
    """Notebook name -> how long Run All Cells took; printed at the end of the run."""
    return pytestconfig.stash[RUN_ALL_TIMES]


def pytest_terminal_summary(terminalreporter, config):
    times = config.stash.get(RUN_ALL_TIMES, {})
    if times:
        terminalreporter.section("Run All Cells in JupyterLab, as a learner runs it")
        for name, took in times.items():
            terminalreporter.write_line(f"{name}: {took}")
