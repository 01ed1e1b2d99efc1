"""What every image detector shares: checks, the validation split and the one threshold rule.

The API is ``sklearn.svm.OneClassSVM``'s (notebook 00): ``score_samples`` is higher for more
normal images, ``decision_function`` is ``score_samples - offset_`` (negative = anomaly),
``predict`` returns +1 / -1. ``offset_`` is the only threshold. Folders and tiles of large images
are wrappers around a detector (:mod:`anomaly_tutorial.streaming`, :mod:`anomaly_tutorial.tiling`).
"""

import numbers
import random

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.model_selection import train_test_split

# scikit-learn's own declarative parameter checks: a private module, but stable since 1.2.
from sklearn.utils._param_validation import Interval, Options
from sklearn.utils.validation import check_is_fitted, check_scalar

from anomaly_tutorial.batching import ArraySource
from anomaly_tutorial.detectors import state
from anomaly_tutorial.errors import InputError
from anomaly_tutorial.images import as_images, check_fitted_shape


class PositiveInts(Options):
    """Parameter constraint: a tuple (or list) of positive ints such as ``(16, 32)``, each at
    most ``high`` (a bound that keeps a network, or a loaded model, to a sane size)."""

    kind = numbers.Integral

    def __init__(self, empty: bool = False, high=None):
        super().__init__(type=tuple, options=set())
        self.empty, self.high = empty, high

    def is_satisfied_by(self, val):
        if not isinstance(val, tuple | list) or len(val) < (not self.empty):
            return False
        high = self.high or float("inf")
        return all(
            isinstance(v, self.kind) and not isinstance(v, bool) and 0 < v <= high for v in val
        )

    def __str__(self):
        kind = "ints" if self.kind is numbers.Integral else "numbers"
        at_most = f" up to {self.high}" if self.high else ""
        return f"a {'' if self.empty else 'non-empty '}tuple of positive {kind}{at_most}"


class PositiveReals(PositiveInts):
    """Parameter constraint: a tuple (or list) of positive numbers such as ``(1.0, 2.0)``."""

    kind = numbers.Real


#: Shared by most constraint dicts: an int >= 1.
POSITIVE_INT = [Interval(numbers.Integral, 1, None, closed="left")]


