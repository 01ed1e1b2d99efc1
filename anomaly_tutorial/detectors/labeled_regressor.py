"""``labeled_regressor``: "KerasRegressor on 0/1 labels", on today's Keras (notebook 02).

The answer the learner got (notebook 00) fitted ``keras.wrappers.scikit_learn.KerasRegressor``
on images labelled 0 (normal) and 1 (anomalous); its maintained successor,
``keras.wrappers.SKLearnRegressor``, trains the network here. Notebook 02 shows why this is a
*supervised binary classifier*: it learns only the kinds of anomaly it was shown.
"""

import keras
import numpy as np
from keras import layers
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import StrOptions

from anomaly_tutorial.detectors import networks, state
from anomaly_tutorial.detectors.base import POSITIVE_INT, PositiveInts
from anomaly_tutorial.detectors.keras_base import KerasImageDetector, history_dict
from anomaly_tutorial.errors import InputError
from anomaly_tutorial.features import HOGFeatures


def build_network(
    X, y, *, features, image_shape, hidden_units, filters, head, learning_rate
) -> keras.Model:
    """The compiled Keras network ``SKLearnRegressor`` calls as its ``model`` (notebook 02).

    ``features="pixels"`` is a small CNN: 3x3 convolutions with ``filters`` channels, each
    followed by 2x2 max pooling, then the maximum over all positions; then (both features)
    ``hidden_units`` dense layers and the ``head``'s output unit.
    """
    del y  # SKLearnRegressor's calling convention; the output is always one unit
    inputs = keras.Input(shape=(X.shape[1],))
    hidden = inputs
    initializer = "glorot_uniform"  # Keras's default, as in the answer
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
    classifier = head == "classifier"  # a probability of "anomaly"; else the answer's output
    outputs = layers.Dense(1, activation="sigmoid" if classifier else None)(hidden)
    loss = "binary_crossentropy" if classifier else "mean_squared_error"
    model = keras.Model(inputs, outputs, name=f"labeled_{features}_{head}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    return model


class LabeledRegressor(KerasImageDetector):
    """A Keras network trained on images labelled 0 (normal) / 1 (anomaly) (notebook 02).

    Parameters
    ----------
    features : {"pixels", "hog"}, default="pixels"
        The images into a small CNN, or HOG features, standardised, into a dense network.
    head : {"regression", "classifier"}, default="regression"
        Linear output and mean squared error (the answer's), or sigmoid and cross-entropy.
    hidden_units : tuple of int or None, default=None
        Dense hidden layers; None: the answer's ``(13, 6)`` on HOG, none on pixels.
    filters : tuple of int, default=(8, 16)
        Convolution filters per block of the CNN (``features="pixels"`` only).
    pixels_per_cell : int, pair of int or None, default=None
        HOG cell size (``features="hog"`` only); None adapts to the image size.
    epochs : int, default=15
        Training epochs (the answer trained 100 on HOG, with batches of 64).
    batch_size : int, default=16
        Images per training step and per inference call.
    learning_rate : float, default=1e-3
        Adam's learning rate.
    {shared_parameters}
    {verbose_parameter}

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    feature_mean_, feature_scale_ : ndarray of shape (n_features,) or None
        The ``StandardScaler`` of the HOG features (``None`` for pixels).
    history_ : dict
        ``loss`` and ``val_loss`` per epoch.
    {offset_attribute}

    Examples
    --------
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((20, 8, 8), dtype=np.float32)
    >>> labels = np.repeat([0, 1], 10)
    >>> images[labels == 1, 2:5, 2:5] = 1.0
    >>> detector = LabeledRegressor(filters=(4,), epochs=1).fit(images, labels)
    >>> detector.predict(images[:3]).shape
    (3,)
    """

    QUICK_PARAMS = {"epochs": 10}
    _parameter_constraints: dict = {
        **KerasImageDetector._parameter_constraints,
        "features": [StrOptions({"hog", "pixels"})],
        "head": [StrOptions({"regression", "classifier"})],
        "hidden_units": [None, PositiveInts(empty=True, high=networks.MAX_FILTERS)],
        "pixels_per_cell": [None, *POSITIVE_INT, PositiveInts()],
    }

    def __init__(self, features="pixels", head="regression", hidden_units=None, filters=(8, 16),
                 pixels_per_cell=None, epochs=15, batch_size=16, learning_rate=1e-3,
                 validation_fraction=0.2, false_alarm_rate=0.05, random_state=0,
                 verbose=0):  # fmt: skip
        self._store_params(locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def fit_predict(self, X, y=None, **kwargs):
        """``fit(X, y).predict(X)`` (``OutlierMixin``'s version would drop ``y``)."""
        return self.fit(X, y).predict(X)

    def _check_labels(self, y):
        if y is None:
            raise InputError(
                "LabeledRegressor requires y to be passed, but the target y is None. It is "
                "supervised: it learns from labelled examples (y = 1 for anomalous, 0 for "
                "normal images). With normal images only, use a one-class detector such as "
                "make_detector('hog_ocsvm')."
            )
        labels = np.asarray(y)
        if labels.ndim != 1 or not (np.issubdtype(labels.dtype, np.number) or labels.dtype == bool):
            raise InputError(
                f"y must be a 1-D array of 0/1 numbers; got dtype {labels.dtype}, shape "
                f"{labels.shape}."
            )
        if not np.isin(labels, (0, 1)).all():
            raise InputError(
                f"y must hold only 0 (normal) and 1 (anomaly); got {np.unique(labels)}."
            )
        counts = np.bincount(labels.astype(int), minlength=2)
        if counts.min() < 2:
            raise InputError(
                "y must contain both classes, 0 (normal) and 1 (anomaly), at least 2 images "
                f"each (one is held out); got {counts[0]} normal and {counts[1]} anomalous."
            )
        return labels.astype(np.float32)

    def _fit(self, images, labels, val_images, val_labels):
        # SKLearnRegressor takes arrays (its point in notebook 02), so the images are read whole.
        images, val_images = images.read_all(), val_images.read_all()
        self.feature_mean_ = self.feature_scale_ = None
        if self.features == "hog":
            scaler = StandardScaler().fit(self._hog().fit(images).transform(images))
            self.feature_mean_, self.feature_scale_ = scaler.mean_, scaler.scale_
        # Built here, from our own parameters: clone() of the wrapper drops fit_kwargs (Keras 3.15).
        regressor = keras.wrappers.SKLearnRegressor(
            model=build_network,
            model_kwargs=self._model_kwargs(),
            fit_kwargs={
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "verbose": self.verbose,
            },
        )
        validation = (self._network_input(val_images), val_labels)
        regressor.fit(self._network_input(images), labels, validation_data=validation)
        self.model_ = regressor.model_
        self.history_ = history_dict(regressor.history_)

    def _model_kwargs(self) -> dict:
        return {
            "features": self.features,
            "image_shape": tuple(self.image_shape_),
            "hidden_units": self._hidden_units(),
            "filters": tuple(self.filters),
            "head": self.head,
            "learning_rate": self.learning_rate,
        }

    def _new_model(self):
        inputs = self._network_input(np.zeros((1, *self.image_shape_), dtype=np.float32))
        return build_network(inputs, None, **self._model_kwargs())

    def _state_spec(self):
        spec = {**super()._state_spec(), "history_": state.History()}
        scaler = state.Choice((None,))  # pixels go into the network as they are
        if self.features == "hog":
            n_features = self._hog().fit(np.zeros((1, *self.image_shape_))).n_features_out_
            scaler = state.Array((n_features,), "float64")
        return {**spec, "feature_mean_": scaler, "feature_scale_": scaler}

    def _hog(self):
        return HOGFeatures(pixels_per_cell=self.pixels_per_cell)

    def _hidden_units(self):
        if self.hidden_units is None:
            return (13, 6) if self.features == "hog" else ()
        return tuple(self.hidden_units)

    def _network_input(self, images):
        if self.features == "hog":
            features = self._hog().fit(images[:1]).transform(images)
            return ((features - self.feature_mean_) / self.feature_scale_).astype(np.float32)
        return images.reshape(len(images), -1)

    def _score_samples(self, images):
        return -self._predict(images).astype(np.float64).ravel()


def training_set(dataset, *, kinds=None, n_anomalies=None, n_normal=None, random_state=0):
    """Images and 0/1 labels for a labelled detector, from a *development* part ``dataset``
    (its test images are the labelled examples we may train on; notebook 02).

    Normal images are the training images plus the test images that are *good*: otherwise every
    anomaly would come from the test photos and every normal image from the training photos,
    and the network could learn that difference instead of the defects. ``kinds`` keeps those
    defect types; ``n_anomalies`` and ``n_normal`` draw that many at random.
    """
    rng = np.random.default_rng(random_state)
    good = np.flatnonzero(dataset.test_labels == 0)
    anomalous = np.flatnonzero(dataset.test_labels == 1)
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
