"""Write output files without ever losing a user's file (the command line, notebook 05).

Every file is written under a temporary name in its own folder and renamed at the end, so a
failure leaves what was there before. Each folder written to keeps a small manifest,
``.anomaly-tutorial-outputs.json``, with the name and checksum of every file this program
wrote there. An existing file is replaced only with ``force=True``, and only if the manifest
lists it unchanged: a file the user made, or edited since, is never replaced.

Other programs and other runs may write the same names at the same time: a new name is taken
with a rename that never replaces (:func:`rename_new`), and an existing file is moved aside and
compared with what was there when the run opened it before it is replaced; either way, a file
that appeared or changed meanwhile is kept and the run fails with an :class:`OutputError`. The
manifest lists a file before it appears under its name, so a run killed half-way never leaves a
file of ours unlisted; its temporary files (:mod:`anomaly_tutorial.temporaries`) are removed by
the next run.

:func:`write_files` writes files whose bytes are at hand; :func:`staging` lets a long command
write its files as it goes (a CSV row by row, an overlay per batch) with the same promise:
nothing appears under its real name until everything has been written. Whole folders (a saved
model, the generated data) are written inside :func:`new_files_in` and renamed into place by
:func:`replace_folder`, which replaces an earlier folder only once it was checked again.
"""

import contextlib
import ctypes
import errno
import hashlib
import io
import json
import os
import shutil
import sys
from pathlib import Path

from anomaly_tutorial import filekinds, temporaries
from anomaly_tutorial.errors import OutputError

MANIFEST = ".anomaly-tutorial-outputs.json"


def check_targets(paths, force: bool = False) -> None:
    """Raise :class:`OutputError` unless every file in ``paths`` may be written.

    Call it before long work, so that a mistake costs nothing. Folders that do not exist yet
    are fine if they can be created; nothing is created or changed here.
    """
    for path in map(Path, paths):
        check_folder(path.parent, path)
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


def check_folder(folder, path=None) -> None:
    """Raise :class:`OutputError` unless files can be written into ``folder``: it is a folder,
    or can be made in the nearest folder that exists, and that is writable. ``path`` is the
    file named in messages (default: ``folder``)."""
    folder = Path(folder)
    path = folder if path is None else path
    existing = _existing_ancestor(folder)
    if not existing.is_dir():
        what = filekinds.describe(existing)
        raise OutputError(f"Cannot write {path}: {existing} is {what}, not a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write {path}: folder {existing} is not writable.")


def write_files(contents: dict, force: bool = False) -> None:
    """Write ``{path: bytes}``: all checked first, each under a temporary name, then renamed.

    The renames come last, after every file was written in full, so that a failure while
    writing leaves every earlier file as it was.
    """
    check_targets(contents, force)
    with staging(force) as staged:
        for path, data in contents.items():
            staged.write(path, data)


