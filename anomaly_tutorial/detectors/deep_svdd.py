"""``deep_svdd``: Deep SVDD, the deep-learning OneClassSVM (Ruff et al., ICML 2018; notebook 04).

A network ``phi`` maps normal training images as close as it can to a fixed centre ``c``;
``||phi(x) - c||**2`` is the anomaly score. What the paper warns about, and this module keeps:
no bias terms and no bounded activations in ``phi`` (or it can output ``c`` for every image,
``use_bias=True`` demonstrates this collapse); ``c`` fixed before training from one forward
pass, never learned; weight decay (AdamW) and optional autoencoder pre-training.
"""

from numbers import Integral, Real

import keras
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions

from anomaly_tutorial.detectors import networks, state
from anomaly_tutorial.detectors.base import POSITIVE_INT
from anomaly_tutorial.detectors.keras_base import KerasImageDetector

#: Keras's default 0.99 averages BatchNorm statistics over ~100 steps, but a small training set
#: gives a few steps per epoch, so scoring would still use the untrained network's statistics
#: (measured on brick with filters=(16, 32, 64): AUROC 0.51 at 0.99, 0.95 at 0.9 and at 0.5).
BATCH_NORM_MOMENTUM = 0.9


#: :func:`initial_center` moves coordinates of the centre closer to 0 than this to +-this.
CENTER_EPS = 0.1


def initial_center(features, eps: float = CENTER_EPS) -> np.ndarray:
    """The paper's centre: the mean feature, coordinates closer to 0 than ``eps`` moved to
    ``+-eps`` (a bias-free network hits 0 by zeroing its weights; notebook 04)."""
    center = np.asarray(features, dtype=np.float32).mean(axis=0)
    return np.where(np.abs(center) < eps, np.copysign(eps, center), center).astype(np.float32)


@keras.saving.register_keras_serializable(package="anomaly_tutorial")
def squared_distance(y_true, y_pred):
    """One-class Deep SVDD loss per image: ``||phi(x) - c||**2``, with ``y_true`` = ``c``."""
    return keras.ops.sum(keras.ops.square(y_pred - y_true), axis=-1)


@keras.saving.register_keras_serializable(package="anomaly_tutorial")
class SoftBoundaryLoss(keras.losses.Loss):
    """Soft-boundary Deep SVDD: ``R**2 + mean(max(0, ||phi(x) - c||**2 - R**2)) / nu``.

    Only images outside the sphere of radius ``R`` are pulled in, as in OneClassSVM, where
    ``nu`` bounds the share of training images left outside. ``R`` (start value ``radius``) is
    a non-trainable variable: ``DeepSVDD`` sets it after each epoch (the paper's schedule).

    Examples
    --------
    >>> import numpy as np
    >>> loss = SoftBoundaryLoss(nu=0.5, radius=1.0)
    >>> float(loss(np.zeros((1, 2)), np.array([[2.0, 0.0]])))  # 1 + (4 - 1) / 0.5
    7.0
    """

    def __init__(self, nu=0.1, radius=0.0, name="soft_boundary", **kwargs):
        super().__init__(name=name, **kwargs)
        self.nu = float(nu)
        self.radius = keras.Variable(float(radius), trainable=False, name="radius")

    def call(self, y_true, y_pred):
        radius_squared = keras.ops.square(self.radius)
        outside = keras.ops.relu(squared_distance(y_true, y_pred) - radius_squared)
        return radius_squared + outside / self.nu

    def get_config(self):
        return {**super().get_config(), "nu": self.nu, "radius": float(self.radius.numpy())}


class _RadiusUpdate(keras.callbacks.Callback):
    """After ``warm_up`` epochs, set ``R`` to the ``1 - nu`` quantile of training distances."""

    def __init__(self, loss, detector, images, warm_up):
        super().__init__()
        self.loss, self.detector, self.images, self.warm_up = loss, detector, images, warm_up

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.warm_up:
            scores = [self.detector._score_samples(batch) for batch in self.images.batches()]
            distances = np.sqrt(-np.concatenate(scores))
            self.loss.radius.assign(float(np.quantile(distances, 1.0 - self.loss.nu)))


