"""What every image detector shares: input checks, ``offset_``, ``decision_function``, ``predict``.

The API is scikit-learn's outlier-detector convention, exactly as ``sklearn.svm.OneClassSVM``
(notebook 00): ``score_samples`` is higher for more normal images, ``decision_function`` is
``score_samples - offset_`` (negative = anomaly) and ``predict`` returns +1 / -1.
"""

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial.images import as_images, check_fitted_shape, image_shape


class ImageDetector(OutlierMixin, BaseEstimator):
    """Base class. Subclasses implement ``_fit(images, y)`` and ``_score_samples(images)``.

    ``_fit`` must set ``offset_`` (and any other learned attribute ending in ``_``).
    Images reach both methods validated: float32 ``(n, H, W, C)`` in [0, 1].
    """

    def fit(self, X, y=None):
        images = as_images(X)
        self.image_shape_ = image_shape(images)
        self._fit(images, y)
        return self

    def score_samples(self, X):
        """Normality score of each image: higher = more normal. Anomaly score = minus this."""
        return self._score_samples(self._check_images(X))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative means anomaly."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for normal, -1 for anomaly, cut at ``offset_``."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def _check_images(self, X) -> np.ndarray:
        check_is_fitted(self)
        images = as_images(X)
        check_fitted_shape(images, self.image_shape_, type(self).__name__)
        return images

    def _fit(self, images: np.ndarray, y) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _score_samples(self, images: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


def offset_from_normal_scores(normal_scores, false_alarm_rate: float) -> float:
    """The ``offset_`` that flags ``false_alarm_rate`` of held-out *normal* images.

    This is the default threshold rule of the one-class deep detectors: no anomaly is needed to
    choose it, only normal images the model did not train on.
    """
    if not 0.0 <= false_alarm_rate < 1.0:
        raise ValueError(f"false_alarm_rate must be in [0, 1); got {false_alarm_rate!r}.")
    return float(np.quantile(np.asarray(normal_scores, dtype=np.float64), false_alarm_rate))