class Staging:
    """Files written together: each under a temporary name in its own folder, and all renamed
    to their real names by :meth:`commit`, or all removed by :meth:`discard`.

    Check the targets first (:func:`check_targets`). Only the names, not the contents, are kept
    in memory, so a command can write any number of files. What is at each target when its file
    is opened is remembered: :meth:`commit` never replaces a file that appeared or changed
    since (another program's, or a second run's), and replaces an existing one only with
    ``force`` and only if it is still this program's own, unchanged.
    """

    def __init__(self, force: bool = False):
        self.force = force
        self._staged = []  # _Staged entries, names as strings
        self._created = []  # folders made for the files, to remove again on failure
        self._cleaned = set()  # folders already rid of stale temporary files

    @contextlib.contextmanager
    def open(self, path, text: bool = False):
        """A binary stream (``text=True``: UTF-8 text, newlines as written) to write ``path``'s
        contents into (its temporary file)."""
        path = Path(path)
        check_targets([path], self.force)
        found = _checksum(path.read_bytes()) if path.exists() else None
        self._created.extend(make_folders(path.parent))
        if path.parent not in self._cleaned:
            temporaries.remove_stale(path.parent)
            self._cleaned.add(path.parent)
        handle, temporary = temporaries.make_file(path.parent)
        self._staged.append(_Staged(temporary, str(path), found))
        with _naming(path), os.fdopen(handle, "wb") as stream:
            if not text:
                yield stream
                return
            with io.TextIOWrapper(stream, encoding="utf-8", newline="") as text_stream:
                yield text_stream

    def write(self, path, data: bytes) -> None:
        """Write the bytes ``data`` as ``path``."""
        with self.open(path) as stream:
            stream.write(data)
        self._staged[-1].checksum = _checksum(data)

    def commit(self) -> None:
        """List every file in its folder's manifest, then rename each to its real name.

        The manifest comes first: a crash in between leaves a listed file not yet there, never
        a file of ours that ``--force`` would refuse to replace. A file replaced is listed with
        both checksums until it is.
        """
        by_folder = {}
        for staged in self._staged:
            staged.checksum = staged.checksum or _checksum(Path(staged.temporary).read_bytes())
            by_folder.setdefault(Path(staged.path).parent, {})[Path(staged.path).name] = staged
        listed = set()  # (folder, name) already listed with the same checksum: kept on failure
        for folder, files in by_folder.items():
            added = _record(folder, add={name: f.checksum for name, f in files.items()})
            listed.update((folder, name) for name in files if name not in added)
        exposed = set()
        try:
            for staged in self._staged:
                _expose(staged)
                exposed.add(staged.path)
        finally:
            for folder, files in by_folder.items():
                _record(
                    folder,
                    only={name: f.checksum for name, f in files.items() if f.path in exposed},
                    drop={
                        name: f.checksum
                        for name, f in files.items()
                        if f.path not in exposed and (folder, name) not in listed
                    },
                )
        self._staged = []

    def discard(self) -> None:
        """Remove every temporary file, and the folders made for them if they are empty."""
        for staged in self._staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged.temporary)
        for folder in reversed(self._created):  # only the folders made here, if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._staged = []


class _Staged:
    """One file of a :class:`Staging`: where it is written, where it goes, and the checksum
    of what was at its real name when it was opened (None: nothing was)."""

    def __init__(self, temporary: str, path: str, found: str | None):
        self.temporary, self.path, self.found = temporary, path, found
        self.checksum = None


@contextlib.contextmanager
def staging(force: bool = False):
    """A :class:`Staging` that commits when the block ends, or discards on any error."""
    staged = Staging(force)
    try:
        yield staged
        staged.commit()
    except BaseException:
        staged.discard()
        raise


def _expose(staged: _Staged) -> None:
    """Rename a written file to its real name: a new name with a rename that never replaces;
    an existing file is first moved aside and compared with what was there at the start."""
    path = Path(staged.path)
    aside = None
    if staged.found is not None:
        aside = temporaries.new_name(path.parent)
        try:
            rename_new(path, aside)
        except FileNotFoundError:  # removed meanwhile: nothing to replace any more
            aside = None
        else:
            if not _holds(aside, staged.found):
                _put_back(aside, path)
                raise OutputError(
                    f"{path} was changed by another program while this one ran; it was left "
                    "as it is and nothing was written to it."
                )
    try:
        rename_new(staged.temporary, path)
    except FileExistsError:
        if aside is not None:
            os.unlink(aside)  # our own earlier output, due to be replaced anyway
        raise OutputError(
            f"{path} was created by another program (or another run) while this one ran; it "
            "was left as it is and nothing was written to it."
        ) from None
    if aside is not None:
        os.unlink(aside)


