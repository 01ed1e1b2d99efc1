"""What a path is, in the words an error message needs ("a file", "a FIFO (named pipe)", ...),
found without opening it (opening a FIFO blocks until someone writes into it)."""

import os
import stat

_KINDS = (
    (stat.S_ISREG, "a file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def kind(mode: int) -> str:
    """The kind of file of an ``st_mode``, as "a file", "a folder", ..."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def describe(path) -> str:
    """:func:`kind` of ``path``, "a symbolic link to <kind>", "a broken symbolic link" or
    "nothing"."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "nothing"
    if not stat.S_ISLNK(mode):
        return kind(mode)
    try:
        return f"a symbolic link to {kind(os.stat(path).st_mode)}"
    except OSError:
        return "a broken symbolic link"


def is_regular(path) -> bool:
    """True if ``path`` is a regular file, or a symbolic link to one."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


__all__ = ["describe", "is_regular", "kind"]
