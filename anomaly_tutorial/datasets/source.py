"""Image sources: images in memory or image files read lazily, batch by batch (notebook 05).

Every detector's ``fit`` and ``score_samples`` take an image source as well as an array, so a
folder larger than memory can be trained on and scored::

    detector.fit(datasets.image_source("my_parts/train/good"))

:class:`ArraySource` wraps an array; :class:`ImageFiles` reads files only when a batch is asked
for, with the checks and options (``resize``, ``color``, ``max_pixels``) of
:func:`~anomaly_tutorial.datasets.load_folder`. :func:`image_source` picks the right one.
Both give the same float32 ``(n, H, W, C)`` batches for the same images, so a detector trained
from a folder equals one trained from the same images as an array.
"""

import os
from pathlib import Path

import numpy as np

from anomaly_tutorial import progress
from anomaly_tutorial.datasets import imagefiles
from anomaly_tutorial.images import as_images

#: A batch read from a source holds at most this many bytes of float32 images (and at most
#: ``MAX_BATCH`` images): memory stays bounded whatever the image size.
BATCH_BYTES = 32 * 2**20
MAX_BATCH = 256


class ImageSource:
    """Images that can be read by index, in batches: ``len(source)`` images of
    ``source.image_shape`` ``(H, W, C)``. Subclasses implement ``__len__`` and ``read``."""

    image_shape: tuple[int, int, int]
    #: The file of each image (strings), or None for images in memory.
    paths: tuple[str, ...] | None = None

    def __len__(self) -> int:  # pragma: no cover
        raise NotImplementedError

    def read(self, indices) -> np.ndarray:  # pragma: no cover
        """The images at ``indices`` as float32 ``(len(indices), H, W, C)`` in [0, 1]."""
        raise NotImplementedError

    def check(self) -> None:
        """Cheap checks of every image before long work (files: sizes from their headers)."""

    def subset(self, indices) -> "ImageSource":
        """The images at ``indices``, as a source (nothing is read)."""
        return Subset(self, indices)

    def batch_size(self) -> int:
        """Images per batch of :meth:`batches`: ``MAX_BATCH``, or fewer for large images."""
        height, width, channels = self.image_shape
        return int(np.clip(BATCH_BYTES // (4 * height * width * channels), 1, MAX_BATCH))

    def batches(self, batch_size=None, *, description=None, verbose=0):
        """Yield the images in order, ``batch_size`` at a time (default :meth:`batch_size`).

        With ``description``, a progress bar counts the images (see :mod:`~anomaly_tutorial.
        progress` for when it is shown).
        """
        size = batch_size or self.batch_size()
        with progress.bar(
            total=len(self), description=description, unit="image", verbose=verbose
        ) as bar:
            for start in range(0, len(self), size):
                batch = self.read(np.arange(start, min(start + size, len(self))))
                yield batch
                bar.update(len(batch))

    def read_all(self) -> np.ndarray:
        """Every image in one array (for methods that need them all in memory)."""
        return self.read(np.arange(len(self)))

    def apply(self, function, description=None, verbose=0) -> np.ndarray:
        """``function(batch)`` of every batch (e.g. ``detector.score_samples``), concatenated."""
        batches = self.batches(description=description, verbose=verbose)
        return np.concatenate([function(batch) for batch in batches])


class ArraySource(ImageSource):
    """Images already in memory, checked and converted as every detector's ``fit`` does."""

    def __init__(self, images, name: str = "X"):
        self.images = as_images(images, name=name)
        self.image_shape = tuple(int(size) for size in self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.images)

    def read(self, indices) -> np.ndarray:
        return self.images[np.asarray(indices, dtype=np.intp)]

    def read_all(self) -> np.ndarray:
        return self.images


class ImageFiles(ImageSource):
    """Image files, read only when a batch is asked for (notebook 05).

    Parameters
    ----------
    paths : str, Path or list of them
        Image files and folders of image files (a folder means its images, in natural order).
    resize : (int, int) or None, default=None
        Resize every image to ``(H, W)``; ``None`` requires one size for all.
    color : {"gray", "rgb"} or None, default=None
        Convert every image; ``None`` requires one channel count for all.
    max_pixels : int, default=4096*4096
        Refuse larger images before decoding them.

    Attributes
    ----------
    paths : tuple of str
        The files, in the order they are read.
    image_shape : tuple (H, W, C)
        The shape of every image, from the first file (after ``resize`` and ``color``).

    Examples
    --------
    >>> import tempfile, numpy as np, imageio.v3 as iio
    >>> folder = tempfile.mkdtemp()
    >>> for index in range(3):
    ...     iio.imwrite(f"{folder}/{index}.png", np.full((8, 8), 40 * index, np.uint8))
    >>> files = ImageFiles(folder)
    >>> len(files), files.image_shape, files.read([2]).shape
    (3, (8, 8, 1), (1, 8, 8, 1))
    """

    def __init__(self, paths, *, resize=None, color=None, max_pixels=imagefiles.MAX_PIXELS):
        self.resize, self.color = imagefiles.check_options(resize, color)
        self.max_pixels = max_pixels
        # Strings, not Path objects: a list of 50,000 paths then costs a few MB, not tens.
        self.paths = tuple(os.fspath(path) for path in imagefiles.image_paths(paths))
        self.image_shape = tuple(int(size) for size in self.read_one(0).shape)

    def __len__(self) -> int:
        return len(self.paths)

    def read_one(self, index: int) -> np.ndarray:
        """Image ``index`` as float32 ``(H, W, C)``, whatever its size (``read`` checks it)."""
        image = imagefiles.read_image(Path(self.paths[index]), self.max_pixels)
        return imagefiles.convert(image, self.resize, self.color)

    def read(self, indices) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.intp)
        batch = np.empty((len(indices), *self.image_shape), dtype=np.float32)
        for position, index in enumerate(indices):
            image = self.read_one(index)
            imagefiles.check_like(image.shape, self.paths[index], self.image_shape, self.paths[0])
            batch[position] = image
        return batch

    def check(self) -> None:
        """Read every file's size from its header (fast, nothing decoded): mixed sizes and
        images above ``max_pixels`` are refused before training starts, naming the file."""
        first = None
        with progress.bar(total=len(self), description="Checking images", unit="image") as bar:
            for path in self.paths:
                size = imagefiles.image_size(Path(path), self.max_pixels)
                first = first or (size, path)
                if self.resize is None:
                    imagefiles.check_like(size, path, *first)
                bar.update()


class Subset(ImageSource):
    """Some images of another source, by index (what :meth:`ImageSource.subset` returns)."""

    def __init__(self, source: ImageSource, indices):
        self.source = source
        self.indices = np.asarray(indices, dtype=np.intp)
        self.image_shape = source.image_shape
        if source.paths is not None:
            self.paths = tuple(source.paths[index] for index in self.indices)

    def __len__(self) -> int:
        return len(self.indices)

    def read(self, indices) -> np.ndarray:
        return self.source.read(self.indices[np.asarray(indices, dtype=np.intp)])

    def check(self) -> None:
        self.source.check()


def _is_paths(data) -> bool:
    if isinstance(data, str | os.PathLike):
        return True
    return (
        isinstance(data, list | tuple)
        and bool(data)
        and all(isinstance(item, str | os.PathLike) for item in data)
    )


def image_source(data, **options) -> ImageSource:
    """An :class:`ImageSource` for ``data`` (notebook 05).

    ``data`` is an image source (returned as it is), a path or a list of paths
    (:class:`ImageFiles`, which takes the ``options`` ``resize``, ``color`` and
    ``max_pixels``), or an array of images (:class:`ArraySource`).
    """
    if isinstance(data, ImageSource):
        return data
    if _is_paths(data):
        return ImageFiles(data, **options)
    if options:
        raise TypeError(f"{sorted(options)} apply to image files only, not to arrays.")
    return ArraySource(data)


__all__ = ["ArraySource", "ImageFiles", "ImageSource", "Subset", "image_source"]
