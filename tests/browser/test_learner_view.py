"""The course as a learner meets it in JupyterLab (`make test-browser`).

A real JupyterLab on the learner's working copies of notebooks/ (as `make lab` makes them), with
no variable set, driven through headless Chromium by its menus: the landing page shows where to
start, every notebook runs with Run All Cells without an error or a line on stderr, JupyterLab
saves it, and the checkout stays as it was (`git status` unchanged). Screenshots go to reports/.
"""

import json
import os
from pathlib import Path

import lab_harness
import nbformat
import pytest
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.browser

REPORTS = lab_harness.REPORTS
RUN_ALL_TIMEOUT = 600
#: Every notebook (the README's Run All times come from this run);
#: ``ANOMALY_TUTORIAL_BROWSER_NOTEBOOKS=00,01`` runs some of them.
ALL_NOTEBOOKS = sorted(
    path.name for path in (Path(__file__).parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb")
)
_CHOSEN = os.environ.get("ANOMALY_TUTORIAL_BROWSER_NOTEBOOKS", "all")
RUN_ALL = (
    ALL_NOTEBOOKS
    if _CHOSEN == "all"
    else [name for name in ALL_NOTEBOOKS if name[:2] in _CHOSEN.split(",")]
)
LISTING = ".jp-DirListing-itemText"


def _cell_count(path):
    return len(json.loads(path.read_text(encoding="utf-8"))["cells"])


def _open_notebook(lab, browser, name):
    """Open `name` in a workspace of its own, reset, and wait until every cell is on the page."""
    workspace = "check-" + name.removesuffix(".ipynb").replace("_", "-")
    browser.get(lab.page(f"/lab/workspaces/{workspace}/tree/{name}?reset"))
    page = lab_harness.NotebookPage(browser)
    expected = _cell_count(lab.root / name)
    lab_harness.wait_for(
        lambda: len(page.cells()) == expected, 120, f"{name}: the page never held {expected} cells"
    )
    lab_harness.wait_for(lambda: page.kernel_status() == "idle", 120, f"{name}: no idle kernel")
    return page


def _screenshot(browser, name):
    REPORTS.mkdir(exist_ok=True)
    path = REPORTS / f"browser-{name.removesuffix('.ipynb')}.png"
    browser.save_screenshot(str(path))
    return path


def test_landing_page_opens_the_first_notebook_and_the_start_page(lab, browser):
    browser.get(lab.page("/"))
    page = lab_harness.NotebookPage(browser)
    lab_harness.wait_for(
        lambda: page.current_tab_title() == "00_introduction.ipynb",
        120,
        "the landing page did not open 00_introduction.ipynb",
    )
    expected = _cell_count(lab.root / "00_introduction.ipynb")
    lab_harness.wait_for(
        lambda: len(page.cells()) == expected, 120, f"00_introduction never held {expected} cells"
    )
    # The start page that names the order is in the file browser beside the notebooks.
    listed = lab_harness.wait_for(
        lambda: [element.text for element in browser.find_elements(By.CSS_SELECTOR, LISTING)],
        60,
        "the file browser lists nothing",
    )
    assert "README.md" in listed, listed
    _screenshot(browser, "landing")


@pytest.mark.parametrize("name", RUN_ALL)
def test_run_all_cells_shows_no_error_and_no_stderr_and_leaves_the_checkout_as_it_was(
    lab, browser, run_all_times, status_before, name
):
    page = _open_notebook(lab, browser, name)
    seconds = page.run_all_from_menu(RUN_ALL_TIMEOUT)
    page.save()  # as autosave would: the learner's copy, never the committed notebook
    problems = page.problem_outputs()
    prompts = page.code_prompts()
    stopped = " (stopped at an error)" if "[ ]:" in prompts else ""
    run_all_times[name] = f"{seconds:.0f} s{stopped}"
    # The end of the notebook shows that every cell ran; a failure shows its first problem.
    page.scroll_to_first_problem()
    _screenshot(browser, name)
    assert problems == {"errors": [], "stderr": []}, f"{name}: {json.dumps(problems, indent=1)}"
    # Every code cell ran once, in order (hidden check cells show no prompt: '').
    assert all(prompt == f"[{count}]:" for count, prompt in enumerate(prompts, 1) if prompt), (
        prompts
    )
    saved = json.loads((lab.root / name).read_text(encoding="utf-8"))
    counts = [cell.get("execution_count") for cell in saved["cells"] if cell["cell_type"] == "code"]
    assert all(counts), f"{name}: JupyterLab did not save the run"
    assert lab_harness.git_status() == status_before, f"{name}: the run changed the checkout"


def test_browser_check_detects_an_error_and_a_stderr_line(lab, browser):
    """The detector itself, on a tiny notebook that writes to stderr, warns and then raises."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# A notebook that fails on purpose"),
        nbformat.v4.new_code_cell("import sys\nprint('fine')\nprint('on stderr', file=sys.stderr)"),
        nbformat.v4.new_code_cell("import warnings\nwarnings.warn('a warning')"),
        nbformat.v4.new_code_cell("1 + 1"),
        nbformat.v4.new_code_cell("raise ValueError('deliberate')"),
        nbformat.v4.new_code_cell("print('never runs')"),
    ]
    name = "failing_on_purpose.ipynb"
    nbformat.write(notebook, lab.root / name)
    try:
        page = _open_notebook(lab, browser, name)
        page.run_all_from_menu(120)
        problems = page.problem_outputs()
        prompts = page.code_prompts()
        _screenshot(browser, "detector-check")
    finally:
        (lab.root / name).unlink()
    assert len(problems["errors"]) == 1 and "ValueError: deliberate" in problems["errors"][0]
    assert [text.strip() for text in problems["stderr"][:1]] == ["on stderr"], problems
    assert len(problems["stderr"]) == 2 and "UserWarning: a warning" in problems["stderr"][1]
    assert prompts == ["[1]:", "[2]:", "[3]:", "[4]:", "[ ]:"], prompts
