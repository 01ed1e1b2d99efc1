"""Does pip find wheels for the course on each platform a learner has?

For each platform and Python version below, this evaluates the markers of pyproject.toml's
dependencies as pip would on that platform (``pip --platform`` does not: it evaluates them for
the machine it runs on), then asks ``pip install --dry-run --only-binary=:all:`` to resolve
them for that platform. Nothing is installed; it needs the package index. Exit status 1 names
the platform that did not resolve.
"""

import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
#: pip takes a manylinux tag literally, so Linux names every one that a glibc 2.28 system
#: (Debian 10 and newer) accepts.
LINUX = " ".join(
    [f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)]
    + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
)
#: (name, pip's platform tags, marker values there, Python versions). Intel Macs get
#: TensorFlow 2.16.2 at most, which has no wheel for Python 3.13; TensorFlow's macOS arm64
#: wheels need macOS 12 (an arm64 Mac on macOS 11 finds none).
PLATFORMS = [
    ("Linux x86-64", LINUX, ("linux", "x86_64", "Linux"), ("3.11", "3.13")),
    ("macOS x86-64", "macosx_10_15_x86_64", ("darwin", "x86_64", "Darwin"), ("3.11", "3.12")),
    ("macOS arm64", "macosx_12_0_arm64", ("darwin", "arm64", "Darwin"), ("3.11", "3.13")),
    ("Windows x86-64", "win_amd64", ("win32", "AMD64", "Windows"), ("3.11", "3.13")),
]
#: The packages whose resolved versions are printed.
SHOWN = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "scikit-learn")


def requirements(markers: tuple, python: str) -> list[str]:
    """pyproject.toml's dependencies that apply there, without their markers."""
    sys_platform, machine, system = markers
    environment = {
        "sys_platform": sys_platform,
        "platform_machine": machine,
        "platform_system": system,
        "os_name": "nt" if sys_platform == "win32" else "posix",
        "python_version": python,
        "python_full_version": f"{python}.0",
    }
    with PYPROJECT.open("rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    chosen = []
    for line in dependencies:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            requirement.marker = None
            chosen.append(str(requirement))
    return chosen


def resolve(tag: str, markers: tuple, python: str) -> str:
    """pip's list of what it would install there; raises SystemExit when it finds none."""
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "requirements.txt"
        listing.write_text("\n".join(requirements(markers, python)) + "\n")
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet"]
        command += ["--ignore-installed", "--only-binary=:all:"]
        command += [option for part in tag.split() for option in ("--platform", part)]
        command += ["--python-version", python, "--target", str(Path(folder) / "target")]
        command += ["--report", "-", "-r", str(listing)]
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
        raise SystemExit(f"{tag}, Python {python}: {' '.join(errors) or done.stderr[-300:]}")
    return done.stdout


def main() -> None:
    for name, tag, markers, pythons in PLATFORMS:
        for python in pythons:
            report = json.loads(resolve(tag, markers, python))
            versions = {
                canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
                for item in report["install"]
            }
            shown = ", ".join(f"{key} {versions[key]}" for key in SHOWN if key in versions)
            print(f"{name}, Python {python} ({tag.split()[0]}): resolves: {shown}")


if __name__ == "__main__":
    main()
