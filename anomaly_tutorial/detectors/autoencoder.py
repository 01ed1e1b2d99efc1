"""``conv_autoencoder``: learn to reproduce normal images; anomalies reconstruct badly.

Notebook 03 explains it. A small convolutional encoder/decoder (:mod:`.networks`) is trained on
normal images only and stops early on *held-out normal* images (never on the test set). An
image is scored by how badly it is reconstructed: a per-pixel error map (squared error or
SSIM), smoothed, then reduced to one number by its mean or by its local maximum.
"""

import keras
import numpy as np
from scipy import ndimage
from sklearn.model_selection import train_test_split

from anomaly_tutorial import runtime
from anomaly_tutorial.detectors import networks, ssim
from anomaly_tutorial.detectors.base import ImageDetector, offset_from_normal_scores

LOSSES = ("mse", "mae", "ssim")
#: ``<error>_<reduction>``: squared error or SSIM, averaged or taken at the smoothed maximum.
SCORINGS = ("mse_mean", "mse_max", "ssim_mean", "ssim_max")


@keras.saving.register_keras_serializable(package="anomaly_tutorial")
class RandomBlobCorruption(keras.layers.Layer):
    """During training only, overwrite random blobs of the input (inpainting, notebook 03).

    Each blob is filled either with a flat random grey or with the same texture shifted by a
    random brightness. The decoder must rebuild the clean normal image from the surrounding
    texture, so it learns to *remove* what does not belong instead of copying any input.
    """

    def __init__(self, rate=0.25, blob_size=8, shift_share=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.blob_size = int(blob_size)
        self.shift_share = float(shift_share)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        height, width = inputs.shape[1], inputs.shape[2]
        batch = keras.ops.shape(inputs)[0]
        rows, cols = -(-height // self.blob_size) + 1, -(-width // self.blob_size) + 1
        coarse = keras.random.uniform((batch, rows, cols, 1), seed=self.seed_generator)
        smooth = keras.ops.image.resize(coarse, (height, width), interpolation="bilinear")
        # Cut at the batch's quantile, so that `rate` of all pixels is hidden (in blobs).
        cut = keras.ops.quantile(smooth, self.rate)
        hidden = keras.ops.cast(smooth < cut, inputs.dtype)
        draws = keras.random.uniform((batch, 1, 1, 3), seed=self.seed_generator)
        grey, shift = draws[..., :1], draws[..., 1:2] - 0.5
        use_shift = keras.ops.cast(draws[..., 2:] < self.shift_share, inputs.dtype)
        fill = use_shift * keras.ops.clip(inputs + shift, 0.0, 1.0) + (1.0 - use_shift) * grey
        return inputs * (1.0 - hidden) + fill * hidden

    def get_config(self):
        config = super().get_config()
        config.update(
            rate=self.rate, blob_size=self.blob_size, shift_share=self.shift_share, seed=self.seed
        )
        return config


class ConvAutoencoder(ImageDetector):
    """Convolutional autoencoder anomaly detector with the scikit-learn outlier API (notebook 03).

    Parameters
    ----------
    filters, latent_dim : encoder widths (one halving each) and code size (``None``: the last
        feature map is the code), see :func:`.networks.build_encoder`.
    epochs, batch_size, learning_rate : Adam training; ``patience`` epochs without a better
        held-out normal loss stop it early (the best weights are kept).
    loss : ``"mse"``, ``"mae"`` or ``"ssim"`` (``1 - SSIM`` in ``keras.ops``).
    scoring : one of ``SCORINGS``: error map (squared error or ``(1 - SSIM) / 2``) and reduction
        (mean, or maximum after a Gaussian blur of ``smoothing_sigma`` pixels).
    mask_rate, mask_size : fraction of ``mask_size`` x ``mask_size`` patches hidden from the
        input during training (0 disables inpainting training).
    noise_std : Gaussian noise added to the training input (denoising; 0 disables it).
    validation_fraction : held-out normal training images for early stopping and ``offset_``.
    false_alarm_rate : fraction of held-out normal images that ``predict`` flags (``offset_``).
    """

    def __init__(
        self,
        filters=(32, 64, 128),
        latent_dim=None,
        epochs=60,
        batch_size=32,
        learning_rate=1e-3,
        loss="mse",
        scoring="ssim_max",
        smoothing_sigma=2.0,
        mask_rate=0.0,
        mask_size=8,
        shift_share=0.5,
        noise_std=0.0,
        validation_fraction=0.2,
        patience=10,
        false_alarm_rate=0.05,
        random_state=0,
        verbose=0,
    ):
        self.filters = filters
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.loss = loss
        self.scoring = scoring
        self.smoothing_sigma = smoothing_sigma
        self.mask_rate = mask_rate
        self.mask_size = mask_size
        self.shift_share = shift_share
        self.noise_std = noise_std
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.false_alarm_rate = false_alarm_rate
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}; got {self.loss!r}.")
        if self.scoring not in SCORINGS:
            raise ValueError(f"scoring must be one of {SCORINGS}; got {self.scoring!r}.")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in (0, 1); got {self.validation_fraction!r}."
            )
        for name in ("epochs", "batch_size", "patience", "mask_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive int; got {getattr(self, name)!r}.")
        if not 0.0 <= self.mask_rate < 1.0:
            raise ValueError(f"mask_rate must be in [0, 1); got {self.mask_rate!r}.")
        if self.noise_std < 0 or self.smoothing_sigma < 0 or self.learning_rate <= 0:
            raise ValueError(
                "noise_std and smoothing_sigma must be >= 0 and learning_rate > 0; got "
                f"{self.noise_std!r}, {self.smoothing_sigma!r}, {self.learning_rate!r}."
            )
        if not 0.0 <= self.false_alarm_rate < 1.0:
            raise ValueError(f"false_alarm_rate must be in [0, 1); got {self.false_alarm_rate!r}.")

    def build_model(self, image_shape) -> keras.Model:
        """The Keras autoencoder for images of ``image_shape`` (padded inside ``fit``)."""
        height, width, channels = image_shape
        padded = (*networks.padded_size(height, width, len(self.filters)), channels)
        inputs = keras.Input(shape=padded, name="image")
        tensor = inputs
        if self.noise_std > 0:
            tensor = keras.layers.GaussianNoise(
                self.noise_std, seed=self.random_state, name="noise"
            )(tensor)
        if self.mask_rate > 0:
            tensor = RandomBlobCorruption(
                self.mask_rate,
                self.mask_size,
                self.shift_share,
                seed=self.random_state,
                name="corruption",
            )(tensor)
        encoder = networks.build_encoder(padded, self.filters, self.latent_dim)
        decoder = networks.build_decoder(padded, self.filters, self.latent_dim)
        return keras.Model(inputs, decoder(encoder(tensor)), name="conv_autoencoder")

    def _fit(self, images, y):
        self._check_params()
        if len(images) < 2:
            raise ValueError(f"X needs at least 2 images (one held out); got {len(images)}.")
        runtime.set_seed(self.random_state)
        fit_images, val_images = train_test_split(
            images, test_size=self.validation_fraction, random_state=self.random_state
        )
        model = self.build_model(images.shape[1:])
        loss = ssim.ssim_loss if self.loss == "ssim" else self.loss
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss=loss)
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=int(self.patience), restore_best_weights=True
        )
        padded_fit, padded_val = self._pad(fit_images), self._pad(val_images)
        history = model.fit(
            padded_fit,
            padded_fit,
            validation_data=(padded_val, padded_val),
            epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            callbacks=[stopper],
            verbose=self.verbose,
        )
        self.model_ = model
        self.history_ = {
            key: [float(value) for value in values] for key, values in history.history.items()
        }
        self.n_epochs_ = len(self.history_["loss"])
        self.offset_ = offset_from_normal_scores(
            self._score_samples(val_images), self.false_alarm_rate
        )

    def _pad(self, images):
        height, width = images.shape[1:3]
        return networks.pad_images(images, networks.padded_size(height, width, len(self.filters)))

    def reconstruct(self, X) -> np.ndarray:
        """The autoencoder's reconstructions of ``X``, ``(n, H, W, C)`` in [0, 1]."""
        return self._reconstruct(self._check_images(X))

    def _reconstruct(self, images):
        outputs = self.model_.predict(self._pad(images), batch_size=256, verbose=0)
        return networks.crop_maps(outputs, images.shape[1:3])

    def _error_maps(self, images):
        reconstructions = self._reconstruct(images)
        if self.scoring.startswith("ssim"):
            return ssim.ssim_error_maps(images, reconstructions)
        return np.mean((images - reconstructions) ** 2, axis=-1)

    def _smooth(self, maps):
        if self.smoothing_sigma == 0:
            return maps
        sigma = (0, self.smoothing_sigma, self.smoothing_sigma)
        return ndimage.gaussian_filter(maps, sigma, mode="nearest")

    def anomaly_map(self, X) -> np.ndarray:
        """Smoothed reconstruction error per pixel, ``(n, H, W)``; higher = more anomalous."""
        return self._smooth(self._error_maps(self._check_images(X)))

    def _score_samples(self, images):
        maps = self._error_maps(images)
        if self.scoring.endswith("_mean"):
            return -maps.mean(axis=(1, 2)).astype(np.float64)
        return -self._smooth(maps).max(axis=(1, 2)).astype(np.float64)


def build(quick: bool = False, random_state: int = 0, **params) -> ConvAutoencoder:
    """The ``conv_autoencoder`` detector, unfitted; ``quick=True`` is a small, few-epoch model."""
    settings = {"random_state": random_state}
    if quick:
        settings.update(filters=(8, 16, 32), epochs=3, patience=3)
    settings.update(params)
    return ConvAutoencoder(**settings)
