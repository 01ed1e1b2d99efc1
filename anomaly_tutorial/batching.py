"""Images read batch by batch: the one protocol a detector's ``fit`` reads its images through.

An :class:`ImageSource` is ``len(source)`` images of one shape ``(H, W, C)``, read by index and
in batches of at most ``BATCH_BYTES`` (and ``MAX_BATCH`` images), so memory stays bounded
whatever the number and size of the images. :class:`ArraySource` is an array's (what
``detector.fit(X)`` reads), ``datasets.ImageFiles`` a folder's (read by
:class:`~anomaly_tutorial.streaming.Streamed`), ``tiling.Tiles`` the tiles of large images.
"""

import numpy as np
from sklearn.utils import gen_batches

from anomaly_tutorial import progress
from anomaly_tutorial.errors import InputError
from anomaly_tutorial.images import as_images

#: A batch read from a source holds at most this many bytes of float32 images (and at most
#: ``MAX_BATCH`` images): memory stays bounded whatever the image size.
BATCH_BYTES = 32 * 2**20
MAX_BATCH = 256


def images_per_batch(image_shape) -> int:
    """``MAX_BATCH``, or fewer float32 images of ``image_shape`` if they exceed ``BATCH_BYTES``."""
    return int(np.clip(BATCH_BYTES // (4 * int(np.prod(image_shape))), 1, MAX_BATCH))


class ImageSource:
    """``len(source)`` images of ``source.image_shape`` ``(H, W, C)``, read by index, in
    batches. Subclasses implement ``__len__`` and ``read`` (module docstring)."""

    image_shape: tuple[int, int, int]

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
        """Images per batch of :meth:`batches` (:func:`images_per_batch`)."""
        return images_per_batch(self.image_shape)

    def batches(self, batch_size=None, *, description=None, verbose=0):
        """Yield the images in order, ``batch_size`` at a time (default :meth:`batch_size`); with
        ``description``, a progress bar counts them (:func:`anomaly_tutorial.progress.bar`)."""
        size = batch_size or self.batch_size()
        with progress.bar(
            total=len(self), description=description, unit="image", verbose=verbose
        ) as bar:
            for chunk in gen_batches(len(self), size):
                batch = self.read(np.arange(chunk.start, chunk.stop))
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
        if isinstance(images, ImageSource):
            raise InputError(
                f"{name} is an image source, not an array; a detector reads a source batch by "
                "batch when wrapped: streaming.Streamed(detector).fit(source)."
            )
        self.images = as_images(images, name=name)
        self.image_shape = tuple(int(size) for size in self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.images)

    def read(self, indices) -> np.ndarray:
        return self.images[np.asarray(indices, dtype=np.intp)]

    def read_all(self) -> np.ndarray:
        return self.images


class Subset(ImageSource):
    """Some images of another source, by index (what :meth:`ImageSource.subset` returns)."""

    def __init__(self, source: ImageSource, indices):
        self.source = source
        self.indices = np.asarray(indices, dtype=np.intp)
        self.image_shape = source.image_shape

    def __len__(self) -> int:
        return len(self.indices)

    def read(self, indices) -> np.ndarray:
        return self.source.read(self.indices[np.asarray(indices, dtype=np.intp)])

    def check(self) -> None:
        self.source.check()


def as_source(images) -> ImageSource:
    """``images`` itself if it is an image source, else an :class:`ArraySource` of it."""
    return images if isinstance(images, ImageSource) else ArraySource(images)


__all__ = ["BATCH_BYTES", "MAX_BATCH", "ArraySource", "ImageSource", "Subset", "as_source"]
