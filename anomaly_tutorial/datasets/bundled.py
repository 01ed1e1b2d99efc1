"""Where the course's files live, and how the generated, bundled data is checked.

:data:`COURSE_DIR` is the one place that says where the course is: the repository in a checkout;
in an installed package (a plain ``pip install``), the copy of the course's files installed with
it in ``anomaly_tutorial/course/``, laid out as in the repository (pyproject.toml,
``[tool.setuptools]``): ``data/`` (the generated data and the trained networks), ``notebooks/``
and ``benchmarks/results/*.json``.

The generated data is committed under ``data/`` so that the notebooks start at once; without it,
a collection is generated into a user cache on first use (:func:`generated_folder`). Nothing is
downloaded.
"""

import hashlib
import json
import os
import sys
from pathlib import Path, PurePosixPath

import numpy as np

from anomaly_tutorial import filekinds
from anomaly_tutorial.datasets import imagefiles
from anomaly_tutorial.errors import AnomalyTutorialError
from anomaly_tutorial.outputs import new_files_in, rename_new, replace_folder

_PACKAGE = Path(__file__).resolve().parents[1]
#: The course's files: the checkout (pyproject.toml beside the package), or the installed copy.
COURSE_DIR = (
    _PACKAGE.parent if (_PACKAGE.parent / "pyproject.toml").is_file() else _PACKAGE / "course"
)
DATA_DIR = COURSE_DIR / "data"
NOTEBOOKS_DIR = COURSE_DIR / "notebooks"
MANIFEST = "manifest.json"


