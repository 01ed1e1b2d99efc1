"""Learners' working copies of the notebooks (``make lab``, ``anomaly-tutorial lab``).

``notebooks/`` holds the course as committed: its outputs are the run the prose was written
against. JupyterLab saves every notebook it runs (autosave), so ``make lab`` never opens those
files: it copies them once into ``workspace/`` (ignored by git) and serves that folder.
Whatever a learner runs, edits or saves stays in their copy. ``--reset`` puts fresh copies
back and moves the learner's own into ``workspace/previous-<date-time>/``; nothing is deleted.
"""

import datetime
import shutil
from pathlib import Path

from anomaly_tutorial.datasets.bundled import DATA_DIR
from anomaly_tutorial.errors import UsageError

NOTEBOOKS_DIR = DATA_DIR.parent / "notebooks"
WORKSPACE_DIR = DATA_DIR.parent / "workspace"
#: The page JupyterLab opens first.
FIRST_NOTEBOOK = "00_introduction.ipynb"


def course_files(source: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The committed notebooks and the README beside them, in course order."""
    files = sorted(source.glob("*.ipynb")) + sorted(source.glob("README.md"))
    if not files:
        raise UsageError(
            f"{source} holds no notebooks: `anomaly-tutorial lab` runs from a checkout of the "
            "course repository."
        )
    return files


def prepare(workspace: Path = WORKSPACE_DIR, source: Path = NOTEBOOKS_DIR, reset=False) -> dict:
    """Copy every course file missing from ``workspace``; with ``reset``, replace them all.

    Returns ``{"copied": [names], "kept": [names], "moved_to": folder or None}``. A copy the
    learner already has is kept as it is, unless ``reset``: then it is moved into a new
    ``previous-<date-time>`` folder inside ``workspace`` first.
    """
    workspace, files = Path(workspace), course_files(Path(source))
    if workspace.exists() and not workspace.is_dir():
        raise UsageError(f"{workspace} is a file; the working copies need a folder there.")
    workspace.mkdir(exist_ok=True)
    present = [file.name for file in files if (workspace / file.name).exists()]
    moved_to = None
    if reset and present:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        moved_to = workspace / f"previous-{stamp}"
        moved_to.mkdir()
        for name in present:
            (workspace / name).rename(moved_to / name)
        present = []
    copied = []
    for file in files:
        if file.name not in present:
            shutil.copyfile(file, workspace / file.name)
            copied.append(file.name)
    return {"copied": copied, "kept": present, "moved_to": moved_to}


def describe(result: dict, workspace: Path) -> str:
    """What :func:`prepare` did, in a line or two for the terminal."""
    lines = []
    if result["moved_to"] is not None:
        lines.append(f"Your previous copies are in {result['moved_to']}.")
    if result["copied"]:
        lines.append(f"Fresh copies of {len(result['copied'])} course files in {workspace}.")
    if result["kept"]:
        lines.append(
            f"Kept your working copies in {workspace} ({len(result['kept'])} files); "
            "`make fresh` (anomaly-tutorial lab --reset) starts over from the committed ones."
        )
    return "\n".join(lines)


__all__ = ["FIRST_NOTEBOOK", "NOTEBOOKS_DIR", "WORKSPACE_DIR", "course_files", "prepare"]
