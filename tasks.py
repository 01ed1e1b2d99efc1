"""The course's tasks without make or a shell, on Windows too: ``python tasks.py TASK``.

    setup          create .venv and install the course with its dev tools (again only when
                   pyproject.toml changed)
    lab            set up, copy the notebooks to workspace/ (once) and open JupyterLab
    fresh          fresh copies of the notebooks in workspace/ (yours are moved aside)
    test           unit tests + every notebook as a learner runs it (what CI runs)
    test-backends  the detector and save/load tests on Keras's JAX and PyTorch backends, with
                   CPU-only builds of both (never a CUDA package)

The Makefile's targets of the same names call this script, so ``make test`` and
``py -3.11 tasks.py test`` run the same commands. Standard library only; every path is built
with pathlib and every command is run without a shell.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
PYPROJECT = ROOT / "pyproject.toml"
OLDEST, NEWEST = (3, 11), (3, 13)

#: ``make test`` and ``tasks.py test``: two pytest workers, one per core; --dist loadfile keeps
#: each test file, and each notebook's cells, in one worker (a notebook's cells share a kernel).
TEST_ENV = {"ANOMALY_TUTORIAL_QUICK": "1", "ANOMALY_TUTORIAL_THREADS": "1"}
PYTEST_WORKERS = ["-n", "2", "--dist", "loadfile"]
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with"]
NBVAL += [str(Path("tests", "nbval_sanitize.cfg"))]

#: The detectors use keras.ops only; these run on each other Keras backend.
BACKEND_TESTS = [
    Path("tests", name)
    for name in ("test_detector_contract.py", "test_persistence.py", "test_streaming.py")
]
#: PyTorch's own index of CPU-only builds: PyPI's Linux torch wheels pull about 20 CUDA packages.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
JAX_CPU = ["jax[cpu]"]
TORCH_CPU = ["torch==2.13.0", "--index-url", TORCH_CPU_INDEX, "--retries", "1"]
CUDA_PREFIXES = ("nvidia-", "cuda-")


def python_problem(version):
    """Why Python ``version`` (a ``sys.version_info``) cannot run the course; None if it can."""
    major_minor = tuple(version[:2])
    if OLDEST <= major_minor <= NEWEST:
        return None
    if major_minor > NEWEST:
        why = "TensorFlow 2.21 has no wheels for Python 3.14 or newer"
    else:
        why = "it uses Python 3.11 features"
    return (
        f"Python {major_minor[0]}.{major_minor[1]} cannot run this course: {why}. Install "
        "Python 3.11, 3.12 or 3.13 and run: make PYTHON=python3.13 ... (Windows: py -3.13 "
        "tasks.py ...)"
    )


def venv_python(venv, os_name=os.name):
    """The Python inside the virtual environment ``venv`` as ``venv`` lays it out on ``os_name``:
    ``Scripts\\python.exe`` on Windows, ``bin/python`` elsewhere (sysconfig's venv schemes)."""
    windows = os_name == "nt"
    scheme = "nt_venv" if windows else "posix_venv"
    scripts = sysconfig.get_path("scripts", scheme, vars={"base": str(venv)}, expand=True)
    return Path(scripts, "python.exe" if windows else "python")


def stamp_path(venv):
    """The file whose time says when ``pyproject.toml`` was last installed into ``venv``."""
    return Path(venv, ".installed")


def is_installed(venv, pyproject=PYPROJECT):
    """True when the stamp is at least as new as pyproject.toml (make's rule for a target)."""
    stamp = stamp_path(venv)
    if not stamp.is_file() or not venv_python(venv).is_file():
        return False
    return stamp.stat().st_mtime_ns >= Path(pyproject).stat().st_mtime_ns


def setup(venv, pyproject=PYPROJECT):
    """Create ``venv`` if needed and install the course into it when pyproject.toml changed."""
    if is_installed(venv, pyproject):
        return
    python = venv_python(venv)
    if not python.is_file():
        check(run([sys.executable, "-m", "venv", str(venv)]))
    check(run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"]))
    check(run([str(python), "-m", "pip", "install", "--quiet", "-e", ".[dev]"]))
    stamp_path(venv).touch()


def test_command(python):
    """What ``make test`` and ``tasks.py test`` run, with TEST_ENV set."""
    return [str(python), "-m", "pytest", *PYTEST_WORKERS, *NBVAL, "tests", "notebooks"]


def cuda_packages(report):
    """The CUDA packages in a ``pip install --dry-run --report`` report, sorted."""
    names = (item["metadata"]["name"] for item in report.get("install", []))
    canonical = (re.sub(r"[-_.]+", "-", name).lower() for name in names)
    return sorted(name for name in canonical if name.startswith(CUDA_PREFIXES))


def install_cpu_only(python, requirements, what):
    """Install ``requirements`` unless pip would need a CUDA package or cannot resolve them.

    Returns None once installed, else the reason it was not installed (one line).
    """
    dry_run = [str(python), "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-"]
    result = subprocess.run(
        dry_run + requirements, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return not_resolved(result.stderr, requirements, what)
    cuda = cuda_packages(json.loads(result.stdout))
    if cuda:
        return f"{' '.join(requirements)} would install CUDA packages: {', '.join(cuda)}"
    check(run([str(python), "-m", "pip", "install", "--quiet"] + requirements))
    return None


def not_resolved(stderr, requirements, what):
    """Why pip could not resolve ``requirements`` (one line), from its stderr: its first error,
    after the index it could not reach, if it could not reach one."""
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("ERROR")]
    pip_says = errors[0] if errors else "pip found nothing to install"
    for url in (word for word in requirements if "://" in word):
        host = urlsplit(url).hostname
        if any(line.startswith("WARNING: Retrying") and host in line for line in lines):
            return (
                f"{url} could not be reached and pip finds no CPU-only {what} elsewhere: {pip_says}"
            )
    return f"pip finds no CPU-only {what} here ({' '.join(requirements)}): {pip_says}"


def test_backends(python):
    """JAX and PyTorch (CPU-only builds) run the backend tests; PyTorch is skipped, with the
    reason, where no CPU-only build can be installed."""
    refused = install_cpu_only(python, JAX_CPU, "JAX")
    if refused:
        sys.exit(f"test-backends: {refused}")
    torch_skipped = install_cpu_only(python, TORCH_CPU, "PyTorch")
    if torch_skipped:
        print(f"test-backends: skipping PyTorch: {torch_skipped}", file=sys.stderr)
    quick = {"ANOMALY_TUTORIAL_QUICK": "1"}
    tests = [str(path) for path in BACKEND_TESTS]
    for backend in ["jax"] if torch_skipped else ["jax", "torch"]:
        check(run([str(python), "-m", "pytest"] + tests, {"KERAS_BACKEND": backend, **quick}))
    if torch_skipped:
        print(f"test-backends: PyTorch was skipped: {torch_skipped}", file=sys.stderr)


def run(command, env=None):
    """Run ``command`` in the repository with ``env`` added to this environment; its exit code.

    While it runs, Ctrl+C is left to it: JupyterLab, pytest or pip stop as they do on their own,
    and this script then stops with their exit code.
    """
    try:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})})
    except OSError as error:  # not there, not executable, not a program
        sys.exit(f"tasks.py: cannot run {command[0]}: {error.strerror or error}")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def check(returncode):
    """Stop with the exit code of a command that failed (128 + N for a signal N)."""
    if returncode != 0:
        sys.exit(returncode if returncode > 0 else 128 - returncode)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tasks.py", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    parser.add_argument("task", choices=["setup", "lab", "fresh", "test", "test-backends"])
    parser.add_argument(
        "--venv",
        type=Path,
        default=ROOT / ".venv",
        help="the virtual environment (default .venv, relative to this folder)",
    )
    arguments = parser.parse_args(argv)
    problem = python_problem(sys.version_info)
    if problem:
        sys.exit(problem)
    venv = arguments.venv if arguments.venv.is_absolute() else ROOT / arguments.venv
    setup(venv)
    python = str(venv_python(venv))
    course = [python, "-m", "anomaly_tutorial", "lab"]
    if arguments.task == "lab":
        check(run(course))
    elif arguments.task == "fresh":
        check(run(course + ["--reset", "--no-start"]))
    elif arguments.task == "test":
        check(run(test_command(python), TEST_ENV))
    elif arguments.task == "test-backends":
        test_backends(python)


if __name__ == "__main__":
    main()
