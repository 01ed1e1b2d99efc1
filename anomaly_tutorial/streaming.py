"""Folders larger than memory: a detector fitted and scoring batch by batch (notebook 05).

A detector takes arrays. :class:`Streamed` wraps it, as ``Pipeline`` wraps an estimator, and
hands it image files a batch at a time; its ``fit`` reads batches of the folder as the
detector's reads batches of an array, so a detector trained from a folder equals one trained
from the same images as an array. Wrap a :class:`~anomaly_tutorial.tiling.Tiled` detector to
train on the tiles of a folder of large photos.
"""

from anomaly_tutorial.datasets.source import image_source
from anomaly_tutorial.detectors.base import Wrapper


class Streamed(Wrapper):
    """A detector that reads its images from files (or any image source), batch by batch.

    Parameters
    ----------
    detector : detector of :mod:`anomaly_tutorial.detectors`, or a ``tiling.Tiled`` one
        Fitted in place by :meth:`fit`.
    **options
        ``resize``, ``color`` and ``max_pixels`` of :func:`~anomaly_tutorial.datasets.image_source`.

    ``X`` is a folder, an image file, a list of them, an image source or an array.

    Examples
    --------
    >>> import tempfile, numpy as np, imageio.v3 as iio
    >>> from anomaly_tutorial.detectors import make_detector
    >>> folder = tempfile.mkdtemp()
    >>> for index in range(20):
    ...     iio.imwrite(f"{folder}/{index:02d}.png", np.full((16, 16), 9 * index, np.uint8))
    >>> streamed = Streamed(make_detector("hog_ocsvm")).fit(folder)
    >>> streamed.detector.image_shape_, streamed.predict(folder).shape
    ((16, 16, 1), (20,))
    """

    def __init__(self, detector, **options):
        super().__init__(detector)
        self.options = options

    def fit(self, X, y=None):
        """Fit the detector on the images of ``X``, read in batches; returns self."""
        self.detector._fit_source(image_source(X, **self.options), y)
        return self

    def score_samples(self, X):
        """The detector's ``score_samples`` of every image of ``X``, batch by batch."""
        source = image_source(X, **self.options)
        return source.apply(self.detector.score_samples, "Scoring", getattr(self, "verbose", 0))


__all__ = ["Streamed"]
