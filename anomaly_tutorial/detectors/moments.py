"""Mean and spread over many images, one batch at a time.

What a detector needs over *all* its training images, such as the autoencoder's per-pixel
error statistics or Deep SVDD's centre, is accumulated batch by batch, so memory does not grow
with the number of images.
"""

import numpy as np


class RunningMoments:
    """Mean and (population) standard deviation over axis 0, added a batch at a time.

    Batches are merged exactly (Chan, Golub and LeVeque's pairwise update, in float64), so the
    result equals ``np.mean`` / ``np.std`` of all the batches stacked, up to rounding.

    Examples
    --------
    >>> import numpy as np
    >>> values = np.arange(10.0).reshape(5, 2)
    >>> moments = RunningMoments().add(values[:2]).add(values[2:])
    >>> moments.count, moments.mean.tolist(), np.allclose(moments.std, values.std(axis=0))
    (5, [4.0, 5.0], True)
    """

    def __init__(self):
        self.count = 0
        self.mean = self._squares = None

    def add(self, batch) -> "RunningMoments":
        """Add the rows of ``batch``; returns self."""
        batch = np.asarray(batch, dtype=np.float64)
        count, mean = len(batch), batch.mean(axis=0)
        squares = np.square(batch - mean).sum(axis=0)
        if self.count == 0:
            self.count, self.mean, self._squares = count, mean, squares
            return self
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self._squares = self._squares + squares + np.square(delta) * (self.count * count / total)
        self.count = total
        return self

    @property
    def std(self) -> np.ndarray:
        """The standard deviation (``ddof=0``, as ``np.std``)."""
        return np.sqrt(self._squares / self.count)
