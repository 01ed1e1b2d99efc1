"""Progress bars for long work: loading, training epochs, scoring, writing maps (notebook 05).

Bars are drawn by ``tqdm`` on stderr, and only when asked for, so that notebooks, logs and
tests stay clean:

- in Python, a detector's ``verbose=1`` shows its bars (``verbose=0``, the default, is silent);
- the command line shows them when stderr is a terminal, unless ``--quiet`` is given
  (:func:`shown` turns them on for a block of code);
- ``ANOMALY_TUTORIAL_PROGRESS=1`` forces them on and ``=0`` off, whatever else says.

In a notebook with ``ipywidgets`` installed, ``tqdm.auto`` draws widget bars; without it, text
bars.
"""

import contextlib
import contextvars
import os
import sys
import warnings

#: "1" forces bars on, "0" off (the tests use it; so can a script).
ENVIRONMENT_VARIABLE = "ANOMALY_TUTORIAL_PROGRESS"
_SHOWN = contextvars.ContextVar("anomaly_tutorial_progress", default=False)


def wanted(quiet: bool = False) -> bool:
    """Whether the command line draws bars: on a terminal, and not ``--quiet``."""
    return not quiet and sys.stderr.isatty()


@contextlib.contextmanager
def shown(enabled: bool = True):
    """Within this block, every bar is drawn if ``enabled`` (the command line's switch)."""
    token = _SHOWN.set(bool(enabled))
    try:
        yield
    finally:
        _SHOWN.reset(token)


def enabled(verbose=0) -> bool:
    """Whether a bar is drawn: the environment variable, else ``verbose > 0`` or :func:`shown`."""
    forced = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    return bool(verbose) or _SHOWN.get()


def _tqdm():
    with warnings.catch_warnings():
        # Without ipywidgets, tqdm.auto warns once and falls back to text bars, which is fine.
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    return tqdm


def bar(iterable=None, *, total=None, description=None, unit="it", verbose=0, **options):
    """A tqdm bar on stderr, drawn only if :func:`enabled` (else a silent stand-in).

    Use it as tqdm: around an iterable, or as a context manager with ``update``. A bar without
    ``description`` is never drawn, so callers can pass one only where a bar makes sense.
    """
    show = description is not None and enabled(verbose)
    return _tqdm()(
        iterable,
        total=total,
        desc=description,
        unit=unit,
        disable=not show,
        file=sys.stderr,
        dynamic_ncols=True,
        **options,
    )


def keras_bars(epochs: int, verbose=0) -> list:
    """Keras callbacks for ``fit``: tqdm's own ``TqdmCallback`` (a bar over the epochs, with the
    losses, and one over each epoch's batches) if :func:`enabled`, else none."""
    if not enabled(verbose):
        return []
    from tqdm.keras import TqdmCallback

    bars = {"file": sys.stderr, "dynamic_ncols": True, "desc": "Training"}
    return [TqdmCallback(epochs, tqdm_class=_tqdm(), **bars)]


__all__ = ["ENVIRONMENT_VARIABLE", "bar", "enabled", "keras_bars", "shown", "wanted"]
