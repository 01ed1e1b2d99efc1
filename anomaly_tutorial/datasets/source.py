"""Image files read lazily, batch by batch: the :class:`~anomaly_tutorial.batching.ImageSource`
for folders (what :class:`~anomaly_tutorial.streaming.Streamed` reads)."""

import os
from pathlib import Path

import numpy as np

from anomaly_tutorial import progress
from anomaly_tutorial.batching import ImageSource, as_source
from anomaly_tutorial.datasets import imagefiles


class ImageFiles(ImageSource):
    """Image files, read only when a batch is asked for, with the checks and options of
    :func:`~anomaly_tutorial.datasets.load_folder`; a batch equals the same images in an array,
    so a detector trained from a folder equals one trained from the array.

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


def image_source(data, **options) -> ImageSource:
    """An :class:`ImageSource` for ``data``: an image source (returned as it is), a path or a
    non-empty list of paths (:class:`ImageFiles`, which takes the ``options`` ``resize``,
    ``color`` and ``max_pixels``), or an array of images (an ``ArraySource``)."""
    paths = [data] if isinstance(data, str | os.PathLike) else data
    if (
        isinstance(paths, list | tuple)
        and paths
        and all(isinstance(item, str | os.PathLike) for item in paths)
    ):
        return ImageFiles(data, **options)
    if options:
        raise TypeError(f"{sorted(options)} apply to image files only, not to arrays.")
    return as_source(data)
