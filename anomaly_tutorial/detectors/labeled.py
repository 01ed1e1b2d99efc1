"""``labeled_regressor``: the seed's "KerasRegressor on 0/1 labels", on today's Keras (notebook 02).

The learner's recipe wrapped a small Keras network in ``keras.wrappers.scikit_learn.
KerasRegressor`` and fitted it on images labelled 0 (normal) and 1 (anomalous). That wrapper is
gone; its maintained successor is ``keras.wrappers.SKLearnRegressor``, which trains the network
here. Notebook 02 shows why this is a *supervised binary classifier*, not one-class learning: it
needs labelled anomalies and learns only the kinds it was shown.

Two details make it behave like every other detector of the course:

- Keras 3.15's ``clone()`` of ``SKLearnRegressor`` drops ``fit_kwargs`` (so ``GridSearchCV``
  would silently train with Keras's default of 1 epoch). Here ``epochs``, ``batch_size`` and the
  network size are plain constructor arguments, and the wrapper is built inside ``fit``.
- The outlier API: ``score_samples`` is minus the network's output (higher = more normal), and
  ``offset_ = -threshold``, so ``predict`` says -1 (anomaly) where the output exceeds
  ``threshold`` (0.5 by default: half-way between the two labels, or probability 0.5 for the
  classifier head).
"""

import numbers

import keras
import numpy as np
from keras import layers
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from anomaly_tutorial import runtime
from anomaly_tutorial.detectors.base import ImageDetector
from anomaly_tutorial.features import HOGFeatures

FEATURES = ("hog", "pixels")
HEADS = ("regression", "classifier")


