"""tasks.py, the course's tasks without make (Windows too), checked on this OS without installing
anything: fake virtual environments whose ``python`` records how it was called."""

import ast
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
tasks = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(tasks)

posix_only = pytest.mark.skipif(os.name == "nt", reason="the fake python is a POSIX script")

#: A stand-in for a virtual environment's python: it appends how it was called (argv, the
#: Keras backend, the quick-mode variables, its folder) to $FAKE_LOG. As pip it answers a
#: --dry-run --report with the packages in $FAKE_TORCH_REPORT (for torch) or just jax, or fails
#: as pip does when that variable is "fail" (no wheel) or "unreachable" (the index is offline).
FAKE_PYTHON = """\
    #!{python}
    import json, os, sys
    args = sys.argv[1:]
    keys = ("KERAS_BACKEND", "ANOMALY_TUTORIAL_QUICK", "ANOMALY_TUTORIAL_THREADS", "XLA_FLAGS")
    call = {{"args": args, "cwd": os.getcwd(), "env": {{k: os.environ.get(k) for k in keys}}}}
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write(json.dumps(call) + "\\n")
    if "--dry-run" in args:
        torch = any(arg.startswith("torch") for arg in args)
        names = os.environ.get("FAKE_TORCH_REPORT", "torch") if torch else "jax,jaxlib"
        if names == "unreachable":
            print("WARNING: Retrying (Retry(total=0)) after connection broken by "
                  "NameResolutionError: host download.pytorch.org", file=sys.stderr)
        if names in ("fail", "unreachable"):
            print("ERROR: Could not find a version that satisfies the requirement torch",
                  file=sys.stderr)
            sys.exit("ERROR: No matching distribution found for torch")
        print(json.dumps({{"install": [{{"metadata": {{"name": n}}}} for n in names.split(",")]}}))
"""


def _fake_venv(venv):
    """A virtual environment whose python is FAKE_PYTHON, installed after pyproject.toml."""
    python = tasks.venv_python(venv)
    python.parent.mkdir(parents=True)
    python.write_text(textwrap.dedent(FAKE_PYTHON.format(python=sys.executable)))
    python.chmod(0o755)
    tasks.stamp_path(venv).touch()
    return python


def _calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _run_tasks(tmp_path, *args, **env):
    log = tmp_path / "calls.jsonl"
    recorded = ("KERAS_BACKEND", "ANOMALY_TUTORIAL_QUICK", "ANOMALY_TUTORIAL_THREADS", "XLA_FLAGS")
    clean = {key: value for key, value in os.environ.items() if key not in recorded}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tasks.py"), *args],
        capture_output=True,
        text=True,
        env={**clean, "FAKE_LOG": str(log), **env},
        check=False,
    )
    return result, _calls(log)


@pytest.mark.parametrize(
    ("os_name", "expected"),
    [("nt", Path("venv", "Scripts", "python.exe")), ("posix", Path("venv", "bin", "python"))],
)
def test_the_venv_python_is_scripts_python_exe_on_windows_and_bin_python_elsewhere(
    os_name, expected
):
    assert tasks.venv_python(Path("venv"), os_name) == expected


def test_the_venv_python_is_where_venv_puts_it_on_this_os(tmp_path):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "v")], check=True)
    assert tasks.venv_python(tmp_path / "v").is_file()


@pytest.mark.parametrize("version", [(3, 11, 9), (3, 12, 1), (3, 13, 0)])
def test_python_3_11_to_3_13_are_accepted(version):
    assert tasks.python_problem(version) is None


@pytest.mark.parametrize(
    ("version", "why"),
    [
        ((3, 14, 0), "TensorFlow 2.21 has no wheels for Python 3.14 or newer"),
        ((3, 10, 12), "it uses Python 3.11 features"),
        ((4, 0, 0), "TensorFlow 2.21 has no wheels"),
    ],
)
def test_other_pythons_are_refused_with_the_versions_to_install(version, why):
    problem = tasks.python_problem(version)
    assert problem.startswith(f"Python {version[0]}.{version[1]} cannot run this course: {why}")
    assert "Install Python 3.11, 3.12 or 3.13" in problem
    assert "make PYTHON=python3.13" in problem and "py -3.13 tasks.py" in problem


