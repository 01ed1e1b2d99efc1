"""Reading image files from disk with clear errors (your own images).

Every problem with a user's files raises :class:`DatasetError` naming the path and what is
wrong, so that a learner can fix the folder instead of reading a traceback from Pillow.
"""

import contextlib
import os
import re
import stat
import warnings
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from skimage import color as skcolor
from skimage import transform

from anomaly_tutorial import filekinds
from anomaly_tutorial.errors import DatasetError, InputError

#: File types read as images (lower case). Anything else in an image folder is an error.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp")
#: Files that operating systems drop into folders; skipped like any name starting with ".".
IGNORED_FILES = ("Thumbs.db", "desktop.ini")
COLORS = ("gray", "rgb")
#: Images with more pixels are refused before they are decoded (``max_pixels=``): an 8000x8000
#: photo would take 2.6 GB as float32 just to be rejected for its size.
MAX_PIXELS = 4096 * 4096


def visible_entries(folder: Path) -> list[Path]:
    """Entries of ``folder`` in natural order (2.png before 10.png), without hidden files."""
    try:
        entries = [
            entry
            for entry in folder.iterdir()
            if not entry.name.startswith(".") and entry.name not in IGNORED_FILES
        ]
    except OSError as error:
        raise DatasetError(f"{folder}: cannot list this folder ({error.strerror}).") from None
    return sorted(entries, key=_natural_key)


def _natural_key(path: Path):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_images(folder: Path) -> list[Path]:
    """Image files of ``folder``; raise on sub-folders, other files, or no images at all.

    Only regular files (or symbolic links to them) are images: a FIFO named ``x.png`` is
    refused by name, found with ``lstat``, never opened.
    """
    files = []
    for entry in visible_entries(folder):
        if entry.is_dir():
            what = "sub-folder" if filekinds.describe(entry) == "a folder" else "link to a folder"
            raise DatasetError(
                f"{entry}: unexpected {what}; {folder} should contain only image files."
            )
        files.append(_image_file(entry, f" Move it out of {folder}."))
    if not files:
        raise DatasetError(f"{folder}: contains no images.")
    return files


def _image_file(path: Path, advice: str = "") -> Path:
    """``path`` if it is a regular file (or a link to one) named as an image, else raise (with
    ``advice`` after the reason)."""
    _check_regular(path)
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise DatasetError(
            f"{path}: not an image file (expected one of {', '.join(IMAGE_EXTENSIONS)}).{advice}"
        )
    return path


def _check_regular(path: Path) -> None:
    """Raise unless ``path`` is a regular file (or a link to one); nothing is opened."""
    if not filekinds.is_regular(path):
        what = filekinds.describe(path)
        if what == "nothing":
            raise DatasetError(f"{path}: does not exist.")
        raise DatasetError(
            f"{path}: is {what}, not an image file; image folders hold regular files only."
        )


@contextlib.contextmanager
def _opened(path: Path):
    """``path`` opened for reading, never blocking: checked with ``lstat`` first, opened with
    ``O_NONBLOCK`` and checked again on the open file (a FIFO swapped in meanwhile)."""
    _check_regular(path)
    handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(handle).st_mode
        if not stat.S_ISREG(mode):
            raise DatasetError(
                f"{path}: is {filekinds.kind(mode)}, not an image file; image folders hold "
                "regular files only."
            )
        os.set_blocking(handle, True)
        stream = os.fdopen(handle, "rb")
    except BaseException:
        os.close(handle)
        raise
    with stream:  # imageio may close it first
        yield stream


def image_size(path: Path, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """``(height, width)`` of an image file, read from its header without decoding it; an image
    of more than ``max_pixels`` pixels is refused here, before anything is decoded."""
    height, width = _reading(path, lambda stream: iio.improps(stream, **_hints(path)).shape[:2])
    if height * width > max_pixels:
        raise DatasetError(
            f"{path}: {width}x{height} pixels, more than max_pixels={max_pixels}. "
            "Shrink the image, or raise the limit (max_pixels=..., CLI: --max-pixels)."
        )
    return int(height), int(width)


def _hints(path: Path) -> dict:
    # index=0: the first frame of an animated GIF or multi-page TIFF.
    return {"index": 0, "extension": path.suffix.lower() or None}


def _reading(path: Path, read):
    """``read(stream)`` of the opened file, with every way a file can be unreadable turned into
    one DatasetError."""
    try:
        with warnings.catch_warnings(), _opened(path) as stream:
            # On an unreadable file imageio tries every plugin, and its legacy ones warn.
            warnings.simplefilter("ignore", DeprecationWarning)
            return read(stream)
    except DatasetError:
        raise
    except PermissionError:
        raise DatasetError(f"{path}: cannot read this image file (permission denied).") from None
    except Exception as error:  # imageio raises many types for unreadable files
        raise DatasetError(
            f"{path}: cannot read this image file; it is corrupt, truncated or not really a "
            f"{path.suffix} file ({str(error).splitlines()[0]})"
        ) from error


def read_image(path: Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """One image file as float32 (H, W, 1) or (H, W, 3) in [0, 1]; alpha is dropped. Its size
    is checked from the header first (:func:`image_size`), before it is decoded."""
    image_size(path, max_pixels)
    array = read_pixels(path)
    if array.ndim == 2:
        array = array[..., np.newaxis]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4) or min(array.shape[:2]) < 2:
        raise DatasetError(f"{path}: unsupported image shape {array.shape}.")
    if array.shape[-1] in (2, 4):  # gray+alpha or RGBA: the alpha channel is not image content
        array = array[..., :-1]
    if array.dtype == bool:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.unsignedinteger):
        return (array / np.iinfo(array.dtype).max).astype(np.float32)
    if np.issubdtype(array.dtype, np.floating) and np.all((array >= 0) & (array <= 1)):
        return array.astype(np.float32)
    raise DatasetError(
        f"{path}: unsupported pixel type {array.dtype}; expected unsigned integers or floats "
        "in [0, 1]."
    )