def build_network(
    X, y, *, features, image_shape, hidden_units, filters, head, learning_rate
) -> keras.Model:
    """The compiled Keras network ``SKLearnRegressor`` calls as its ``model`` (notebook 02).

    ``features="hog"`` is the seed's dense network: ``Input(n)`` -> ``Dense(13, relu)`` ->
    ``Dense(6, relu)`` -> ``Dense(1)`` for ``hidden_units=(13, 6)``. ``features="pixels"`` is a
    small CNN: 3x3 convolutions with ``filters`` channels, each followed by 2x2 max pooling,
    then the maximum over all positions, then ``hidden_units`` dense layers (none by default).
    ``head="regression"`` ends in a linear unit trained with MSE (the seed);
    ``head="classifier"`` ends in a sigmoid trained with binary cross-entropy (the honest
    version of the same idea).
    """
    del y  # part of SKLearnRegressor's calling convention; the output is always one unit
    inputs = keras.Input(shape=(X.shape[1],))
    hidden = inputs
    initializer = "glorot_uniform"  # Keras's default, as in the seed
    if features == "pixels":
        # SKLearnRegressor validates X as a 2-D table, so images travel flattened and are
        # restored here; Reshape and Rescaling (not Lambda) layers keep the model savable.
        hidden = layers.Reshape(image_shape)(hidden)
        hidden = layers.Rescaling(2.0, offset=-1.0)(hidden)  # [0, 1] -> [-1, 1]: centred
        # He initialisation suits ReLU; with the default, many filters start (and stay) dead.
        initializer = "he_normal"
        for n_filters in filters:
            hidden = layers.Conv2D(
                n_filters, 3, padding="same", activation="relu", kernel_initializer=initializer
            )(hidden)
            hidden = layers.MaxPooling2D(2, padding="same")(hidden)
        # A defect is local: the strongest response anywhere says "there is a defect", where an
        # average would dilute a small scratch over the image. It also frees the image size.
        hidden = layers.GlobalMaxPooling2D()(hidden)
    for units in hidden_units:
        hidden = layers.Dense(units, activation="relu", kernel_initializer=initializer)(hidden)
    if head == "classifier":
        outputs = layers.Dense(1, activation="sigmoid")(hidden)
        loss = "binary_crossentropy"
    else:
        outputs = layers.Dense(1)(hidden)
        loss = "mean_squared_error"
    model = keras.Model(inputs, outputs, name=f"labeled_{features}_{head}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    return model


class LabeledDetector(ImageDetector):
    """A Keras network trained on images labelled 0 (normal) / 1 (anomaly) (notebook 02).

    Parameters
    ----------
    features : "hog" or "pixels"
        ``"hog"``: HOG features + ``StandardScaler`` into the seed's dense network.
        ``"pixels"``: the images themselves into a small CNN (any image size).
    head : "regression" or "classifier"
        ``"regression"``: linear output, mean squared error (the seed's recipe).
        ``"classifier"``: sigmoid output, binary cross-entropy (a probability of "anomaly").
    hidden_units : tuple of int or None
        Sizes of the dense hidden layers. ``None``: the seed's ``(13, 6)`` on HOG, none on
        pixels, where the pooled filters feed the output directly (ReLU bottlenecks of 13 and 6
        units after the CNN often die and leave a constant output).
    filters : tuple of int
        Convolution filters per block of the CNN (``features="pixels"`` only).
    pixels_per_cell : int, pair or None
        HOG cell size (``features="hog"`` only); ``None`` is ``HOGFeatures``'s adaptive default.
        Bigger cells give fewer features: less to overfit with few labels (notebook 02).
    epochs, batch_size, learning_rate
        Training settings of ``keras.Model.fit`` and Adam (the seed: 100 epochs, batch 64).
    threshold : float
        Network output above which an image is predicted anomalous; ``offset_ = -threshold``.
    random_state : int
        Seed for weights and shuffling (``runtime.set_seed``), so a fit is repeatable.

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    features_ : sklearn Pipeline or None
        Fitted HOG + StandardScaler (``None`` for pixels).
    history_ : dict
        Per-epoch training loss, ``{"loss": [...]}``, as in ``keras.callbacks.History``.
    offset_ : float
        ``-threshold``.
    """

    def __init__(
        self,
        features="hog",
        head="regression",
        hidden_units=None,
        filters=(8, 16),
        pixels_per_cell=None,
        epochs=100,
        batch_size=64,
        learning_rate=1e-3,
        threshold=0.5,
        random_state=0,
    ):
        self.features = features
        self.head = head
        self.hidden_units = hidden_units
        self.filters = filters
        self.pixels_per_cell = pixels_per_cell
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.threshold = threshold
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def fit(self, X, y=None):
        """Train on images ``X`` with labels ``y`` (1 = anomaly, 0 = normal); returns ``self``."""
        if y is None:
            # Checked before X, so that a one-class call gets the message that matters.
            raise ValueError(
                "LabeledDetector requires y to be passed, but the target y is None. It is "
                "supervised: it learns from labelled examples (y = 1 for anomalous, 0 for "
                "normal images). With normal images only, use a one-class detector such as "
                "make_detector('hog_ocsvm')."
            )
        return super().fit(X, y)

    def _fit(self, images, y):
        labels = _check_labels(y, len(images))
        self._check_params()
        runtime.set_seed(self.random_state)
        if self.features == "hog":
            self.features_ = make_pipeline(
                HOGFeatures(pixels_per_cell=self.pixels_per_cell), StandardScaler()
            ).fit(images)
        else:
            self.features_ = None
        table = self._table(images)
        # Built here, from our own parameters, because clone() of the wrapper drops fit_kwargs.
        regressor = keras.wrappers.SKLearnRegressor(
            model=build_network,
            model_kwargs={
                "features": self.features,
                "image_shape": tuple(images.shape[1:]),
                "hidden_units": self._hidden_units(),
                "filters": tuple(self.filters),
                "head": self.head,
                "learning_rate": self.learning_rate,
            },
            fit_kwargs={"epochs": self.epochs, "batch_size": self.batch_size, "verbose": 0},
        )
        regressor.fit(table, labels)
        self.model_ = regressor.model_
        self.history_ = {
            key: [float(v) for v in values] for key, values in regressor.history_.history.items()
        }
        self.offset_ = -float(self.threshold)

    def _hidden_units(self):
        if self.hidden_units is None:
            return (13, 6) if self.features == "hog" else ()
        return tuple(self.hidden_units)

    def _score_samples(self, images):
        table = self._table(images)
        # Calling the model directly, in chunks, avoids predict()'s per-model tf.function
        # tracing: faster for the small batches of a notebook, and no retracing warnings.
        outputs = [
            keras.ops.convert_to_numpy(self.model_(table[start : start + 256], training=False))
            for start in range(0, len(table), 256)
        ]
        return -np.concatenate(outputs).astype(np.float64).ravel()

    def _table(self, images):
        if self.features_ is not None:
            return self.features_.transform(images).astype(np.float32)
        return images.reshape(len(images), -1)

    def _check_params(self):
        if self.features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}; got {self.features!r}.")
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}; got {self.head!r}.")
        for name in ("hidden_units", "filters"):
            sizes = getattr(self, name)
            if not (sizes is None and name == "hidden_units") and not _positive_ints(sizes):
                raise ValueError(f"{name} must be a tuple of positive ints; got {sizes!r}.")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not _positive_ints((value,)):
                raise ValueError(f"{name} must be a positive int; got {value!r}.")
        if not isinstance(self.threshold, numbers.Real):
            raise ValueError(f"threshold must be a number; got {self.threshold!r}.")