@contextlib.contextmanager
def _naming(path: Path):
    """An ``OSError`` without a file name (a write on a full disk) names ``path``, the file
    the user asked for, not its temporary name."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise OSError(error.errno, error.strerror, str(path)) from error


def _holds(path: Path, checksum: str) -> bool:
    return path.is_file() and not path.is_symlink() and _checksum(path.read_bytes()) == checksum


def _put_back(aside: Path, path: Path) -> None:
    try:
        rename_new(aside, path)
    except FileExistsError:
        raise OutputError(
            f"{path} was changed by another program twice while this one ran; the first "
            f"version was kept as {aside}."
        ) from None


@contextlib.contextmanager
def new_files_in(folder):
    """A temporary folder inside ``folder`` to write new files and folders into, removed at the
    end with whatever is left in it; ``folder`` and its missing parents are made, and removed
    again if the block fails (when empty). What killed runs left there goes first."""
    created = make_folders(folder)
    try:
        temporaries.remove_stale(folder)
        staging = temporaries.make_folder(folder)
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        for made in reversed(created):
            with contextlib.suppress(OSError):
                made.rmdir()
        raise


def replace_folder(new, target, check_old=None) -> None:
    """Rename the folder ``new`` to ``target``, replacing an earlier ``target`` safely.

    The earlier folder (a real folder: a file or a link there is never replaced) is first moved
    aside, to a temporary name beside it, and ``check_old(aside)`` runs there: if it raises
    (say, files that are not ours appeared in it meanwhile), the folder is put back and the
    error goes on. Otherwise ``new`` takes the name
    and the earlier folder is deleted. Renames never replace anything: if another program
    creates ``target`` meanwhile, ``FileExistsError`` (``filename2``: where the earlier folder
    was kept, if there was one).
    """
    new, target = Path(new), Path(target)
    aside = None
    if target.is_dir() and not target.is_symlink():  # anything else: never replaced
        aside = temporaries.new_name(target.parent)
        rename_new(target, aside)
        try:
            if check_old is not None:
                check_old(aside)
        except BaseException:
            rename_new(aside, target)
            raise
    try:
        rename_new(new, target)
    except FileExistsError as error:
        kept = None if aside is None else str(aside)
        raise FileExistsError(error.errno, error.strerror, str(target), kept) from None
    if aside is not None:
        shutil.rmtree(aside)


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


def make_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; return those made, outermost first (to remove
    them again, innermost first, if the work fails)."""
    folder = Path(folder)
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir()
    return missing[::-1]


def _existing_ancestor(folder: Path) -> Path:
    while not os.path.lexists(folder) and folder != folder.parent:
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
    return _checksum(path.read_bytes()) in _checksums(_manifest(path.parent).get(path.name))


def _checksums(entry) -> list:
    """A manifest entry's checksums: one, or several while files are being renamed in."""
    return entry if isinstance(entry, list) else [] if entry is None else [entry]


def _record(folder: Path, add=None, only=None, drop=None) -> set:
    """Update the manifest: ``add`` a checksum to a name's (about to be renamed in), list
    ``only`` this one (renamed in), ``drop`` one (not renamed in after all). Whatever another
    run listed meanwhile stays listed: a file is never left unlisted by a race. Returns the
    names whose checksum ``add`` added (it was not listed yet)."""
    entries = _manifest(folder)
    added = set()
    for name, checksum in (add or {}).items():
        if checksum not in _checksums(entries.get(name)):
            added.add(name)
        entries[name] = [*_checksums(entries.get(name)), checksum]
    for name, checksum in (only or {}).items():
        entries[name] = checksum
    for name, checksum in (drop or {}).items():
        kept = [listed for listed in _checksums(entries.get(name)) if listed != checksum]
        if kept:
            entries[name] = kept
        else:
            entries.pop(name, None)
    for name, listed in entries.items():
        if isinstance(listed, list):
            listed = list(dict.fromkeys(listed))
            entries[name] = listed[0] if len(listed) == 1 else listed
    handle, temporary = temporaries.make_file(folder)
    try:
        with _naming(folder / MANIFEST), os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(entries, stream, indent=1, sort_keys=True)
        os.replace(temporary, folder / MANIFEST)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return added


__all__ = [
    "MANIFEST",
    "Staging",
    "check_folder",
    "check_targets",
    "figure_bytes",
    "make_folders",
    "new_files_in",
    "rename_new",
    "replace_folder",
    "staging",
    "write_files",
]
