"""Learners work in copies: a Run All or a save never touches the committed notebooks."""

import json
import os
import subprocess
import sys

import pytest

from anomaly_tutorial import workspace
from anomaly_tutorial.errors import UsageError


@pytest.fixture
def course(tmp_path):
    source = tmp_path / "notebooks"
    source.mkdir()
    for name in ("00_intro.ipynb", "01_next.ipynb"):
        (source / name).write_text(json.dumps({"cells": [], "name": name}))
    (source / "README.md").write_text("order\n")
    return source


def test_prepare_copies_every_course_file_once(course, tmp_path):
    copies = tmp_path / "workspace"
    result = workspace.prepare(copies, course)
    assert result["copied"] == ["00_intro.ipynb", "01_next.ipynb", "README.md"]
    assert (copies / "00_intro.ipynb").read_text() == (course / "00_intro.ipynb").read_text()


def test_prepare_keeps_the_learners_own_copy(course, tmp_path):
    copies = tmp_path / "workspace"
    workspace.prepare(copies, course)
    (copies / "00_intro.ipynb").write_text("my edits")
    result = workspace.prepare(copies, course)
    assert result["copied"] == [] and "00_intro.ipynb" in result["kept"]
    assert (copies / "00_intro.ipynb").read_text() == "my edits"
    assert "make fresh" in workspace.describe(result, copies)


def test_reset_moves_the_learners_copies_aside_and_never_deletes_them(course, tmp_path):
    copies = tmp_path / "workspace"
    workspace.prepare(copies, course)
    (copies / "00_intro.ipynb").write_text("my edits")
    (copies / "my_notes.txt").write_text("mine")  # not a course file: left where it is
    result = workspace.prepare(copies, course, reset=True)
    assert (result["moved_to"] / "00_intro.ipynb").read_text() == "my edits"
    assert (copies / "00_intro.ipynb").read_text() == (course / "00_intro.ipynb").read_text()
    assert (copies / "my_notes.txt").read_text() == "mine"


def test_prepare_refuses_a_file_where_the_folder_goes(course, tmp_path):
    blocker = tmp_path / "workspace"
    blocker.write_text("a file")
    with pytest.raises(UsageError, match="is a file"):
        workspace.prepare(blocker, course)
    assert blocker.read_text() == "a file"


def test_prepare_without_notebooks_says_it_needs_a_checkout(tmp_path):
    with pytest.raises(UsageError, match="holds no notebooks"):
        workspace.prepare(tmp_path / "workspace", tmp_path)


def test_the_workspace_is_ignored_by_git():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(workspace.WORKSPACE_DIR / workspace.FIRST_NOTEBOOK)],
        cwd=workspace.NOTEBOOKS_DIR.parent,
    )
    assert ignored.returncode == 0


def test_lab_command_prepares_the_copies_without_starting(tmp_path):
    code = (
        "import sys; from anomaly_tutorial import cli, workspace; "
        f"workspace.WORKSPACE_DIR = __import__('pathlib').Path({str(tmp_path / 'ws')!r}); "
        "sys.exit(cli.main(['lab', '--no-start']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr
    assert "Fresh copies" in result.stdout
    assert (tmp_path / "ws" / workspace.FIRST_NOTEBOOK).is_file()