def pixel_hash(pixels: np.ndarray) -> str:
    """SHA-256 of decoded uint8 pixels (shape, then bytes): unlike a file hash, it does not
    change when another PNG encoder compresses the same pixels differently (data/README.md)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    return hashlib.sha256(str(pixels.shape).encode() + pixels.tobytes()).hexdigest()


def write_manifest(path: Path, version: int, files: dict, **described) -> dict:
    """Write a generated collection's manifest and return it; one file a line in the JSON, so
    that ``git diff`` stays readable. ``described`` says what further entry fields mean."""
    pixels = "sha256 of str(shape) + raw bytes of the decoded uint8 pixel array"
    manifest = {"generator_version": version, "pixel_hash": pixels, **described, "files": files}
    lines = [f"  {json.dumps(name)}: {json.dumps(entry)}" for name, entry in files.items()]
    header = {key: value for key, value in manifest.items() if key != "files"}
    text = json.dumps(header, indent=1)[:-2] + ',\n "files": {\n' + ",\n".join(lines) + "\n }\n}\n"
    Path(path).write_text(text, encoding="utf-8")
    return manifest


def in_checkout() -> bool:
    """True when running from the repository (its ``data/`` folder is where data belongs);
    False for an installed package, whose files are never written to."""
    return COURSE_DIR == _PACKAGE.parent


def cache_dir(collection: str, version: int) -> Path:
    """The user cache folder of ``collection`` at generator ``version`` (in
    ``ANOMALY_TUTORIAL_DATA`` or ``~/.cache/anomaly_tutorial``)."""
    base = os.environ.get("ANOMALY_TUTORIAL_DATA") or Path.home() / ".cache" / "anomaly_tutorial"
    return Path(base) / f"{collection}-v{version}"


def default_folder(collection: str, version: int) -> Path:
    """Where ``make data`` writes ``collection``: ``data/<collection>`` in a checkout, else the
    user cache (an installed package has no repository)."""
    return DATA_DIR / collection if in_checkout() else cache_dir(collection, version)


def generated_folder(collection: str, version: int, ready, generate, name: str = "") -> Path:
    """``data/<collection>/<name>`` if ``ready(folder)`` says it is, else the same folder in the
    cache, generated there on first use (a line on stderr says so: it takes seconds).

    ``generate(staging)`` writes the folder's content into an empty staging folder, which is
    then renamed to ``cached`` with a rename that never replaces (:func:`~anomaly_tutorial.
    outputs.rename_new`): a parallel process sees the whole folder or none of it, and a folder
    another process put there first is kept.
    """
    bundled, cached = DATA_DIR / collection / name, cache_dir(collection, version) / name
    if ready(bundled):
        return bundled
    if not ready(cached):
        print(
            f"{bundled} is missing: generating it into {cached} (once, under a minute)...",
            file=sys.stderr,
            flush=True,
        )
        with new_files_in(cached.parent) as staging:
            try:
                generate(staging)
                rename_new(staging, cached)
            except OSError:  # another process may have put the whole folder there first
                if not ready(cached):
                    raise
    return cached


def check_replaceable(folder: Path, owned: dict, force: bool, shown: Path | None = None) -> None:
    """Refuse to replace ``folder`` without ``force``, or when it holds anything the generator
    did not write: a file, folder or link not in ``owned`` (``{path relative to folder: pixel
    hash, or None for a file without pixels}``, see :func:`owned_files`), or a generated image
    whose pixels were changed since. Nothing of the user's is ever deleted. ``shown`` is the
    name used in messages (default ``folder``).
    """
    shown = folder if shown is None else shown
    if not os.path.lexists(folder):
        return
    what = filekinds.describe(folder)
    if what != "a folder":
        raise FileExistsError(f"{shown}: is {what}, not a folder of generated data; move it away.")
    if not force:
        raise FileExistsError(
            f"{shown}: already exists; pass force=True (or --force) to regenerate it."
        )
    folders = {str(parent) for name in owned for parent in PurePosixPath(name).parents}
    foreign, changed = [], []
    for parent, subfolders, files in os.walk(folder):
        for name in sorted(subfolders) + sorted(files):
            path = Path(parent, name)
            relative = path.relative_to(folder).as_posix()
            what = filekinds.describe(path)
            if what == "a folder" and relative in folders:
                continue
            if what == "a file" and relative in owned:
                if owned[relative] is not None and _pixel_hash_of(path) != owned[relative]:
                    changed.append(relative)
                continue
            foreign.append(f"{relative} ({what})")
    if foreign:
        raise FileExistsError(
            f"{shown}: holds what the generator did not write: {_some(foreign)}; move them "
            "elsewhere first. Nothing was changed."
        )
    if changed:
        raise FileExistsError(
            f"{shown}: holds generated images whose pixels were changed since: "
            f"{_some(changed)}; they are never replaced: move them elsewhere first. Nothing was "
            "changed."
        )


def _some(names: list[str]) -> str:
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return ", ".join(names[:3]) + more


def _pixel_hash_of(path: Path) -> str | None:
    try:
        return pixel_hash(imagefiles.read_pixels(path))
    except (AnomalyTutorialError, OSError):
        return None


def owned_files(manifest_path: Path, prefix: str = "") -> dict:
    """Files listed in a manifest (relative to its folder) that start with ``prefix``, with
    ``prefix`` removed, and their pixel hashes; the manifest itself counts (without a hash)
    when ``prefix`` is empty."""
    owned = {
        name.removeprefix(prefix): entry.get("sha256") if isinstance(entry, dict) else None
        for name, entry in previous_files(manifest_path, prefix).items()
    }
    return owned | ({MANIFEST: None} if not prefix and manifest_path.is_file() else {})


def replace_generated(new: Path, target: Path, owned: dict) -> None:
    """Rename the folder ``new`` to ``target`` (:func:`~anomaly_tutorial.outputs.
    replace_folder`), the generator's earlier ``target`` checked again once moved aside
    (:func:`check_replaceable`), so that nothing put into it meanwhile is lost."""
    replace_folder(new, target, lambda old: check_replaceable(old, owned, True, shown=target))


def changes(before: dict, after: dict) -> str:
    """What regenerating changed, from the manifest entries before and after, in words."""
    new = sum(name not in before for name in after)
    changed = sum(name in before and before[name] != after[name] for name in after)
    same = len(after) - new - changed
    gone = sum(name not in after for name in before)
    counts = [(new, "new"), (changed, "changed"), (same, "unchanged"), (gone, "removed")]
    return ", ".join(f"{count} {word}" for count, word in counts if count) or "no files"


def previous_files(manifest_path: Path, prefix: str = "") -> dict:
    """The manifest's file entries whose names start with ``prefix`` (none if it is missing)."""
    if not manifest_path.is_file():
        return {}
    listed = json.loads(manifest_path.read_text(encoding="utf-8")).get("files", {})
    return {name: entry for name, entry in listed.items() if name.startswith(prefix)}