class ImageDetector(OutlierMixin, BaseEstimator):
    """Base class of the detectors: subclasses implement ``_fit`` and ``_score_samples``.

    ``_fit(images, labels, val_images, val_labels)`` gets two image sources
    (:class:`~anomaly_tutorial.batching.ImageSource`) of validated float32 ``(n, H, W, C)``
    batches, the part to fit on and the held-out part (labels None for one-class detectors), and
    sets the learned attributes; ``fit`` then sets ``offset_``. ``_score_samples`` gets an array
    of images of the fitted size.

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_tutorial.detectors import make_detector
    >>> images = np.random.default_rng(0).random((40, 16, 16), dtype=np.float32)
    >>> detector = make_detector("hog_ocsvm").fit(images[:30])
    >>> flagged = detector.set_threshold(images[30:], false_alarm_rate=0.5).predict(images[30:])
    >>> float(np.mean(flagged == -1))
    0.5
    """

    _parameter_constraints: dict = {
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "false_alarm_rate": [Interval(numbers.Real, 0, 1, closed="left")],
        "random_state": [Interval(numbers.Integral, 0, 2**32 - 1, closed="both")],
    }
    #: Constructor arguments that ``make_detector(name, quick=True)`` uses: fast, for tests.
    QUICK_PARAMS: dict = {}
    #: Named recipes, ``make_detector(name, preset=...)``: name -> constructor arguments.
    PRESETS: dict = {}
    #: Options an earlier release had and no recipe used, with the value the class now always
    #: uses: a detector saved with that value still loads.
    RETIRED: dict = {}

    @staticmethod
    def choose_preset(images) -> str | None:
        """The preset for these normal images (a key of ``PRESETS``), by the class's own rule;
        None: the defaults."""
        return None

    #: Docs every detector shares, written once: each key in a subclass's docstring is replaced
    #: by its value when the class is created.
    _DOC_PARTS = {
        "{shared_parameters}": """validation_fraction : float in (0, 1), default=0.2
        Share of ``X`` held out; ``offset_`` is set on its normal images.
    false_alarm_rate : float in [0, 1), default=0.05
        Share of held-out normal images that ``predict`` flags.
    random_state : int, default=0
        Seed of the validation split (and of a network's weights and shuffling).""",
        "{verbose_parameter}": """verbose : int, default=0
        0 is silent; 1 or more shows progress bars (tqdm, on stderr) over long passes through
        the images, and over the epochs with the losses (Keras detectors).""",
        "{offset_attribute}": """offset_ : float
        The threshold: ``predict`` is -1 where ``score_samples < offset_``.""",
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for marker, text in cls._DOC_PARTS.items():
            cls.__doc__ = cls.__doc__.replace(marker, text)

    def _store_params(self, arguments: dict) -> None:
        # scikit-learn's rule: __init__ stores its arguments under their own names, nothing else.
        for name in self._get_param_names():
            setattr(self, name, arguments[name])

    @classmethod
    def _from_params(cls, params):
        """A new, unfitted detector with exactly the constructor's ``params`` (a dict), each
        checked by its constraint: where loading a saved detector starts."""
        if not isinstance(params, dict):
            raise ValueError(f"the saved parameters do not match {cls.__name__}.")
        params = dict(params)
        for name in sorted(cls.RETIRED.keys() & params.keys()):
            saved, now = params.pop(name), cls.RETIRED[name]
            if type(saved) is not type(now) or saved != now:
                raise ValueError(
                    f"it was saved by an older version of anomaly-tutorial with {name}="
                    f"{saved!r:.40}; {cls.__name__} no longer has that option (it always uses "
                    f"{now!r}): fit the detector again."
                )
        if set(params) != set(cls._get_param_names()):
            raise ValueError(f"the saved parameters do not match {cls.__name__}.")
        detector = cls(**params)
        detector._validate_params()
        return detector

    def fit(self, X, y=None):
        """Fit on the images ``X`` (and labels ``y``, for the labelled detector); returns self.

        ``validation_fraction`` of the images is held out; ``offset_`` is set from its normal
        images.
        """
        self._validate_params()
        self._check_labels(y)  # no y for a labelled detector: said before X is looked at
        return self._fit_source(ArraySource(X), y)

    def _fit_source(self, source, y=None, *, part=None, scorer=None):
        """``fit`` on an image source, for arrays and wrappers alike. ``part(images)`` turns a
        part of the images into what the detector trains on (``tiling.Tiled``: their tiles);
        ``scorer`` scores the held-out normal images for ``offset_`` (default
        ``score_samples``)."""
        self._validate_params()
        labels = self._check_labels(y)
        if labels is not None and len(labels) != len(source):
            raise InputError(
                f"y must hold one label per image: got {len(labels)} for {len(source)} images."
            )
        fit_part, held_out = self.validation_split(len(source), labels)
        source.check()  # before long work: a bad file fails now, not in the tenth epoch
        part = part or (lambda images: images)
        train, validation = part(source.subset(fit_part)), part(source.subset(held_out))
        self.image_shape_ = tuple(train.image_shape)
        part_labels = (None, None) if labels is None else (labels[fit_part], labels[held_out])
        # Fitting must not change a user's global random numbers (OneClassSVM and Keras's
        # seeding both draw on Python's and NumPy's): they are put back afterwards.
        python_state, numpy_state = random.getstate(), np.random.get_state()  # noqa: NPY002
        try:
            self._seed()
            self._fit(train, part_labels[0], validation, part_labels[1])
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)  # noqa: NPY002
        normal = source.subset(held_out if labels is None else held_out[labels[held_out] == 0])
        verbose = getattr(self, "verbose", 0)
        return self._set_offset(normal.apply(scorer or self.score_samples, "Threshold", verbose))

    def set_threshold(self, X_normal, false_alarm_rate=None):
        """Set ``offset_`` so that ``predict`` flags ``false_alarm_rate`` (default: the
        constructor's) of ``X_normal``, normal images not fitted on; nothing is refitted."""
        return self._set_offset(self.score_samples(X_normal), false_alarm_rate)

    def _set_offset(self, scores, false_alarm_rate=None):
        rate = self.false_alarm_rate if false_alarm_rate is None else false_alarm_rate
        check_scalar(
            rate, "false_alarm_rate", numbers.Real, min_val=0, max_val=1, include_boundaries="left"
        )
        self.offset_ = float(np.quantile(np.asarray(scores, dtype=np.float64), rate))
        return self

    def score_samples(self, X):
        """Normality score of each image: higher = more normal. Anomaly score = minus this."""
        return self._score_samples(self._check_images(X))

    @property
    def n_features_in_(self) -> int:
        """Numbers in one image, ``H * W * C`` (the image's shape is ``image_shape_``)."""
        if "image_shape_" not in vars(self):
            raise AttributeError("n_features_in_: the detector is not fitted")
        return int(np.prod(self.image_shape_))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative means anomaly."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for normal, -1 for anomaly, cut at ``offset_``."""
        return self.labels_from_scores(self.score_samples(X))

    def labels_from_scores(self, scores) -> np.ndarray:
        """What ``predict`` returns for images with these ``score_samples`` (notebook 05)."""
        check_is_fitted(self)
        return np.where(np.asarray(scores) - self.offset_ < 0, -1, 1)

    def _check_images(self, X) -> np.ndarray:
        check_is_fitted(self)
        images = as_images(X)
        check_fitted_shape(images, self.image_shape_, type(self).__name__, tiles=True)
        return images

    def _check_labels(self, y):
        """One-class detectors ignore ``y``, as ``OneClassSVM`` does."""
        return None

    def validation_split(self, n_images: int, y=None):
        """The sorted indices ``(fit part, held-out part)`` that ``fit`` uses for ``n_images``
        images (stratified by the labels ``y``, if given)."""
        fraction = self.validation_fraction
        n_fit = round((1 - fraction) * n_images)
        try:
            if not 1 <= n_fit < n_images:
                raise ValueError("one part would be empty")
            parts = train_test_split(
                np.arange(n_images), train_size=n_fit, random_state=self.random_state, stratify=y
            )
        except ValueError as error:  # too few images (of a class) to split
            raise InputError(
                f"Cannot hold out validation_fraction={fraction} of {n_images} image(s) for the "
                f"threshold and fit on the rest ({error}); use more images."
            ) from None
        return np.sort(parts[0]), np.sort(parts[1])

    def _seed(self) -> None:
        """Seed what ``_fit`` draws from (the Keras detectors seed Keras)."""

    #: The fitted Keras networks, saved as their weights (:meth:`_get_state`), not attributes.
    _networks: tuple = ()

    def _state_spec(self) -> dict:
        """Every fitted attribute a saved copy holds, name -> declaration (:mod:`.state`).
        Networks are not attributes here: they are rebuilt from the parameters."""
        return {"offset_": state.Number()}

    def _get_state(self) -> tuple[dict, dict]:
        """``(attributes, network weights)``: what ``_state_spec`` declares, and for each
        network its list of weight arrays."""
        check_is_fitted(self)
        return {name: getattr(self, name) for name in self._state_spec()}, {}

    def _set_state(self, values: dict, weights: dict) -> None:
        """Become the detector saved as ``values`` (checked) and ``weights``."""
        for name, value in values.items():
            setattr(self, name, value)
        self._derive()

    def _derive(self) -> None:
        """Build what follows from the fitted state (a neighbour index): after fit and load."""


class Wrapper:
    """What the wrappers around a detector share (``tiling.Tiled``, ``streaming.Streamed``,
    which define ``score_samples``): ``predict``, ``decision_function`` and ``set_threshold``
    from the wrapper's scores and the detector's ``offset_``. Other attributes are the
    detector's, which is fitted in place."""

    def __init__(self, detector):
        self.detector = detector

    def __getattr__(self, name):
        if name.startswith("__") or name == "detector":
            raise AttributeError(name)
        return getattr(self.detector, name)

    def decision_function(self, X):
        return self.score_samples(X) - self.detector.offset_

    def predict(self, X):
        return self.detector.labels_from_scores(self.score_samples(X))

    def set_threshold(self, X_normal, false_alarm_rate=None):
        self.detector._set_offset(self.score_samples(X_normal), false_alarm_rate)
        return self
