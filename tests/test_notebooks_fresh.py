"""The committed notebooks carry the outputs of one Run All, as a learner gets it."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ABSOLUTE_PATH = re.compile(r"(/home/|/root/|/work/|/tmp/|/Users/|[A-Za-z]:\\\\Users)")


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _text(output):
    if "text" in output:
        return "".join(output["text"])
    data = output.get("data", {})
    return "".join("".join(data.get(kind, "")) for kind in ("text/plain", "text/markdown"))


def test_the_course_has_its_notebooks():
    names = [path.name[:2] for path in NOTEBOOKS]
    assert names[:2] == ["00", "01"], names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_code_cells_were_run_once_in_order(path):
    cells = [cell for cell in _load(path)["cells"] if cell["cell_type"] == "code"]
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: {counts}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_outputs_are_committed_without_errors(path):
    cells = [cell for cell in _load(path)["cells"] if cell["cell_type"] == "code"]
    assert sum(bool(cell["outputs"]) for cell in cells) >= len(cells) // 3, path.name
    for cell in cells:
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"{path.name}: {output.get('ename')}"
            assert "Traceback" not in _text(output), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_outputs_contain_no_absolute_paths(path):
    for cell in _load(path)["cells"]:
        for output in cell.get("outputs", []):
            match = ABSOLUTE_PATH.search(_text(output))
            assert match is None, f"{path.name}: {match and match.group(0)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_has_setup_summary_and_exercises(path):
    headings = [
        line.strip()
        for cell in _load(path)["cells"]
        if cell["cell_type"] == "markdown"
        for line in "".join(cell["source"]).splitlines()
        if line.startswith("#")
    ]
    for heading in ("## Setup", "## Summary", "## Exercises"):
        assert heading in headings, f"{path.name} lacks {heading!r}"
    assert headings[0].startswith("# "), f"{path.name} must open with a title"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_plot_cells_leave_no_figure_repr(path):
    for cell in _load(path)["cells"]:
        for output in cell.get("outputs", []):
            # plt.show() gives display_data; a figure left as the cell's value is an
            # execute_result that prints "<Figure size ...>".
            if output["output_type"] == "execute_result":
                text = _text(output)
                assert "<Figure size" not in text, f"{path.name}: end plot cells with plt.show()"


def _code(path):
    return ["".join(cell["source"]) for cell in _load(path)["cells"] if cell["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_one_mode_no_notebook_asks_for_quick_mode(path):
    # Quick mode is a speed knob for the unit tests only: a notebook that read it would print
    # other numbers than its prose under `make test`.
    for source in _code(path):
        assert "QUICK" not in source and "runtime.pick" not in source, f"{path.name}: {source:.80}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_solutions_are_not_under_their_exercises(path):
    cells = _load(path)["cells"]
    headings = [
        (index, line.strip())
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "markdown"
        for line in "".join(cell["source"]).splitlines()
        if line.startswith("## ")
    ]
    names = [heading for _, heading in headings]
    assert names[-2:] == ["## Exercises", "## Solutions"], f"{path.name}: {names[-3:]}"
    exercises, solutions = headings[-2][0], headings[-1][0]
    between = [cell for cell in cells[exercises:solutions] if cell["cell_type"] == "code"]
    assert not between, f"{path.name}: code between Exercises and Solutions"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebooks_that_train_networks_show_the_switch(path):
    sources = _code(path)
    uses_store = any("trained.Store(" in source for source in sources)
    if uses_store:
        setup = sources[0]
        assert re.search(r"^TRAIN_FROM_SCRATCH = False", setup, re.MULTILINE), path.name
        assert "train=TRAIN_FROM_SCRATCH" in setup, path.name
