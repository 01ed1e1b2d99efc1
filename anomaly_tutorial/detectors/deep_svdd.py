"""``deep_svdd``: Deep SVDD, the deep-learning OneClassSVM (Ruff et al., ICML 2018; notebook 04).

A network ``phi`` maps every normal training image as close as it can to a fixed centre ``c``;
the squared distance ``||phi(x) - c||**2`` is the anomaly score. It is the one-class SVM's idea
(enclose the normal data in a small sphere) with a learned feature map instead of a kernel.

What the paper warns about, and this module keeps:

- no bias terms anywhere in ``phi`` (convolutions, dense layer, BatchNorm's shift and scale) and
  no bounded activations: otherwise ``phi`` can output the constant ``c`` for *every* image,
  a perfect loss and a useless detector (``use_bias=True`` demonstrates this collapse);
- ``c`` is fixed before training from one forward pass over the training images (never
  learned, or ``c = phi(x) = 0`` would again be trivial), with coordinates near 0 pushed to
  ``+-center_eps``;
- weight decay (AdamW) and optional autoencoder pre-training of ``phi`` as an encoder.
"""

import keras
import numpy as np
from sklearn.model_selection import train_test_split

from anomaly_tutorial import runtime
from anomaly_tutorial.detectors import networks
from anomaly_tutorial.detectors.base import ImageDetector, offset_from_normal_scores

OBJECTIVES = ("one-class", "soft-boundary")
#: Keras's default 0.99 averages BatchNorm statistics over ~100 steps, but a small training set
#: gives a few steps per epoch, so scoring would still use the untrained network's statistics
#: (measured on brick with filters=(16, 32, 64): AUROC 0.51 at 0.99, 0.95 at 0.9 and at 0.5).
BATCH_NORM_MOMENTUM = 0.9


