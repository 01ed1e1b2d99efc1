"""Progress bars for long work: loading, training epochs, scoring (notebook 05).

Bars are drawn by ``tqdm`` on stderr, and only when asked for, so that notebooks, logs and tests
stay clean: a detector's ``verbose=1`` shows its bars (``verbose=0``, the default, is silent);
the command line shows them on a terminal unless ``--quiet`` is given (within :func:`shown`,
tqdm's ``disable=None``); ``ANOMALY_TUTORIAL_PROGRESS=1`` forces them on and ``=0`` off, whatever
else says. In a notebook with ``ipywidgets`` installed, ``tqdm.auto`` draws widget bars.
"""

import contextlib
import contextvars
import os
import sys
import warnings

#: "1" forces bars on, "0" off (the tests use it; so can a script).
ENVIRONMENT_VARIABLE = "ANOMALY_TUTORIAL_PROGRESS"
_SHOWN = contextvars.ContextVar("anomaly_tutorial_progress", default=False)


@contextlib.contextmanager
def shown(enabled: bool = True):
    """Within this block, every bar is drawn if ``enabled`` (the command line's switch)."""
    token = _SHOWN.set(bool(enabled))
    try:
        yield
    finally:
        _SHOWN.reset(token)


def disabled(verbose=0):
    """tqdm's ``disable`` for a bar: True (none), False (drawn), or None (drawn on a terminal
    only, tqdm's own test). The environment variable wins; else ``verbose > 0`` draws, and
    within :func:`shown` tqdm decides."""
    forced = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if forced in ("0", "1"):
        return forced == "0"
    if verbose:
        return False
    return None if _SHOWN.get() else True


def _tqdm():
    with warnings.catch_warnings():
        # Without ipywidgets, tqdm.auto warns once and falls back to text bars, which is fine.
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    return tqdm


def bar(iterable=None, *, total=None, description=None, unit="it", verbose=0, **options):
    """A tqdm bar on stderr, drawn as :func:`disabled` says (else a silent stand-in).

    Use it as tqdm: around an iterable, or as a context manager with ``update``. A bar without
    ``description`` is never drawn, so callers can pass one only where a bar makes sense.
    """
    return _tqdm()(
        iterable,
        total=total,
        desc=description,
        unit=unit,
        disable=True if description is None else disabled(verbose),
        file=sys.stderr,
        dynamic_ncols=True,
        **options,
    )


def keras_bars(epochs: int, verbose=0) -> list:
    """Keras callbacks for ``fit``: tqdm's own ``TqdmCallback`` (a bar over the epochs, with the
    losses, and one over each epoch's batches), unless :func:`disabled` says none."""
    disable = disabled(verbose)
    if disable is True:
        return []
    from tqdm.keras import TqdmCallback

    bars = {"file": sys.stderr, "dynamic_ncols": True, "desc": "Training", "disable": disable}
    return [TqdmCallback(epochs, tqdm_class=_tqdm(), **bars)]


__all__ = ["ENVIRONMENT_VARIABLE", "bar", "disabled", "keras_bars", "shown"]
