"""Write output files without ever losing a user's file.

Every file is written under a temporary name in its own folder and renamed at the end with a
rename that never replaces (:func:`rename_new`), so a failure, or another program writing the
same name meanwhile, leaves what was there. Each folder written to keeps a manifest
(:data:`MANIFEST`) with the checksum of every file this program wrote there: an existing file
is replaced only with ``force=True`` and only if it is listed unchanged. A file is listed before
it takes its name, so a run killed half-way never leaves a file of ours unlisted.
"""

import contextlib
import ctypes
import dataclasses
import errno
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from anomaly_tutorial import filekinds
from anomaly_tutorial.errors import OutputError

MANIFEST = ".anomaly-tutorial-outputs.json"
#: Temporary names are ``<PREFIX><pid>.<random>``: those a killed run left are removed by the
#: next run writing there, once their process is gone. The "." makes image loaders skip them.
PREFIX = ".anomaly-tutorial-tmp."
#: In a temporary name, what follows this is the name of the folder it was moved aside from.
ASIDE = ".aside-"


def check_targets(paths, force: bool = False) -> None:
    """Raise :class:`OutputError` unless every file in ``paths`` may be written; call it before
    long work. Creates and changes nothing."""
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
    """Raise :class:`OutputError` unless ``folder`` is, or can be made in, a writable folder;
    messages name ``path`` (default: ``folder``)."""
    existing = Path(folder)
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    path = folder if path is None else path
    if not existing.is_dir():
        what = filekinds.describe(existing)
        raise OutputError(f"Cannot write {path}: {existing} is {what}, not a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write {path}: folder {existing} is not writable.")


def write_files(contents: dict, force: bool = False) -> None:
    """Write ``{path: bytes}``: all checked first, and renamed only once all are written."""
    check_targets(contents, force)
    with staging(force) as staged:
        for path, data in contents.items():
            staged.write(path, data)


@dataclasses.dataclass
class _Staged:
    """One staged file; ``found``: the checksum of what was at ``path`` when it was opened."""

    temporary: str
    path: str
    found: str | None
    checksum: str | None = None


class Staging:
    """Files written under temporary names, all renamed to their names by :meth:`commit` or all
    removed by :meth:`discard`; only the names are kept in memory.

    :meth:`commit` never replaces a file that appeared or changed since it was opened (another
    program's, or a second run's), and an existing one only with ``force`` and if it is ours.
    """

    def __init__(self, force: bool = False):
        self.force = force
        self._staged = []
        self._created = []  # folders made for the files, to remove again on failure
        self._cleaned = set()  # folders already rid of stale temporary files

    @contextlib.contextmanager
    def open(self, path, text: bool = False):
        """A stream to write ``path``'s contents into: binary, or with ``text`` UTF-8 text with
        newlines as written."""
        path = Path(path)
        check_targets([path], self.force)
        found = _checksum(path.read_bytes()) if path.exists() else None
        self._created.extend(_make_folders(path.parent))
        if path.parent not in self._cleaned:
            _remove_stale(path.parent)
            self._cleaned.add(path.parent)
        handle, temporary = _make_file(path.parent)
        self._staged.append(_Staged(temporary, str(path), found))
        with _naming(path), os.fdopen(handle, "wb") as stream:
            wrapped = io.TextIOWrapper(stream, encoding="utf-8", newline="") if text else None
            with wrapped or contextlib.nullcontext(stream) as opened:
                yield opened

    def write(self, path, data: bytes) -> None:
        with self.open(path) as stream:
            stream.write(data)
        self._staged[-1].checksum = _checksum(data)

    def commit(self) -> None:
        """List every file in its folder's manifest, then rename each to its real name.

        Listed first: a crash in between leaves a listed file not yet there, never a file of
        ours that ``--force`` would refuse to replace. A file being replaced is listed with both
        checksums until it is.
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
        _remove_empty(self._created)
        self._staged = []


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
    """Rename a written file to its real name; an existing file is first moved aside and
    compared with what was there when the file was opened."""
    path = Path(staged.path)
    aside = None
    if staged.found is not None:
        aside = _new_name(path.parent)
        try:
            rename_new(path, aside)
        except FileNotFoundError:  # removed meanwhile: nothing to replace any more
            aside = None
        else:
            if not _ours(aside, [staged.found]):
                try:
                    rename_new(aside, path)
                except FileExistsError:
                    raise OutputError(
                        f"{path} was changed by another program twice while this one ran; "
                        f"the first version was kept as {aside}."
                    ) from None
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
    """An ``OSError`` without a file name (a write on a full disk) names ``path``, not the
    temporary file."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise OSError(error.errno, error.strerror, str(path)) from error


@contextlib.contextmanager
def new_files_in(folder):
    """A temporary folder in ``folder`` to write new files into, removed at the end with what is
    left in it. ``folder`` and its missing parents are made, and removed again (if empty) when
    the block fails; what killed runs left there is removed first."""
    created = _make_folders(folder)
    try:
        _remove_stale(folder)
        staged = Path(tempfile.mkdtemp(prefix=_prefix(), dir=folder))
        os.chmod(staged, 0o777 & ~_umask())  # the user's mode, not tempfile's 0700
        try:
            yield staged
        finally:
            shutil.rmtree(staged, ignore_errors=True)
    except BaseException:
        _remove_empty(created)
        raise


