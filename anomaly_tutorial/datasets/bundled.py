"""Where the generated, bundled data lives, and how it is checked (data/README.md).

The repository commits the generated data under ``data/`` so that the notebooks start at once.
An installed package has no repository: it regenerates the data into a user cache folder on
first use (``ANOMALY_TUTORIAL_DATA`` or ``~/.cache/anomaly_tutorial``). Nothing is downloaded.
Each collection's ``manifest.json`` holds the SHA-256 of every file's decoded pixels.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
MANIFEST = "manifest.json"


def pixel_hash(pixels: np.ndarray) -> str:
    """SHA-256 of decoded uint8 pixels (shape, then bytes): unlike a file hash, it does not
    change when another PNG encoder compresses the same pixels differently (data/README.md)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    return hashlib.sha256(str(pixels.shape).encode() + pixels.tobytes()).hexdigest()


def write_manifest(path: Path, manifest: dict) -> None:
    """Write ``manifest`` as JSON with one file per line, so that ``git diff`` stays readable."""
    files = manifest["files"].items()
    lines = [f"  {json.dumps(name)}: {json.dumps(entry)}" for name, entry in files]
    header = {key: value for key, value in manifest.items() if key != "files"}
    text = json.dumps(header, indent=1)[:-2] + ',\n "files": {\n' + ",\n".join(lines) + "\n }\n}\n"
    Path(path).write_text(text, encoding="utf-8")


def in_checkout() -> bool:
    """True when running from the repository (its ``data/`` folder is where data belongs)."""
    return (DATA_DIR.parent / "pyproject.toml").is_file()


def cache_dir(collection: str, version: int) -> Path:
    """The user cache folder of ``collection`` at generator ``version``."""
    base = os.environ.get("ANOMALY_TUTORIAL_DATA") or Path.home() / ".cache" / "anomaly_tutorial"
    return Path(base) / f"{collection}-v{version}"


def generated_folder(bundled: Path, cached: Path, ready, generate) -> Path:
    """``bundled`` if ``ready(bundled)``, else ``cached``, generated there on first use.

    ``generate(staging)`` writes the folder's content into an empty staging folder, which is
    then renamed to ``cached``: a rename is atomic, so a parallel process sees the whole
    folder or none of it.
    """
    if ready(bundled):
        return bundled
    if not ready(cached):
        cached.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".generating-", dir=cached.parent))
        try:
            generate(staging)
            os.rename(staging, cached)
        except OSError:
            if not ready(cached):
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return cached


def check_replaceable(folder: Path, owned, force: bool) -> None:
    """Refuse to replace ``folder`` without ``force``, or when it holds a file that is not in
    ``owned`` (paths relative to ``folder`` that the generator wrote): a file of the user's is
    never deleted."""
    if not folder.exists():
        return
    if not force:
        raise FileExistsError(
            f"{folder}: already exists; pass force=True (or --force) to regenerate it."
        )
    owned = set(owned)
    foreign = sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if not path.is_dir() and path.relative_to(folder).as_posix() not in owned
    )
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise FileExistsError(
            f"{folder}: holds files the generator did not write ({', '.join(foreign[:3])}{more});"
            " move them elsewhere first. Nothing was changed."
        )


def owned_files(manifest_path: Path, prefix: str = "") -> set:
    """Files listed in a manifest (relative to its folder) that start with ``prefix``, with
    ``prefix`` removed; the manifest itself counts when ``prefix`` is empty."""
    if not manifest_path.is_file():
        return set()
    listed = json.loads(manifest_path.read_text(encoding="utf-8")).get("files", {})
    owned = {name.removeprefix(prefix) for name in listed if name.startswith(prefix)}
    return owned | ({MANIFEST} if not prefix else set())