class DeepSVDD(KerasImageDetector):
    """Deep SVDD anomaly detector with the scikit-learn outlier API (notebook 04).

    ``score_samples`` is minus the squared distance of ``phi(x)`` to the centre ``c_``.

    Parameters
    ----------
    filters : tuple of int, default=(16, 32)
        One stride-2 convolution of ``phi`` per entry (:func:`.networks.build_encoder`).
    latent_dim : int, default=32
        Number of features ``phi`` outputs.
    use_bias : bool, default=False
        True adds bias terms everywhere, to demonstrate the collapse to a constant.
    batch_norm : bool, default=False
        BatchNorm after each convolution, without shift and scale when ``use_bias=False``.
    epochs : int, default=50
        Training epochs of the Deep SVDD loss (AdamW).
    batch_size : int, default=32
        Images per training step and per inference call.
    learning_rate : float, default=1e-3
        AdamW's learning rate.
    weight_decay : float, default=1e-4
        AdamW's weight decay.
    pretrain_epochs : int, default=0
        Epochs of autoencoder pre-training of ``phi`` before ``c_`` is chosen; 0: none.
    objective : {"one-class", "soft-boundary"}, default="one-class"
        Pull every image towards ``c_``, or only those outside ``R`` (:class:`SoftBoundaryLoss`).
        ``predict`` cuts at ``offset_``; the paper's rule would be ``offset_ = -radius_**2``.
    nu : float in (0, 1], default=0.1
        Soft-boundary only: the share of training images allowed outside ``R``.
    warm_up_epochs : int, default=5
        Soft-boundary only: epochs of one-class training before ``R`` is updated.
    {shared_parameters}
    {verbose_parameter}

    Attributes
    ----------
    model_ : keras.Model
        The trained feature network ``phi``.
    c_ : ndarray of shape (latent_dim,)
        The centre (:func:`initial_center`).
    radius_ : float
        ``R`` (0 for ``"one-class"``).
    history_, pretrain_history_ : dict
        Loss curves (``val_loss``: held-out normal images); the second may be empty.
    {offset_attribute}

    Examples
    --------
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((20, 8, 8), dtype=np.float32)
    >>> detector = DeepSVDD(filters=(4,), latent_dim=4, epochs=1).fit(images)
    >>> detector.features(images[:3]).shape, detector.predict(images[:3]).shape
    ((3, 4), (3,))
    """

    QUICK_PARAMS = {"filters": (8, 16), "latent_dim": 16, "epochs": 3, "warm_up_epochs": 1}
    RETIRED = {"center_eps": CENTER_EPS}
    _parameter_constraints: dict = {
        **KerasImageDetector._parameter_constraints,
        "latent_dim": POSITIVE_INT,
        "use_bias": ["boolean"],
        "batch_norm": ["boolean"],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
        "objective": [StrOptions({"one-class", "soft-boundary"})],
        "nu": [Interval(Real, 0, 1, closed="right")],
        "warm_up_epochs": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, filters=(16, 32), latent_dim=32, use_bias=False, batch_norm=False, epochs=50,
                 batch_size=32, learning_rate=1e-3, weight_decay=1e-4, pretrain_epochs=0,
                 objective="one-class", nu=0.1, warm_up_epochs=5, validation_fraction=0.2,
                 false_alarm_rate=0.05, random_state=0, verbose=0):  # fmt: skip
        self._store_params(locals())

    def build_network(self, padded_shape) -> keras.Model:
        """The feature network ``phi`` for padded images of ``padded_shape``; no bias terms."""
        network = networks.build_encoder(
            padded_shape,
            self.filters,
            self.latent_dim,
            use_bias=self.use_bias,
            batch_norm=self.batch_norm,
            name="phi",
        )
        for layer in network.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = BATCH_NORM_MOMENTUM
        return network

    def _fit(self, images, labels, val_images, val_labels):
        self.model_ = self._new_model()
        self.pretrain_history_ = {}
        if self.pretrain_epochs > 0:
            self.pretrain_history_ = self._pretrain(images, val_images)
        features = StandardScaler()  # the mean feature, batch by batch
        for batch in images.batches(description="Centre", verbose=self.verbose):
            features.partial_fit(self._predict(batch))
        self.c_ = initial_center(features.mean_[np.newaxis])
        self.radius_ = 0.0
        # A thin wrapper is compiled, so that model_ (phi) stays a plain network; one input
        # tensor, not a list, or Keras 3.8 warns when it is called with a single array.
        trainer = keras.Model(self.model_.input, self.model_.output, name="deep_svdd_trainer")
        callbacks, loss = [], squared_distance
        if self.objective == "soft-boundary":
            loss = SoftBoundaryLoss(nu=self.nu)
            callbacks.append(_RadiusUpdate(loss, self, images, self.warm_up_epochs))
        trainer.compile(optimizer=self._optimizer(), loss=loss)
        self.history_ = self._train(
            trainer, images, val_images, targets=self._center_targets, callbacks=callbacks
        )
        if self.objective == "soft-boundary":
            self.radius_ = float(loss.radius.numpy())

    def _new_model(self):
        return self.build_network(self._padded_shape(self.image_shape_))

    def _state_spec(self):
        return {
            **super()._state_spec(),
            "c_": state.Array((self.latent_dim,)),
            "radius_": state.Number(0.0),
            "history_": state.History(),
            "pretrain_history_": state.History(),
        }

    def _center_targets(self, inputs):
        return np.tile(self.c_, (len(inputs), 1))

    def _optimizer(self):
        return keras.optimizers.AdamW(self.learning_rate, weight_decay=self.weight_decay)

    def _pretrain(self, images, val_images) -> dict:
        # The decoder is thrown away afterwards, so it may keep its biases: only phi must not.
        decoder = networks.build_decoder(
            self._padded_shape(images.image_shape),
            self.filters,
            self.latent_dim,
            name="pretrain_decoder",
        )
        outputs = decoder(self.model_.output)
        autoencoder = keras.Model(self.model_.input, outputs, name="pretrain")
        autoencoder.compile(optimizer=self._optimizer(), loss="mse")
        return self._train(autoencoder, images, val_images, epochs=self.pretrain_epochs)

    def features(self, X) -> np.ndarray:
        """The learned features ``phi(X)``, ``(n, latent_dim)`` (the 2-D plots of notebook 04)."""
        return self._predict(self._check_images(X))

    def _score_samples(self, images):
        distances = np.sum((self._predict(images) - self.c_) ** 2, axis=1)
        return -distances.astype(np.float64)