def _positive_ints(values) -> bool:
    try:
        return all(isinstance(v, numbers.Integral) and v > 0 for v in values)
    except TypeError:
        return False


def _check_labels(y, n_images: int) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1 or len(labels) != n_images:
        raise ValueError(
            f"y must be a 1-D array with one label per image ({n_images}); got shape "
            f"{labels.shape}."
        )
    if not np.issubdtype(labels.dtype, np.number) and labels.dtype != bool:
        raise ValueError(f"y must hold 0 (normal) and 1 (anomaly); got dtype {labels.dtype}.")
    values = set(np.unique(labels).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"y must hold only 0 (normal) and 1 (anomaly); got values {values}.")
    if values != {0, 1}:
        raise ValueError(
            f"y must contain both classes, 0 (normal) and 1 (anomaly); got only {values}. A "
            "supervised detector cannot learn a boundary from one class."
        )
    return labels.astype(np.float32)


def training_set(dataset, labelled, *, kinds=None, n_anomalies=None, n_normal=None, random_state=0):
    """Images and 0/1 labels for a labelled detector: normal images plus labelled anomalies.

    ``labelled`` indexes the test images whose labels we may train on (e.g. the first half of
    ``benchmark.evaluation_split``). Normal images are the training images plus the labelled
    *good* test images: without the latter, every anomaly would come from the test photos and
    every normal image from the training photos, and the network could learn that difference
    instead of the defects. ``kinds`` keeps only those defect types; ``n_anomalies`` and
    ``n_normal`` draw that many at random (notebook 02).
    """
    rng = np.random.default_rng(random_state)
    labelled = np.asarray(labelled)
    defects = dataset.test_defects[labelled]
    good = labelled[defects == "good"]
    anomalous = labelled[defects != "good"]
    if kinds is not None:
        unknown = sorted(set(kinds) - set(dataset.defect_types))
        if unknown:
            raise ValueError(f"kinds {unknown} are not defect types of {dataset.name!r}.")
        anomalous = anomalous[np.isin(dataset.test_defects[anomalous], kinds)]
    normal = np.concatenate([dataset.train_images, dataset.test_images[good]])
    for name, count, pool in (
        ("n_normal", n_normal, normal),
        ("n_anomalies", n_anomalies, anomalous),
    ):
        if count is not None and not 1 <= count <= len(pool):
            raise ValueError(f"{name} must be between 1 and {len(pool)}; got {count!r}.")
    if n_normal is not None:
        normal = normal[rng.choice(len(normal), n_normal, replace=False)]
    if n_anomalies is not None:
        anomalous = rng.choice(anomalous, n_anomalies, replace=False)
    images = np.concatenate([normal, dataset.test_images[anomalous]])
    labels = np.repeat([0, 1], [len(normal), len(anomalous)])
    return images, labels


def build(quick: bool = False, random_state: int = 0, **params) -> LabeledDetector:
    """The ``labeled_regressor`` detector, unfitted (``make_detector``; notebook 02).

    The registry builds the labelled approach at its best, the small CNN on pixels (batches of
    16, 15 epochs, 10 with ``quick=True``), so that comparisons (notebook 05) measure what labels
    can do, not the seed's weak HOG network; that one is ``features="hog"``, ``epochs=100``,
    ``batch_size=64``.
    ``params`` override any constructor argument.
    """
    detector = LabeledDetector(
        features="pixels", epochs=10 if quick else 15, batch_size=16, random_state=random_state
    )
    valid = detector.get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"labeled_regressor has no parameter(s) {unknown}. Use any of {sorted(valid)}."
        )
    return detector.set_params(**params)
