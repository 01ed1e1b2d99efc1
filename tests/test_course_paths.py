"""Where the course's files are: a checkout, or the copy a plain ``pip install`` put beside the
package (anomaly_tutorial/datasets/bundled.py); and ``make-data`` outside a checkout. The whole
installed route, notebooks included, is ``make test-wheel`` (tests/wheel_install.py)."""

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from anomaly_tutorial import cli, workspace
from anomaly_tutorial.datasets import bundled, glyphs, textures

REPO = Path(__file__).resolve().parents[1]


def test_in_a_checkout_the_course_is_the_repository():
    assert bundled.in_checkout() and bundled.COURSE_DIR == REPO
    assert bundled.DATA_DIR == REPO / "data" and bundled.NOTEBOOKS_DIR == REPO / "notebooks"
    assert workspace.default_folder() == REPO / "workspace"
    # What the notebooks read beside data/ (notebooks 04 and 05).
    for name in ("one_class.json", "benchmark.json"):
        assert (bundled.DATA_DIR.parent / "benchmarks" / "results" / name).is_file()


def test_the_wheel_maps_the_repository_folders_where_the_package_looks_for_them():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = {
        Path(folder): package.split(".") for package, folder in setuptools["package-dir"].items()
    }
    # anomaly_tutorial.course.<folder>: the same relative path as in the repository.
    assert {folder: parts[2:] for folder, parts in mapped.items()} == {
        folder: list(folder.parts) for folder in mapped
    }
    assert all(parts[:2] == ["anomaly_tutorial", "course"] for parts in mapped.values())
    results = bundled.DATA_DIR.parent / "benchmarks" / "results"  # what notebook 04 reads
    courses = {bundled.DATA_DIR, bundled.NOTEBOOKS_DIR, results}
    assert {bundled.COURSE_DIR / folder for folder in mapped} == courses
    for package in map(".".join, mapped.values()):
        assert package in setuptools["packages"] and setuptools["package-data"][package]


def test_an_installed_package_reads_its_own_copy_and_works_in_the_current_folder(tmp_path):
    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "anomaly_tutorial", site / "anomaly_tutorial")  # no pyproject.toml
    here = tmp_path / "elsewhere"
    here.mkdir()
    code = (
        "import json; from anomaly_tutorial import workspace; "
        "from anomaly_tutorial.datasets import bundled as b; "
        "print(json.dumps([str(b.COURSE_DIR), str(b.DATA_DIR), str(b.NOTEBOOKS_DIR), "
        "str(b.DATA_DIR.parent / 'benchmarks' / 'results'), b.in_checkout(), "
        "str(workspace.default_folder())]))"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=here, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    course, data, notebooks, results, checkout, folder = json.loads(result.stdout)
    assert Path(course) == site / "anomaly_tutorial" / "course" and checkout is False
    assert Path(data) == Path(course) / "data" and Path(notebooks) == Path(course) / "notebooks"
    assert Path(results) == Path(course) / "benchmarks" / "results"
    assert Path(folder) == here / workspace.INSTALLED_WORKSPACE


def test_make_data_outside_a_checkout_generates_what_the_first_load_left_out(
    tmp_path, monkeypatch, capsys
):
    """The issue's case: after a first ``load_textures`` filled the cache with brick,
    ``make-data`` generated nothing (exit 2); it now adds grass, gravel and the glyphs there."""
    monkeypatch.setattr(bundled, "in_checkout", lambda: False)
    monkeypatch.setattr(bundled, "DATA_DIR", tmp_path / "installed-without-data")
    monkeypatch.setenv("ANOMALY_TUTORIAL_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(glyphs, "PER_CLASS", 2)  # the real generators take a minute
    monkeypatch.setattr(textures, "N_TRAIN", 3)
    monkeypatch.setattr(textures, "N_GOOD", {"dev": 1, "test": 1})
    monkeypatch.setattr(textures, "N_PER_DEFECT", {"dev": 1, "test": 1})

    textures.load_textures("brick")
    cached = textures.default_data_folder()
    assert cached.is_relative_to(tmp_path / "cache") and (cached / "brick").is_dir()
    assert f"generating it into {cached / 'brick'}" in capsys.readouterr().err

    assert cli.main(["make-data"]) == 0
    out = capsys.readouterr().out
    assert f"Kept brick in {cached}" in out
    assert f"Generating grass, gravel into {cached}" in out
    assert f"Generating the glyphs into {glyphs.default_glyphs_folder()}" in out
    assert "An installed package" in out
    assert (cached / "gravel" / "train" / "good").is_dir()
    assert (glyphs.default_glyphs_folder() / bundled.MANIFEST).is_file()
    assert cli.main(["make-data"]) == 0
    assert "Nothing is missing." in capsys.readouterr().out
