"""The package's own error types: a mistake in what the user gave, told in one line.

All are ``ValueError``s. The command line prints them as one line and exits with code 2.
"""

import os


class AnomalyTutorialError(ValueError):
    """Base class: the user's input is wrong and the message says how."""


class InputError(AnomalyTutorialError):
    """Images or labels passed to a function or a detector that do not fit its contract."""


class DatasetError(AnomalyTutorialError):
    """A data folder or image file that cannot be loaded; the message names the path."""


class ModelFolderError(AnomalyTutorialError):
    """A folder that is not a readable saved detector, or cannot be written as one."""


class OutputError(AnomalyTutorialError):
    """An output file or folder that cannot be written without losing someone's data."""


class UsageError(AnomalyTutorialError):
    """A mistake in how the command line was called."""


def printable(path) -> str:
    """``path`` as text any terminal or file can show, for messages (bytes that are not UTF-8,
    such as a Latin-1 file name, escaped)."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def system_error(error: OSError) -> str:
    """An ``OSError`` (a full disk, a read-only file system, permission denied, a name too
    long, ...) in one line that names its path."""
    reason = error.strerror or str(error)
    paths = [path for path in (error.filename, error.filename2) if path is not None]
    if not paths:
        return f"{reason}."
    return f"{' -> '.join(printable(os.fsdecode(path)) for path in paths)}: {reason}."
