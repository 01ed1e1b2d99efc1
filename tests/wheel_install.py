"""``make test-wheel``: the course from a plain ``pip install`` of its wheel, outside the checkout.

Builds the wheel from the checkout's files (those git tracks, or would: ignored ones such as
``workspace/`` and ``data/trained/*.new`` stay out), installs it into a fresh venv in a temporary
folder, then, from another temporary folder, runs ``anomaly-tutorial lab --no-start`` and every
notebook it copied with nbval: each cell must run and print what the committed notebook shows,
as in ``make test``, with the learner's settings. Minutes, so not part of ``make test``; pytest
collects this file only when named (its name does not start with ``test_``).

The venv is made in seconds: ``python -m venv --without-pip``, then a ``.pth`` file that puts
this environment's site-packages (the dependencies, pytest and nbval) after the venv's own, and
``pip install --no-deps --ignore-installed`` of the wheel. The venv's own copy of
``anomaly_tutorial`` comes first on ``sys.path``; the checkout is not on it.
"""

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import LEARNER_ENV

REPO = Path(__file__).resolve().parents[1]
#: The checkout's folders that the wheel holds, and where (pyproject.toml, [tool.setuptools]).
SHIPPED = {
    "anomaly_tutorial/": ("anomaly_tutorial/", ".py"),
    "data/": ("anomaly_tutorial/course/data/", ""),
    "notebooks/": ("anomaly_tutorial/course/notebooks/", ""),
    "benchmarks/results/": ("anomaly_tutorial/course/benchmarks/results/", ".json"),
}


def _run(command, **options) -> subprocess.CompletedProcess:
    result = subprocess.run(list(map(str, command)), capture_output=True, text=True, **options)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _checkout_files() -> list[str]:
    listed = _run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO
    ).stdout
    return sorted(name for name in listed.split("\0") if name and (REPO / name).is_file())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in _checkout_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((REPO / name).read_bytes())
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, source])
    (built,) = dist.glob("anomaly_tutorial-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """The fresh venv's python, with the wheel installed."""
    folder = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", folder])
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    own = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    dependencies = sysconfig.get_path("purelib")
    Path(own.stdout.strip(), "dependencies.pth").write_text(dependencies + "\n")
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--ignore-installed", wheel])
    return python


def test_the_wheel_holds_the_code_and_the_whole_course(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        inside + name.removeprefix(folder)
        for name in _checkout_files()
        for folder, (inside, suffix) in SHIPPED.items()
        if name.startswith(folder) and name.endswith(suffix) and not Path(name).name.startswith(".")
    ]
    assert len(expected) > 6000  # the images, the networks, the notebooks
    missing = sorted(set(expected) - names)
    assert not missing, f"{len(missing)} files not in the wheel: {missing[:5]}"


def test_the_installed_package_is_the_wheels_and_its_course_is_beside_it(venv, tmp_path):
    code = (
        "import anomaly_tutorial.datasets.bundled as b; "
        "print(b.__file__); print(b.COURSE_DIR); print(b.in_checkout())"
    )
    module, course, checkout = _run([venv, "-c", code], cwd=tmp_path).stdout.split()
    prefix = venv.parents[1]
    assert Path(module).is_relative_to(prefix) and Path(course).is_relative_to(prefix)
    assert checkout == "False"
    assert (Path(course) / "benchmarks" / "results" / "one_class.json").is_file()


def test_every_notebook_runs_from_the_copies_lab_makes(venv, tmp_path):
    env = dict(LEARNER_ENV, ANOMALY_TUTORIAL_DATA=str(tmp_path / "cache"))
    script = venv.parent / ("anomaly-tutorial.exe" if os.name == "nt" else "anomaly-tutorial")
    lab = _run([script, "lab", "--no-start"], cwd=tmp_path, env=env)
    assert "Fresh copies of 7 course files" in lab.stdout
    copies = sorted((tmp_path / "anomaly-tutorial-workspace").glob("[0-9][0-9]_*.ipynb"))
    assert len(copies) == len(list((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the checkout's settings
    run = subprocess.run(
        [
            str(venv), "-m", "pytest", "-c", "pytest.ini", "-p", "no:cacheprovider", "-n", "2",
            "--dist", "loadfile", "--nbval", "--nbval-current-env",
            f"--nbval-sanitize-with={REPO / 'tests' / 'nbval_sanitize.cfg'}",
            *(path.relative_to(tmp_path).as_posix() for path in copies),
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert f"rootdir: {tmp_path}" in run.stdout  # collected from the copies, nothing else
    # Everything came with the package: nothing was generated into the user cache.
    assert not (tmp_path / "cache").exists()
