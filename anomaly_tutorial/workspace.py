"""Learners' working copies of the notebooks (``make lab``, ``anomaly-tutorial lab``).

JupyterLab saves every notebook it runs, so the committed notebooks (whose outputs the prose
was written against) are never opened: they are copied once into a working folder, and
``--reset`` moves the learner's copies aside, never deleting them.
"""

import datetime
import shutil
from pathlib import Path

from anomaly_tutorial.datasets.bundled import COURSE_DIR, NOTEBOOKS_DIR, in_checkout
from anomaly_tutorial.errors import UsageError

#: The working copies in a checkout (git-ignored).
WORKSPACE_DIR = COURSE_DIR / "workspace"
#: The working copies of an installed package, in the current folder.
INSTALLED_WORKSPACE = "anomaly-tutorial-workspace"
#: The page JupyterLab opens first.
FIRST_NOTEBOOK = "00_introduction.ipynb"


def default_folder() -> Path:
    """Where ``anomaly-tutorial lab`` puts the working copies: ``workspace/`` in a checkout,
    else ``anomaly-tutorial-workspace/`` in the current folder (never inside the package)."""
    return WORKSPACE_DIR if in_checkout() else Path.cwd() / INSTALLED_WORKSPACE


def prepare(workspace: Path | None = None, source: Path = NOTEBOOKS_DIR, reset=False) -> dict:
    """Copy the notebooks of ``source`` and its README missing from ``workspace`` (default
    :func:`default_folder`); ``reset`` first moves the learner's copies into a new
    ``previous-<date-time>`` folder there. Returns ``{"copied": [names], "kept": [names],
    "moved_to": folder or None}``."""
    workspace = default_folder() if workspace is None else Path(workspace)
    source = Path(source)
    files = sorted(source.glob("*.ipynb")) + sorted(source.glob("README.md"))
    if not files:
        raise UsageError(
            f"{source} holds no notebooks: reinstall the package (`pip install "
            "anomaly-tutorial`), or run from a checkout of the course repository."
        )
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
            "`anomaly-tutorial lab --reset` (in a checkout: `make fresh`) starts over from the "
            "committed ones."
        )
    return "\n".join(lines)


__all__ = [
    "FIRST_NOTEBOOK",
    "NOTEBOOKS_DIR",
    "WORKSPACE_DIR",
    "default_folder",
    "prepare",
]
