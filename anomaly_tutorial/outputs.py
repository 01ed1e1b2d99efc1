"""Write output files without ever losing a user's file (the command line, notebook 05).

Every file is written under a temporary name in its own folder and renamed at the end, so a
failure leaves what was there before. Each folder written to keeps a small manifest,
``.anomaly-tutorial-outputs.json``, with the name and checksum of every file this program
wrote there. An existing file is replaced only with ``force=True``, and only if the manifest
lists it unchanged: a file the user made, or edited since, is never replaced.

:func:`write_files` writes files whose bytes are at hand; :func:`staging` lets a long command
write its files as it goes (a CSV row by row, an overlay per batch) with the same promise:
nothing appears under its real name until everything has been written.
"""

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from anomaly_tutorial.errors import OutputError

MANIFEST = ".anomaly-tutorial-outputs.json"


def check_targets(paths, force: bool = False) -> None:
    """Raise :class:`OutputError` unless every file in ``paths`` may be written.

    Call it before long work, so that a mistake costs nothing. Folders that do not exist yet
    are fine if they can be created; nothing is created or changed here.
    """
    for path in map(Path, paths):
        folder = _existing_ancestor(path.parent)
        if not folder.is_dir():
            raise OutputError(f"Cannot write {path}: {folder} is a file, not a folder.")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"Cannot write {path}: folder {folder} is not writable.")
        if path.is_dir():
            raise OutputError(f"Cannot write {path}: it is a folder; give a file name.")
        if path.exists() or path.is_symlink():
            if not force:
                raise OutputError(f"{path} exists. Use --force to replace it.")
            if not _ours(path):
                raise OutputError(
                    f"{path} exists and was not written by anomaly-tutorial (or was changed "
                    "since); it is never replaced, not even with --force. Move it away or "
                    "choose another output name."
                )


def write_files(contents: dict, force: bool = False) -> None:
    """Write ``{path: bytes}``: all checked first, each under a temporary name, then renamed.

    The renames come last, after every file was written in full, so that a failure while
    writing leaves every earlier file as it was.
    """
    check_targets(contents, force)
    with staging() as staged:
        for path, data in contents.items():
            staged.write(path, data)


class Staging:
    """Files written together: each under a temporary name in its own folder, and all renamed
    to their real names by :meth:`commit`, or all removed by :meth:`discard`.

    Check the targets first (:func:`check_targets`). Only the names, not the contents, are kept
    in memory, so a command can write any number of files.
    """

    def __init__(self):
        self._staged = []  # (temporary name, real name, checksum or None), as strings
        self._created = []

    @contextlib.contextmanager
    def open(self, path):
        """A binary stream to write ``path``'s contents into (its temporary file)."""
        path = Path(path)
        self._created.extend(_make_folders(path.parent))
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        self._staged.append((temporary, str(path), None))
        with os.fdopen(handle, "wb") as stream:
            yield stream

    def write(self, path, data: bytes) -> None:
        """Write the bytes ``data`` as ``path``."""
        with self.open(path) as stream:
            stream.write(data)
        temporary, path, _ = self._staged[-1]
        self._staged[-1] = (temporary, path, _checksum(data))

    def commit(self) -> None:
        """Rename every file to its real name, and list it in its folder's manifest."""
        written = {}
        for temporary, path, checksum in self._staged:
            checksum = checksum or _checksum(Path(temporary).read_bytes())
            os.replace(temporary, path)
            written.setdefault(Path(path).parent, {})[Path(path).name] = checksum
        for folder, checksums in written.items():
            _record(folder, checksums)
        self._staged = []

    def discard(self) -> None:
        """Remove every temporary file, and the folders made for them if they are empty."""
        for temporary, _, _ in self._staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        for folder in reversed(self._created):  # only the folders made here, if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._staged = []


@contextlib.contextmanager
def staging():
    """A :class:`Staging` that commits when the block ends, or discards on any error."""
    staged = Staging()
    try:
        yield staged
        staged.commit()
    except BaseException:
        staged.discard()
        raise


def rename_new(source, target) -> None:
    """Rename ``source`` (a file or a folder) to ``target``, which must not exist.

    Never replaces anything, not even an empty folder or a file created a moment ago by another
    program: on Linux the kernel checks and renames in one step (``renameat2`` with
    ``RENAME_NOREPLACE``); elsewhere a file is hard-linked then unlinked (the link fails if the
    name exists) and a folder is renamed after a last check. Raises ``FileExistsError`` if
    ``target`` exists.
    """
    source, target = os.fsencode(source), os.fsencode(target)
    renameat2 = getattr(_libc(), "renameat2", None)
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, source, _AT_FDCWD, target, _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL):  # EINVAL: a file system without it
            raise OSError(code, os.strerror(code), os.fsdecode(target))
    if os.path.isdir(source):
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fsdecode(target))
        os.rename(source, target)
        return
    os.link(source, target, follow_symlinks=False)
    os.unlink(source)


_AT_FDCWD, _RENAME_NOREPLACE = -100, 1


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - a Linux without a C library at hand
        return None


def figure_bytes(figure, dpi: int = 100) -> bytes:
    """A matplotlib figure as PNG bytes (closed afterwards), ready for :func:`write_files`."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def _make_folders(folder: Path) -> list[Path]:
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir()
    return missing[::-1]


def _existing_ancestor(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _manifest(folder: Path) -> dict:
    try:
        entries = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def _checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ours(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    return _manifest(path.parent).get(path.name) == _checksum(path.read_bytes())


def _record(folder: Path, checksums: dict) -> None:
    entries = {**_manifest(folder), **checksums}
    handle, temporary = tempfile.mkstemp(prefix=f"{MANIFEST}.", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(entries, stream, indent=1, sort_keys=True)
    os.replace(temporary, folder / MANIFEST)


__all__ = [
    "MANIFEST",
    "Staging",
    "check_targets",
    "figure_bytes",
    "rename_new",
    "staging",
    "write_files",
]