def read_pixels(path: Path) -> np.ndarray:
    """The pixels of an image file's first frame as stored (no scaling, no size check), the
    file opened as :func:`read_image` opens it."""
    return np.asarray(_reading(path, lambda stream: iio.imread(stream, **_hints(path))))


def check_options(resize, color) -> tuple[tuple[int, int] | None, str | None]:
    """Validate the ``resize`` and ``color`` arguments shared by every loader."""
    if color is not None and color not in COLORS:
        raise InputError(f"color must be None, 'gray' or 'rgb'; got {color!r}.")
    if resize is not None:
        try:
            height, width = (int(size) for size in resize)
        except (TypeError, ValueError):
            raise InputError(f"resize must be None or (height, width); got {resize!r}.") from None
        if height < 2 or width < 2 or (height, width) != tuple(resize):
            raise InputError(f"resize must hold two integers >= 2; got {resize!r}.")
        resize = (height, width)
    return resize, color


def convert(image: np.ndarray, resize, color) -> np.ndarray:
    """Apply the ``color`` conversion and ``resize`` to one (H, W, C) image."""
    if color == "gray" and image.shape[-1] == 3:
        image = skcolor.rgb2gray(image)[..., np.newaxis].astype(np.float32)
    elif color == "rgb" and image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    if resize is not None and image.shape[:2] != resize:
        image = transform.resize(image, (*resize, image.shape[-1]), anti_aliasing=True)
        image = np.clip(image, 0, 1).astype(np.float32)
    return image


def resize_mask(mask: np.ndarray, resize) -> np.ndarray:
    """Resize a bool (H, W) mask with nearest neighbours, so it stays a clean mask."""
    if resize is None or mask.shape == resize:
        return mask
    return transform.resize(mask, resize, order=0, anti_aliasing=False) > 0.5


def check_like(shape, path, reference_shape, reference_path) -> None:
    """Raise unless an image of ``shape`` at ``path`` has the size (and, for (H, W, C) shapes,
    the channels) of the image at ``reference_path``: one folder, one image size."""
    if len(shape) == 3 and len(reference_shape) == 3 and shape[-1] != reference_shape[-1]:
        raise DatasetError(
            f"{path}: has {shape[-1]} channel(s) but {reference_path} has "
            f"{reference_shape[-1]}; mixed grayscale and colour images. Pass color='gray' or "
            "color='rgb' to convert them all."
        )
    if tuple(shape[:2]) != tuple(reference_shape[:2]):
        raise DatasetError(
            f"{path}: is {shape[0]}x{shape[1]} pixels but {reference_path} is "
            f"{reference_shape[0]}x{reference_shape[1]}; images of mixed sizes. Pass "
            f"resize=(H, W), e.g. resize={tuple(reference_shape[:2])}, to resize them all."
        )


def stack(images: list[np.ndarray], paths: list[Path]) -> np.ndarray:
    """Stack images into (n, H, W, C), or explain which file breaks the common size/channels."""
    for image, path in zip(images, paths, strict=True):
        check_like(image.shape, path, images[0].shape, paths[0])
    return np.stack(images).astype(np.float32)


def image_paths(paths) -> list[Path]:
    """The image files that ``paths`` name: a folder means its image files, in natural order.

    ``paths`` is one path or a list of paths; missing files and non-image files are errors.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files = []
    for path in map(Path, paths):
        files.extend(list_images(path) if path.is_dir() else [_image_file(path)])
    if not files:
        raise DatasetError("got no paths: name at least one image file or folder.")
    return files


def read_images(
    paths, *, resize=None, color=None, max_pixels=MAX_PIXELS
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Read image files (a folder means its image files) into float32 (n, H, W, C).

    Returns ``(images, paths)``, the paths as strings in the order read. The checks and the
    ``resize``, ``color`` and ``max_pixels`` options are those of :func:`load_folder`. Used to
    score your own images with a fitted detector.
    """
    resize, color = check_options(resize, color)
    files = image_paths(paths)
    images = [convert(read_image(file, max_pixels), resize, color) for file in files]
    return stack(images, files), tuple(str(file) for file in files)