@pytest.mark.parametrize("task", ["setup", "test"])
def test_the_script_refuses_another_python_in_one_line_before_running_anything(tmp_path, task):
    _fake_venv(tmp_path / "v")  # set up already: only the version check can stop the task
    log = tmp_path / "calls.jsonl"
    # The script as that Python runs it: only sys.version_info differs.
    code = (
        "import runpy, sys; sys.version_info = (3, 14, 0, 'final', 0); "
        f"sys.argv = ['tasks.py', {task!r}, '--venv', {str(tmp_path / 'v')!r}]; "
        f"runpy.run_path({str(ROOT / 'tasks.py')!r}, run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "FAKE_LOG": str(log)},
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [tasks.python_problem((3, 14))]
    assert _calls(log) == []


def test_an_older_python_can_read_the_script_to_hear_why_it_is_refused():
    ast.parse((ROOT / "tasks.py").read_text(), feature_version=(3, 7))


def test_the_makefile_has_no_setup_logic_of_its_own():
    # The learner's venv is made by tasks.py only; test-oldest builds CI's separate old venv.
    makefile = (ROOT / "Makefile").read_text()
    recipes, target = [], None
    for line in makefile.splitlines():
        if line and not line.startswith("\t"):
            target = line.split(":")[0]
        elif line.startswith("\t") and not target.startswith(("test-oldest", "$(OLDEST_VENV)")):
            recipes.append(line)
    for setup_step in ["version_info", "-m venv", "-e '.[dev]'"]:
        assert setup_step not in "\n".join(recipes)
    for task in ["setup", "lab", "fresh", "test", "test-backends"]:
        assert f"\n{task}:\n\t$(PYTHON) tasks.py {task} --venv $(VENV)\n" in makefile
    assert "\n$(STAMP): pyproject.toml\n\t$(PYTHON) tasks.py setup --venv $(VENV)\n" in makefile


class FakeInstaller:
    """Stands in for ``tasks.run``: records each command; ``-m venv`` makes the venv's python."""

    def __init__(self, venv, fail_on=None):
        self.venv, self.fail_on, self.commands = venv, fail_on, []

    def __call__(self, command, env=None):
        self.commands.append(command[1:])
        if command[1:3] == ["-m", "venv"]:
            tasks.venv_python(self.venv).parent.mkdir(parents=True)
            tasks.venv_python(self.venv).touch()
        return 1 if self.fail_on and self.fail_on in command else 0


CREATE = ["-m", "venv"]
UPGRADE_PIP = ["-m", "pip", "install", "--quiet", "--upgrade", "pip"]
INSTALL = ["-m", "pip", "install", "--quiet", "-e", ".[dev]"]


def test_setup_installs_once_and_again_only_when_pyproject_changed(tmp_path, monkeypatch):
    venv, pyproject = tmp_path / "venv", tmp_path / "pyproject.toml"
    pyproject.write_text("[project]\n")
    fake = FakeInstaller(venv)
    monkeypatch.setattr(tasks, "run", fake)

    tasks.setup(venv, pyproject)
    assert fake.commands == [CREATE + [str(venv)], UPGRADE_PIP, INSTALL]
    assert tasks.stamp_path(venv).is_file()

    fake.commands.clear()
    tasks.setup(venv, pyproject)
    assert fake.commands == []

    edited = pyproject.stat().st_mtime_ns
    installed = edited - 10**9  # pyproject.toml was edited a second after the install
    os.utime(tasks.stamp_path(venv), ns=(installed, installed))
    tasks.setup(venv, pyproject)
    assert fake.commands == [UPGRADE_PIP, INSTALL]  # into the existing venv
    fake.commands.clear()
    tasks.setup(venv, pyproject)
    assert fake.commands == []


def test_a_failed_install_leaves_no_stamp_so_the_next_run_installs_again(tmp_path, monkeypatch):
    venv, pyproject = tmp_path / "venv", tmp_path / "pyproject.toml"
    pyproject.write_text("[project]\n")
    monkeypatch.setattr(tasks, "run", FakeInstaller(venv, fail_on=".[dev]"))
    with pytest.raises(SystemExit) as failed:
        tasks.setup(venv, pyproject)
    assert failed.value.code == 1
    assert not tasks.stamp_path(venv).exists()

    fake = FakeInstaller(venv)
    monkeypatch.setattr(tasks, "run", fake)
    tasks.setup(venv, pyproject)
    assert fake.commands == [UPGRADE_PIP, INSTALL]


def test_the_test_task_is_the_command_the_makefile_documents():
    documented = next(
        line.removeprefix("#").strip()
        for line in (ROOT / "Makefile").read_text().splitlines()
        if line.startswith("#   ANOMALY_TUTORIAL_QUICK=")
    )
    words = shlex.split(documented)
    env = dict(word.split("=", 1) for word in words if "=" in word and not word.startswith("-"))
    command = [word for word in words if word not in {f"{k}={v}" for k, v in env.items()}]
    assert env == tasks.TEST_ENV
    python = tasks.venv_python(Path(".venv"), "posix")
    assert command[0] == python.as_posix()
    built = tasks.test_command(python)
    assert [Path(word).as_posix() for word in built] == command


@posix_only
@pytest.mark.parametrize(
    ("task", "args", "env"),
    [
        ("lab", ["-m", "anomaly_tutorial", "lab"], {}),
        ("fresh", ["-m", "anomaly_tutorial", "lab", "--reset", "--no-start"], {}),
        ("test", tasks.test_command("python")[1:], tasks.TEST_ENV),
    ],
)
def test_each_task_runs_the_venv_python_in_the_repository(tmp_path, task, args, env):
    python = _fake_venv(tmp_path / "venv")
    result, calls = _run_tasks(tmp_path, task, "--venv", str(tmp_path / "venv"))
    assert result.returncode == 0, result.stderr
    assert [call["args"] for call in calls] == [args]  # installed already: no pip
    assert calls[0]["cwd"] == str(ROOT)
    assert {k: v for k, v in calls[0]["env"].items() if v is not None} == env
    assert python.is_file()


@posix_only
def test_a_failing_command_fails_the_task_with_its_exit_code(tmp_path):
    python = _fake_venv(tmp_path / "venv")
    python.write_text(f"#!{sys.executable}\nimport sys\nsys.exit(3)\n")
    result, _ = _run_tasks(tmp_path, "test", "--venv", str(tmp_path / "venv"))
    assert result.returncode == 3


@posix_only
def test_a_venv_python_that_cannot_run_is_one_line_naming_it(tmp_path):
    python = _fake_venv(tmp_path / "venv")
    python.chmod(0o644)
    result, _ = _run_tasks(tmp_path, "lab", "--venv", str(tmp_path / "venv"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"tasks.py: cannot run {python}: Permission denied"]


def test_an_unknown_task_is_one_line_naming_the_choices(tmp_path):
    result, _ = _run_tasks(tmp_path, "deploy")
    assert result.returncode == 2
    assert "invalid choice: 'deploy'" in result.stderr.splitlines()[-1]
    assert "test-backends" in result.stderr.splitlines()[-1]


def test_cuda_packages_are_found_in_a_pip_report_whatever_their_spelling():
    names = ["torch", "NVIDIA_cublas_cu12", "nvidia-cudnn-cu12", "cuda-bindings", "jax", "sympy"]
    report = {"install": [{"metadata": {"name": name}} for name in names]}
    cuda = ["cuda-bindings", "nvidia-cublas-cu12", "nvidia-cudnn-cu12"]
    assert tasks.cuda_packages(report) == cuda
    assert tasks.cuda_packages({"install": []}) == []


def test_pytorch_comes_from_its_cpu_only_index():
    assert tasks.TORCH_CPU[tasks.TORCH_CPU.index("--index-url") + 1] == tasks.TORCH_CPU_INDEX
    assert tasks.TORCH_CPU_INDEX == "https://download.pytorch.org/whl/cpu"
    assert tasks.JAX_CPU == ["jax[cpu]"]


def _pip_installs(calls):
    return [call["args"][3:] for call in calls if call["args"][:3] == ["-m", "pip", "install"]]


def _pytest_backends(calls):
    return [call["env"]["KERAS_BACKEND"] for call in calls if call["args"][:2] == ["-m", "pytest"]]


@posix_only
def test_backends_install_cpu_builds_and_test_jax_and_torch(tmp_path):
    _fake_venv(tmp_path / "venv")
    result, calls = _run_tasks(
        tmp_path, "test-backends", "--venv", str(tmp_path / "venv"), FAKE_TORCH_REPORT="torch,sympy"
    )
    assert result.returncode == 0, result.stderr
    dry_run = ["--dry-run", "--quiet", "--report", "-"]
    assert _pip_installs(calls) == [
        dry_run + tasks.JAX_CPU,
        ["--quiet"] + tasks.JAX_CPU,
        dry_run + tasks.TORCH_CPU,
        ["--quiet"] + tasks.TORCH_CPU,
    ]
    assert _pytest_backends(calls) == ["jax", "torch"]
    assert "skipping" not in result.stderr


@posix_only
def test_backends_never_install_a_torch_that_would_pull_cuda_packages(tmp_path):
    _fake_venv(tmp_path / "venv")
    report = "torch,nvidia-cublas-cu12,triton"
    result, calls = _run_tasks(
        tmp_path, "test-backends", "--venv", str(tmp_path / "venv"), FAKE_TORCH_REPORT=report
    )
    assert result.returncode == 0, result.stderr
    assert ["--quiet"] + tasks.TORCH_CPU not in _pip_installs(calls)
    assert _pytest_backends(calls) == ["jax"]
    assert "skipping PyTorch: torch==2.13.0" in result.stderr
    assert "would install CUDA packages: nvidia-cublas-cu12" in result.stderr


@posix_only
@pytest.mark.parametrize(
    ("pip_answer", "reason"),
    [
        ("fail", "pip finds no CPU-only PyTorch here (torch==2.13.0 --index-url "),
        ("unreachable", f"{tasks.TORCH_CPU_INDEX} could not be reached and pip finds no CPU-only"),
    ],
)
def test_backends_skip_pytorch_with_pips_reason_when_no_cpu_build_is_found(
    tmp_path, pip_answer, reason
):
    _fake_venv(tmp_path / "venv")
    result, calls = _run_tasks(
        tmp_path, "test-backends", "--venv", str(tmp_path / "venv"), FAKE_TORCH_REPORT=pip_answer
    )
    assert result.returncode == 0, result.stderr
    assert _pytest_backends(calls) == ["jax"]
    skipped = [line for line in result.stderr.splitlines() if "PyTorch" in line]
    assert len(skipped) == 2  # before the tests and again at the end, where it is seen
    assert skipped[-1].startswith(f"test-backends: PyTorch was skipped: {reason}")
    assert skipped[-1].endswith(
        "ERROR: Could not find a version that satisfies the requirement torch"
    )