def initial_center(features, eps: float = 0.1) -> np.ndarray:
    """The paper's centre: the mean feature, with coordinates closer to 0 than ``eps`` moved to
    ``+-eps`` (notebook 04). A coordinate of ``c`` at 0 is one a bias-free network can hit by
    zeroing its weights."""
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
    ``nu`` bounds the fraction of training images left outside. ``R`` is not trained by
    gradient: :class:`RadiusUpdate` sets it after each epoch (the paper's schedule).
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


class RadiusUpdate(keras.callbacks.Callback):
    """After ``warm_up`` epochs, set ``R`` to the ``1 - nu`` quantile of training distances."""

    def __init__(self, loss, network, images, center, warm_up):
        super().__init__()
        self.loss, self.network, self.images = loss, network, images
        self.center, self.warm_up = center, int(warm_up)

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.warm_up:
            features = self.network.predict(self.images, batch_size=256, verbose=0)
            distances = np.sqrt(np.sum((features - self.center) ** 2, axis=1))
            self.loss.radius.assign(float(np.quantile(distances, 1.0 - self.loss.nu)))


class DeepSVDD(ImageDetector):
    """Deep SVDD anomaly detector with the scikit-learn outlier API (notebook 04).

    ``score_samples`` is minus the squared distance of ``phi(x)`` to the centre ``c_``.

    Parameters
    ----------
    filters, latent_dim : the feature network ``phi``: one stride-2 convolution per entry of
        ``filters``, then a dense layer to ``latent_dim`` features
        (:func:`.networks.build_encoder`). Two halvings keep the 2x2 layout of an 8x8 digit.
    use_bias : ``False`` (the paper). ``True`` adds bias terms to every layer, which lets the
        network collapse to a constant; it exists to demonstrate that pitfall.
    batch_norm : BatchNorm after each convolution, without shift and scale when ``use_bias`` is
        ``False``. Off by default: it helped on the digits (mean AUROC 0.990 vs 0.974 over ten
        digits) but hurt on the faces (0.63 vs 0.93), whose batches are tiny (notebook 04).
    epochs, batch_size, learning_rate, weight_decay : AdamW training of the Deep SVDD loss.
    pretrain_epochs : epochs of autoencoder pre-training of ``phi`` (with a mirror decoder,
        :func:`.networks.build_decoder`) before ``c_`` is chosen; 0 (default) disables it. On
        these small datasets it did not help (notebook 04 shows the comparison).
    objective : ``"one-class"`` (pull every image towards ``c_``) or ``"soft-boundary"``
        (pull only the images outside the radius ``R``; see :class:`SoftBoundaryLoss`).
    nu : soft-boundary only, in (0, 1]: the fraction of training images allowed outside ``R``.
    warm_up_epochs : soft-boundary only: epochs of one-class training before ``R`` is updated.
    center_eps : coordinates of ``c_`` closer to 0 than this are moved to ``+-center_eps``.
    validation_fraction : normal training images held out for ``val_loss`` and ``offset_``.
    false_alarm_rate : fraction of held-out normal images that ``predict`` flags. This rule is
        used for both objectives; the paper's soft-boundary rule, "anomaly iff outside ``R``",
        would be ``offset_ = -radius_**2``.

    Attributes
    ----------
    model_ : the trained feature network ``phi`` (a plain Keras model, no bias terms).
    c_ : the centre, float32 ``(latent_dim,)``. radius_ : ``R`` (0 for "one-class").
    history_, pretrain_history_ : Keras loss curves (``val_loss`` on held-out normal images).
    """

    def __init__(
        self,
        filters=(16, 32),
        latent_dim=32,
        use_bias=False,
        batch_norm=False,
        epochs=50,
        batch_size=32,
        learning_rate=1e-3,
        weight_decay=1e-4,
        pretrain_epochs=0,
        objective="one-class",
        nu=0.1,
        warm_up_epochs=5,
        center_eps=0.1,
        validation_fraction=0.2,
        false_alarm_rate=0.05,
        random_state=0,
        verbose=0,
    ):
        self.filters = filters
        self.latent_dim = latent_dim
        self.use_bias = use_bias
        self.batch_norm = batch_norm
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.pretrain_epochs = pretrain_epochs
        self.objective = objective
        self.nu = nu
        self.warm_up_epochs = warm_up_epochs
        self.center_eps = center_eps
        self.validation_fraction = validation_fraction
        self.false_alarm_rate = false_alarm_rate
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}; got {self.objective!r}.")
        if not 0.0 < self.nu <= 1.0:
            raise ValueError(f"nu must be in (0, 1]; got {self.nu!r}.")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in (0, 1); got {self.validation_fraction!r}."
            )
        for name in ("epochs", "batch_size", "latent_dim"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive int; got {getattr(self, name)!r}.")
        for name in ("pretrain_epochs", "warm_up_epochs"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be an int >= 0; got {getattr(self, name)!r}.")
        if self.learning_rate <= 0 or self.weight_decay < 0 or self.center_eps < 0:
            raise ValueError(
                "learning_rate must be > 0, weight_decay and center_eps >= 0; got "
                f"{self.learning_rate!r}, {self.weight_decay!r}, {self.center_eps!r}."
            )
        if not 0.0 <= self.false_alarm_rate < 1.0:
            raise ValueError(f"false_alarm_rate must be in [0, 1); got {self.false_alarm_rate!r}.")

    def build_network(self, padded_shape) -> keras.Model:
        """The feature network ``phi`` for padded images of ``padded_shape``; no bias terms."""
        network = networks.build_encoder(
            padded_shape,
            self.filters,
            int(self.latent_dim),
            use_bias=self.use_bias,
            batch_norm=self.batch_norm,
            activation="leaky_relu",
            name="phi",
        )
        for layer in network.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = BATCH_NORM_MOMENTUM
        return network

    def _fit(self, images, y):
        self._check_params()
        if len(images) < 2:
            raise ValueError(f"X needs at least 2 images (one held out); got {len(images)}.")
        runtime.set_seed(self.random_state)
        fit_images, val_images = train_test_split(
            images, test_size=self.validation_fraction, random_state=self.random_state
        )
        padded_fit, padded_val = self._pad(fit_images), self._pad(val_images)
        network = self.build_network(padded_fit.shape[1:])
        self.pretrain_history_ = {}
        if self.pretrain_epochs > 0:
            self.pretrain_history_ = self._pretrain(network, padded_fit, padded_val)
        self.c_ = self._initial_center(network, padded_fit)
        self.radius_ = 0.0
        history = self._train(network, padded_fit, padded_val)
        self.model_ = network
        self.history_ = {key: [float(v) for v in values] for key, values in history.items()}
        self.offset_ = offset_from_normal_scores(
            self._score_samples(val_images), self.false_alarm_rate
        )

    def _pretrain(self, network, padded_fit, padded_val) -> dict:
        # The decoder is thrown away afterwards, so it may keep its biases: only phi must not.
        decoder = networks.build_decoder(
            padded_fit.shape[1:], self.filters, int(self.latent_dim), name="pretrain_decoder"
        )
        autoencoder = keras.Model(network.inputs, decoder(network.outputs[0]), name="pretrain")
        autoencoder.compile(
            optimizer=keras.optimizers.AdamW(self.learning_rate, weight_decay=self.weight_decay),
            loss="mse",
        )
        history = autoencoder.fit(
            padded_fit,
            padded_fit,
            validation_data=(padded_val, padded_val),
            epochs=int(self.pretrain_epochs),
            batch_size=int(self.batch_size),
            verbose=self.verbose,
        )
        return {key: [float(v) for v in values] for key, values in history.history.items()}

    def _initial_center(self, network, padded_fit) -> np.ndarray:
        features = network.predict(padded_fit, batch_size=256, verbose=0)
        return initial_center(features, self.center_eps)

    def _train(self, network, padded_fit, padded_val) -> dict:
        # A thin wrapper gets compiled, so that model_ (phi itself) stays a plain network.
        trainer = keras.Model(network.inputs, network.outputs, name="deep_svdd_trainer")
        callbacks = []
        if self.objective == "soft-boundary":
            loss = SoftBoundaryLoss(nu=self.nu)
            callbacks.append(
                RadiusUpdate(loss, network, padded_fit, self.c_, int(self.warm_up_epochs))
            )
        else:
            loss = squared_distance
        trainer.compile(
            optimizer=keras.optimizers.AdamW(self.learning_rate, weight_decay=self.weight_decay),
            loss=loss,
        )
        history = trainer.fit(
            padded_fit,
            np.tile(self.c_, (len(padded_fit), 1)),
            validation_data=(padded_val, np.tile(self.c_, (len(padded_val), 1))),
            epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            callbacks=callbacks,
            verbose=self.verbose,
        )
        if self.objective == "soft-boundary":
            self.radius_ = float(loss.radius.numpy())
        return history.history

    def _pad(self, images):
        height, width = images.shape[1:3]
        return networks.pad_images(images, networks.padded_size(height, width, len(self.filters)))

    def features(self, X) -> np.ndarray:
        """The learned features ``phi(X)``, ``(n, latent_dim)`` (the 2-D plots of notebook 04)."""
        return self._features(self._check_images(X))

    def _features(self, images):
        return self.model_.predict(self._pad(images), batch_size=256, verbose=0)

    def _score_samples(self, images):
        distances = np.sum((self._features(images) - self.c_) ** 2, axis=1)
        return -distances.astype(np.float64)


def build(quick: bool = False, random_state: int = 0, **params) -> DeepSVDD:
    """The ``deep_svdd`` detector, unfitted; ``quick=True`` is a small, few-epoch model."""
    settings = {"random_state": random_state}
    if quick:
        settings.update(filters=(8, 16), latent_dim=16, epochs=3, warm_up_epochs=1)
    settings.update(params)
    return DeepSVDD(**settings)