def replace_folder(new, target, check_old=None) -> None:
    """Rename the folder ``new`` to ``target``, replacing an earlier ``target`` safely.

    An earlier folder (never a file or a link) is moved aside first and ``check_old(aside)``
    runs there; if it raises, the folder is put back. Otherwise ``new`` takes the name and the
    earlier folder is deleted. If another program creates ``target`` meanwhile:
    ``FileExistsError``, with ``filename2`` where the earlier folder was kept (if any). If this
    process is killed between the two renames, the next :func:`new_files_in` there puts the
    earlier folder back (its temporary name says where it came from).
    """
    new, target = Path(new), Path(target)
    aside = None
    if target.is_dir() and not target.is_symlink():
        aside = _aside_name(target)
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
    """Rename the file or folder ``source`` to ``target``; ``FileExistsError`` if it exists.

    Never replaces anything, not even a file created a moment ago by another program: on Linux
    the kernel checks and renames in one step (``renameat2`` with ``RENAME_NOREPLACE``);
    elsewhere a file is hard-linked then unlinked and a folder renamed after a last check.
    """
    source, target = os.fsencode(source), os.fsencode(target)
    renameat2 = getattr(_LIBC, "renameat2", None)
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


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_AT_FDCWD, _RENAME_NOREPLACE = -100, 1  # from <fcntl.h> and <stdio.h>


def figure_bytes(figure, dpi: int = 100) -> bytes:
    """A matplotlib figure as PNG bytes (closed afterwards), ready for :func:`write_files`."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def _make_folders(folder) -> list[Path]:
    """Make ``folder`` and its missing parents; return those made, outermost first."""
    folder = Path(folder)
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir()
    return missing[::-1]


def _remove_empty(folders) -> None:
    for folder in reversed(folders):  # innermost first, and only if still empty
        with contextlib.suppress(OSError):
            folder.rmdir()


def _manifest(folder: Path) -> dict:
    try:
        entries = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def _checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ours(path: Path, checksums=None) -> bool:
    """Whether ``path`` is a regular file with one of ``checksums`` (default: those the
    manifest lists for it)."""
    if path.is_symlink() or not path.is_file():
        return False
    if checksums is None:
        checksums = _checksums(_manifest(path.parent).get(path.name))
    return _checksum(path.read_bytes()) in checksums


def _checksums(entry) -> list:
    """A manifest entry's checksums: one, or several while files are being renamed in."""
    return entry if isinstance(entry, list) else [] if entry is None else [entry]


def _record(folder: Path, add=None, only=None, drop=None) -> set:
    """Update the manifest: ``add`` a checksum to a name's (about to be renamed in), list
    ``only`` this one (renamed in), ``drop`` one (not renamed in after all). What another run
    listed meanwhile stays listed. Returns the names whose checksum ``add`` added."""
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
    handle, temporary = _make_file(folder)
    try:
        with _naming(folder / MANIFEST), os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(entries, stream, indent=1, sort_keys=True)
        os.replace(temporary, folder / MANIFEST)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return added


def _prefix() -> str:
    return f"{PREFIX}{os.getpid()}."


def _make_file(folder) -> tuple[int, str]:
    """A new temporary file in ``folder``: ``(open descriptor, path)``. Its mode is the user's
    (``0666 & ~umask``, not tempfile's 0600), since it is renamed to its real name at the end."""
    handle, path = tempfile.mkstemp(prefix=_prefix(), dir=folder)
    try:
        os.fchmod(handle, 0o666 & ~_umask())
    except BaseException:
        os.close(handle)
        os.unlink(path)
        raise
    return handle, path


def _new_name(folder) -> Path:
    """A temporary name in ``folder`` that nothing has yet, for :func:`rename_new` (which
    reports it if it was taken meanwhile)."""
    return Path(folder, tempfile.mktemp(prefix=_prefix(), dir=""))


def _aside_name(target: Path) -> Path:
    """Where :func:`replace_folder` moves an earlier ``target`` while it renames the new one:
    a temporary name that ends with ``target``'s, so that :func:`_remove_stale` can put it back
    after a kill (a name too long for that gets a plain temporary name)."""
    name = _new_name(target.parent)
    marked = name.with_name(f"{name.name}{ASIDE}{target.name}")
    return marked if len(os.fsencode(marked.name)) <= 255 else name


def _remove_stale(folder) -> None:
    """Remove from ``folder`` the temporary files and folders of processes that are gone (not
    a symbolic link, nor what this user may not remove). An earlier folder that
    :func:`replace_folder` moved aside, of a process killed before the new one took its name,
    is put back under that name instead."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(PREFIX) or entry.is_symlink():
            continue
        pid = entry.name[len(PREFIX) :].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                origin = entry.name.partition(ASIDE)[2]
                if origin not in ("", ".", "..") and entry.is_dir(follow_symlinks=False):
                    with contextlib.suppress(FileExistsError):  # the new folder took its name
                        rename_new(entry.path, Path(folder, origin))
                        continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:  # another user's process
        return True
    except OSError:  # ProcessLookupError: gone (or not a valid process id here)
        return False
    return True


def _umask() -> int:
    """The process's umask, read without changing it where the system tells it."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: set and put back (not thread-safe, but brief)
    os.umask(mask)
    return mask


__all__ = [
    "MANIFEST",
    "PREFIX",
    "check_folder",
    "check_targets",
    "figure_bytes",
    "new_files_in",
    "rename_new",
    "replace_folder",
    "staging",
    "write_files",
]
