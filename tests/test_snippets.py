"""Snippets meant for copying run alone, in a fresh Python process, twice in a row.

A snippet is a notebook code cell tagged `snippet` (cell metadata `tags`) or a ```python block
in README.md. Each runs by itself in a new interpreter, in an empty temporary folder, in quick
mode, with nothing from the cells above it; one that wrote files runs once more in the same
folder and the same interpreter, over them, as a learner re-runs a cell. A README block
that cannot run here is marked with an HTML comment on the line above it, `<!-- snippet: skip
(the reason) -->` (the README says the reason in its text too), and is reported as skipped.
"""

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SKIP_MARK = re.compile(r"<!--\s*snippet:\s*skip\s*\((?P<reason>.+)\)\s*-->")
TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Snippet:
    where: str
    source: str
    skip_reason: str | None = None


def readme_snippets(path):
    """The ```python blocks of a Markdown file, each with the reason it is skipped, if marked."""
    lines = path.read_text(encoding="utf-8").splitlines()
    snippets = []
    start = None
    for number, line in enumerate(lines):
        if start is None and line.strip() == "```python":
            start = number
        elif start is not None and line.strip() == "```":
            above = [text for text in lines[:start] if text.strip()][-1:]
            mark = SKIP_MARK.fullmatch(above[0].strip()) if above else None
            snippets.append(
                Snippet(
                    where=f"{path.name}:{start + 1}",
                    source="\n".join(lines[start + 1 : number]) + "\n",
                    skip_reason=mark["reason"] if mark else None,
                )
            )
            start = None
    return snippets


def notebook_snippets(path):
    """The code cells of a notebook tagged `snippet`."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        Snippet(where=f"{path.name}:cell {index}", source="".join(cell["source"]) + "\n")
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "code" and "snippet" in cell.get("metadata", {}).get("tags", [])
    ]


#: Runs snippet.py; if that left a file behind, runs it again in the same interpreter (a
#: learner re-running the cell meets those files; a snippet that left none is seeded and would
#: fare the same). Says on stderr when the second run starts.
RUNNER = """\
import os, runpy, sys
runpy.run_path("snippet.py", run_name="__main__")
if set(os.listdir(".")) - {"snippet.py", "runner.py"}:
    print("\\nSECOND RUN", file=sys.stderr, flush=True)
    runpy.run_path("snippet.py", run_name="__main__")
"""
SECOND_RUN = "\nSECOND RUN\n"


def run_alone(snippet, folder):
    """Run the snippet as a script in `folder` (twice if it wrote files, see ``RUNNER``);
    return a failure report naming the run that failed, or None if it passed."""
    (Path(folder) / "snippet.py").write_text(snippet.source, encoding="utf-8")
    (Path(folder) / "runner.py").write_text(RUNNER, encoding="utf-8")
    env = dict(os.environ)
    env.update(
        ANOMALY_TUTORIAL_QUICK="1",
        MPLBACKEND="Agg",
        # This checkout's package, as a learner who installed it would import it.
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    try:
        result = subprocess.run(
            [sys.executable, "runner.py"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return f"{snippet.where} ran longer than {TIMEOUT_SECONDS} s:\n{snippet.source}"
    if result.returncode == 0:
        return None
    run = "second run, over the files of the first" if SECOND_RUN in result.stderr else "run"
    return (
        f"{snippet.where} failed alone ({run}; exit {result.returncode}).\n"
        f"--- source ---\n{snippet.source}--- stderr ---\n{result.stderr}"
    )


SNIPPETS = readme_snippets(README) + [
    snippet for path in NOTEBOOKS for snippet in notebook_snippets(path)
]


def test_the_course_has_snippets_to_check():
    assert SNIPPETS, (
        "found no snippet: neither a ```python block in README.md nor a notebook code cell "
        "tagged 'snippet', so this test would check nothing"
    )


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda snippet: snippet.where)
def test_snippet_runs_alone_twice_in_a_row(snippet, tmp_path):
    if snippet.skip_reason:
        pytest.skip(f"marked in README.md: {snippet.skip_reason}")
    failure = run_alone(snippet, tmp_path)
    if failure:
        pytest.fail(failure, pytrace=False)


def test_a_failing_snippet_is_reported_with_its_source_and_stderr(tmp_path):
    broken = Snippet(where="example:1", source="import sys\nprint('why', file=sys.stderr)\n1 / 0\n")
    failure = run_alone(broken, tmp_path)
    assert failure is not None
    assert "print('why', file=sys.stderr)" in failure
    assert "why" in failure.split("--- stderr ---")[1]
    assert "ZeroDivisionError" in failure and "(run; exit 1)" in failure


def test_a_snippet_that_wrote_files_runs_again_over_them(tmp_path):
    # Fails only in the second run: the file it writes exists then.
    writes_once = Snippet(
        "example:2",
        "from pathlib import Path\nPath('out.txt').touch(exist_ok=False)\nprint('done')\n",
    )
    failure = run_alone(writes_once, tmp_path)
    assert failure is not None and "second run, over the files of the first" in failure
    assert "FileExistsError" in failure
    (tmp_path / "out.txt").unlink()
    assert run_alone(Snippet("example:3", "print('no file')\n"), tmp_path) is None


def test_readme_skip_mark_and_notebook_tag_are_read(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "```python\nprint(1)\n```\n\n"
        "<!-- snippet: skip (needs the user's own folder) -->\n"
        "```python\nprint(2)\n```\n\n```bash\nls\n```\n"
    )
    notebook = tmp_path / "00_example.ipynb"
    cells = [
        {"cell_type": "code", "metadata": {"tags": ["snippet"]}, "source": ["print(3)"]},
        {"cell_type": "code", "metadata": {}, "source": ["print(4)"]},
        {"cell_type": "markdown", "metadata": {"tags": ["snippet"]}, "source": ["text"]},
    ]
    notebook.write_text(json.dumps({"cells": cells}))
    assert readme_snippets(readme) == [
        Snippet("README.md:1", "print(1)\n"),
        Snippet("README.md:6", "print(2)\n", "needs the user's own folder"),
    ]
    assert notebook_snippets(notebook) == [Snippet("00_example.ipynb:cell 0", "print(3)\n")]
