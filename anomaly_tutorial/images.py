"""The image contract every detector and feature extractor accepts (notebook 00).

Images are float32 in [0, 1], channels-last. ``(n, H, W)`` and ``(n, H, W, C)`` are accepted,
uint8 is scaled by 1/255; anything else is rejected with a ``ValueError`` that says what was
expected (an :class:`~anomaly_tutorial.errors.InputError`).
"""

import os

import numpy as np

from anomaly_tutorial.errors import InputError, printable

_CHANNELS = (1, 3)


def as_images(images, *, name: str = "X") -> np.ndarray:
    """Validate ``images`` and return them as float32 ``(n, H, W, C)`` in [0, 1].

    ``name`` is used in error messages, so that they name the argument the user passed.
    """
    if isinstance(images, str | bytes | os.PathLike):
        raise InputError(
            f"{name} is a path ({printable(os.fsdecode(images))!r}), not an array of images; "
            "read the files first with datasets.read_images(...), or wrap a detector to read "
            "them in batches: streaming.Streamed(detector)."
        )
    try:
        array = np.asarray(images)
    except ValueError:  # NumPy refuses nested lists of different lengths
        raise InputError(
            f"{name} is a ragged list: its images (or their rows) differ in size. Give images of "
            "one size, as an array (n, H, W) or (n, H, W, C); resize them first."
        ) from None
    if array.dtype == object:
        raise InputError(f"{name} must be a numeric array of images, got dtype=object.")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(
            f"{name} has complex values (dtype {array.dtype}); images are real numbers. Pass "
            f"the magnitude, np.abs({name}), or the real part, {name}.real, if that is meant."
        )
    if array.dtype.kind in "USV":
        raise InputError(
            f"{name} holds text (dtype {array.dtype}), not pixels; a path is not an array of "
            "images: read the files first with datasets.read_images(...)."
        )
    if array.ndim == 3 and array.shape[-1] == 3:
        # (64, 64, 3) is one RGB image far more often than 64 grayscale images 3 pixels wide.
        raise InputError(
            f"{name} has shape {array.shape}: one RGB image, not a batch. Pass {name}[None] "
            f"(shape {(1, *array.shape)}); grayscale images 3 pixels wide need {name}[..., None]."
        )
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4:
        raise InputError(
            f"{name} must be a batch of images shaped (n, H, W) or (n, H, W, C); "
            f"got an array with shape {array.shape}. A single image needs a leading axis: "
            f"image[np.newaxis]."
        )
    n_images, height, width, channels = array.shape
    if n_images == 0:
        raise InputError(f"{name} contains no images (shape {array.shape}).")
    if channels not in _CHANNELS:
        raise InputError(
            f"{name} must have 1 (grayscale) or 3 (RGB) channels in the last axis; "
            f"got shape {array.shape}. Channels go last: (n, H, W, C)."
        )
    if height < 2 or width < 2:
        raise InputError(f"{name} images must be at least 2x2 pixels; got {height}x{width}.")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255.0)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise InputError(f"{name} must be uint8 or float in [0, 1]; got dtype {array.dtype}.")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name} contains NaN or infinite values.")
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        raise InputError(
            f"{name} must be uint8, or float scaled to [0, 1]; got values in "
            f"[{low:.3g}, {high:.3g}]. Divide by 255 (or by the data's maximum) first."
        )
    return array


def size_pair(value, name: str) -> tuple[int, int]:
    """A size in pixels as ``(rows, columns)``: ``8`` -> ``(8, 8)``, ``(8, 4)`` stays; anything
    else is an :class:`~anomaly_tutorial.errors.InputError` naming the argument ``name``."""
    values = (value, value) if np.isscalar(value) else tuple(value)
    if len(values) != 2 or not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in values
    ):
        raise InputError(
            f"{name} must be a positive int or a pair of positive ints (rows, columns); "
            f"got {value!r}."
        )
    return int(values[0]), int(values[1])


def image_shape(images: np.ndarray) -> tuple[int, int, int]:
    """``(H, W, C)`` of a validated batch."""
    return tuple(int(size) for size in images.shape[1:])


def is_larger(images: np.ndarray, fitted_shape) -> bool:
    """True if ``(n, H, W, ...)`` images are at least as large on both sides as the ``(h, w, c)``
    a detector was fitted on, and not the same size: ``tiling.Tiled`` scores them in tiles."""
    (height, width), fitted = images.shape[1:3], tuple(fitted_shape[:2])
    return height >= fitted[0] and width >= fitted[1] and (height, width) != fitted


def check_fitted_shape(images: np.ndarray, fitted_shape, owner: str, tiles=False) -> None:
    """Raise ``ValueError`` unless validated ``images`` have the ``(H, W, C)`` seen in fit
    (``tiles``: for larger ones, say that ``tiling.Tiled`` scores them, as for a detector)."""
    if image_shape(images) == tuple(fitted_shape):
        return
    height, width, channels = image_shape(images)
    fit_height, fit_width, fit_channels = fitted_shape
    if tiles and is_larger(images, fitted_shape) and channels == fit_channels:
        raise InputError(
            f"X has images of {height}x{width}, larger than the {fit_height}x{fit_width} "
            f"{owner} was fitted on. Score them in tiles: wrap the detector, "
            "tiling.Tiled(detector).score_samples(X) (notebook 05)."
        )
    raise InputError(
        f"X has images of {height}x{width} with {channels} channel(s), but {owner} was fitted "
        f"on {fit_height}x{fit_width} with {fit_channels} channel(s). Resize or convert the "
        f"images first."
    )
