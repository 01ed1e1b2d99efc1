"""Temporary files and folders of this program: recognisable, cleaned up, and as ``open`` would
make them.

Every temporary name starts with :data:`PREFIX` and the id of the process that made it
(``.anomaly-tutorial-tmp.<pid>.<random>``): a run killed with ``kill -9`` leaves them behind,
and the next run writing into that folder removes those whose process is gone
(:func:`remove_stale`). They start with "." so that the image loaders skip them.

``tempfile`` makes files 0600 and folders 0700 whatever the umask; the ones made here get
``0666 & ~umask`` and ``0777 & ~umask``, like any file or folder the user's programs create,
since they are renamed to their real names at the end.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

PREFIX = ".anomaly-tutorial-tmp."


def _prefix() -> str:
    return f"{PREFIX}{os.getpid()}."


def make_file(folder) -> tuple[int, str]:
    """A new temporary file in ``folder``: ``(open descriptor, path)``."""
    handle, path = tempfile.mkstemp(prefix=_prefix(), dir=folder)
    try:
        os.fchmod(handle, 0o666 & ~umask())
    except BaseException:
        os.close(handle)
        os.unlink(path)
        raise
    return handle, path


def make_folder(folder) -> Path:
    """A new, empty temporary folder in ``folder``."""
    path = tempfile.mkdtemp(prefix=_prefix(), dir=folder)
    os.chmod(path, 0o777 & ~umask())
    return Path(path)


def new_name(folder) -> Path:
    """A temporary name in ``folder`` that nothing has yet (for a rename that never replaces:
    the name may be taken by the time it is used, which such a rename reports)."""
    return Path(folder, tempfile.mktemp(prefix=_prefix(), dir=""))


def remove_stale(folder) -> list[Path]:
    """Remove the temporary files and folders of processes that are gone from ``folder``;
    return them. A symbolic link, or what this user may not remove, is left alone."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX) or entry.is_symlink():
            continue
        pid = entry.name[len(PREFIX) :].split(".", 1)[0]
        if pid.isdigit() and not running(int(pid)):
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def running(pid: int) -> bool:
    """Whether the process ``pid`` (this one included) still runs."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:  # pragma: no cover - not a valid process id here
        return False
    return True


def umask() -> int:
    """The process's umask, read without changing it where the system tells it."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: set and put back (not thread-safe, but brief)
    os.umask(mask)
    return mask


__all__ = ["PREFIX", "make_file", "make_folder", "new_name", "remove_stale", "running", "umask"]
