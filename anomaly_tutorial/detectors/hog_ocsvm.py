"""``hog_ocsvm``: HOG features -> StandardScaler -> OneClassSVM (notebook 01).

The fitted ``pipeline_`` is the scikit-learn pipeline a learner writes by hand; the class adds
the threshold rule every detector shares (``OneClassSVM.predict`` would ignore ``offset_``).

A saved detector holds the public numbers OneClassSVM scores with (the scaler's ``mean_`` and
``scale_``, support vectors, dual coefficients, kernel width), never libsvm's internals; a
loaded one scores ``sum_i dual_coef_[i] * kernel(support_vectors_[i], features)`` with
``pairwise_kernels``. That agrees with ``OneClassSVM.score_samples`` to about 1e-15, which can
still reorder tied scores: on the glyphs, whose renderings repeat, a class's AUROC can move by
up to 0.007 (measured).

HOG is computed batch by batch, so only the features stay in memory (about as large as the
images; the SVM's fit time limits this method long before memory does).
"""

from numbers import Real

import numpy as np
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from sklearn.utils._param_validation import Interval, StrOptions

from anomaly_tutorial.detectors import state
from anomaly_tutorial.detectors.base import POSITIVE_INT, ImageDetector, PositiveInts
from anomaly_tutorial.features import HOGFeatures


def resolved_gamma(gamma, features) -> float:
    """The kernel width OneClassSVM uses for ``gamma`` on these (standardised) ``features``."""
    if gamma == "scale":
        variance = features.var()
        return float(1.0 / (features.shape[1] * variance)) if variance != 0 else 1.0
    return 1.0 / features.shape[1] if gamma == "auto" else float(gamma)


class HOGOneClassSVM(ImageDetector):
    """HOG features, standardised, into a OneClassSVM (notebook 01).

    Parameters
    ----------
    orientations : int, default=9
        Orientation bins per HOG cell (:class:`~anomaly_tutorial.features.HOGFeatures`).
    pixels_per_cell : int, pair of int or None, default=None
        HOG cell size; ``None`` adapts to the image size.
    nu : float in (0, 1], default=0.1
        OneClassSVM's bound on the share of training images outside its boundary.
    gamma : {"scale", "auto"} or float, default="scale"
        RBF kernel width, as in ``OneClassSVM``.
    kernel : {"rbf", "linear", "poly", "sigmoid"}, default="rbf"
        The SVM's kernel.
    {shared_parameters}

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
        ``make_pipeline(HOGFeatures(...), StandardScaler(), OneClassSVM(...))``, fitted (not on
        a loaded detector, which has the numbers below only).
    feature_mean_, feature_scale_ : ndarray of shape (n_features,)
        The scaler's ``mean_`` and ``scale_``.
    support_vectors_ : ndarray of shape (n_support, n_features)
        The SVM's support vectors (standardised HOG features).
    dual_coef_ : ndarray of shape (n_support,)
        Their coefficients in the score.
    gamma_ : float
        The kernel width used (``gamma`` resolved).
    {offset_attribute}

    Examples
    --------
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((20, 16, 16), dtype=np.float32)
    >>> detector = HOGOneClassSVM().fit(images)
    >>> detector.predict(images[:3]).shape
    (3,)
    >>> [name for name, _ in detector.pipeline_.steps]
    ['hogfeatures', 'standardscaler', 'oneclasssvm']
    """

    RETIRED = {"cells_per_block": None}
    _parameter_constraints: dict = {
        **ImageDetector._parameter_constraints,
        "orientations": POSITIVE_INT,
        "pixels_per_cell": [None, *POSITIVE_INT, PositiveInts()],
        "nu": [Interval(Real, 0, 1, closed="right")],
        "gamma": [StrOptions({"scale", "auto"}), Interval(Real, 0, None, closed="neither")],
        "kernel": [StrOptions({"rbf", "linear", "poly", "sigmoid"})],
    }

    def __init__(self, orientations=9, pixels_per_cell=None, nu=0.1, gamma="scale", kernel="rbf",
                 validation_fraction=0.2, false_alarm_rate=0.05, random_state=0):  # fmt: skip
        self._store_params(locals())

    def _hog(self) -> HOGFeatures:
        return HOGFeatures(self.orientations, self.pixels_per_cell)

    def _fit(self, images, labels, val_images, val_labels):
        # The fitted steps of make_pipeline(...).fit(images), with HOG done in batches.
        hog = self._hog()
        hog.fit(images.read([0]))  # HOG's fit only resolves its cell sizes from the image size
        batches = images.batches(description="HOG features")
        features = np.concatenate([hog.transform(batch) for batch in batches])
        scaler = StandardScaler().fit(features)
        scaled = scaler.transform(features)
        svm = OneClassSVM(kernel=self.kernel, nu=self.nu, gamma=self.gamma).fit(scaled)
        self.pipeline_ = make_pipeline(hog, scaler, svm)
        self.feature_mean_, self.feature_scale_ = scaler.mean_, scaler.scale_
        self.support_vectors_, self.dual_coef_ = svm.support_vectors_, svm.dual_coef_.ravel()
        self.gamma_ = resolved_gamma(self.gamma, scaled)

    def _state_spec(self):
        n_features = self._hog().fit(np.zeros((1, *self.image_shape_))).n_features_out_
        return {
            **super()._state_spec(),
            "feature_mean_": state.Array((n_features,), "float64"),
            "feature_scale_": state.Array((n_features,), "float64"),
            "support_vectors_": state.Array(("n_support", n_features), "float64"),
            "dual_coef_": state.Array(("n_support",), "float64"),
            "gamma_": state.Number(low=1e-300),
        }

    def _score_samples(self, images):
        if "pipeline_" in vars(self):  # fitted in this session: the learner's own pipeline
            return self.pipeline_.score_samples(images)
        hog = self._hog()
        features = hog.fit(images[:1]).transform(images)
        features = (features - self.feature_mean_) / self.feature_scale_
        kernel = pairwise_kernels(
            features, self.support_vectors_, metric=self.kernel, filter_params=True,
            gamma=self.gamma_, degree=3, coef0=0.0,
        )  # fmt: skip
        return kernel @ self.dual_coef_
