"""``conv_autoencoder``: learn to reproduce normal images; anomalies reconstruct badly.

Notebook 03 explains it. A small convolutional encoder/decoder (:mod:`.networks`) is trained on
normal images only and stops early on *held-out normal* images (never on the test set). An
image is scored by how badly it is reconstructed: a per-pixel error map (squared error or
SSIM), smoothed, then reduced to one number by its mean or by its local maximum.

The defaults are the recipe that works on stochastic textures such as grass: inpainting training
(:mod:`.corruption`), a spatial code, and the robust maximum of a lightly blurred, smoothed
squared error. ``PLAIN`` is the textbook autoencoder that notebook 03 starts from.
"""

import keras
import numpy as np

from anomaly_tutorial import datasets, runtime
from anomaly_tutorial.detectors import networks, reconstruction
from anomaly_tutorial.detectors.base import ImageDetector, offset_from_normal_scores
from anomaly_tutorial.detectors.corruption import RandomBlobCorruption

LOSSES = ("mse", "mae", "ssim")
#: ``<error>_<reduction>``: squared error or SSIM, reduced by the mean or the robust maximum.
SCORINGS = tuple(
    f"{error}_{reduction}"
    for error in reconstruction.ERRORS
    for reduction in reconstruction.REDUCTIONS
)

#: The plain autoencoder notebook 03 starts from: a dense 64-number bottleneck, no inpainting,
#: the mean squared error as image score. ``ConvAutoencoder(**PLAIN)`` builds it.
PLAIN = {
    "filters": (16, 32, 64),
    "latent_dim": 64,
    "batch_size": 32,
    "learning_rate": 1e-3,
    "mask_rate": 0.0,
    "scoring": "mse_mean",
    "error_blur": 0.0,
    "smoothing_sigma": 0.0,
    "normalize_errors": False,
    "patience": 10,
}


class ConvAutoencoder(ImageDetector):
    """Convolutional autoencoder anomaly detector with the scikit-learn outlier API (notebook 03).

    Parameters
    ----------
    filters, latent_dim : encoder widths (one halving each) and code size; ``latent_dim=None``
        keeps the last feature map as the code (see :func:`.networks.build_encoder`).
    epochs, batch_size, learning_rate : Adam training. Training stops after ``patience`` epochs
        without a better loss on held-out *normal* images; the best weights are kept.
    loss : ``"mse"``, ``"mae"`` or ``"ssim"`` (``1 - SSIM``, :func:`.reconstruction.ssim_loss`).
    mask_rate, mask_size, shift_share : inpainting training: blobs of about ``mask_size``
        pixels covering ``mask_rate`` of each training input are overwritten
        (:class:`.corruption.RandomBlobCorruption`); ``mask_rate=0`` trains a plain autoencoder.
    noise_std : Gaussian noise on the training input (a denoising autoencoder); 0 = none.
    scoring : ``"<error>_<reduction>"`` (``SCORINGS``): error ``mse`` (squared) or ``ssim``,
        reduced by the map's ``mean`` or its robust ``max``.
    error_blur : Gaussian sigma (pixels) applied to image and reconstruction before comparing.
    smoothing_sigma : Gaussian sigma (pixels) smoothing the error map (``anomaly_map``).
    top_fraction : the ``max`` reduction averages this top fraction of the smoothed map.
    normalize_errors : express the map, per pixel, in units of the spread of the training
        images' errors at that pixel (z-score), so that hard-to-redraw borders do not dominate.
    validation_fraction : share of ``X`` held out (normal images) for early stopping and
        ``offset_``.
    false_alarm_rate : share of held-out normal images that ``predict`` flags (``offset_``).
    """

    def __init__(
        self,
        filters=(24, 48),
        latent_dim=None,
        epochs=40,
        batch_size=16,
        learning_rate=2e-3,
        loss="mse",
        mask_rate=0.25,
        mask_size=8,
        shift_share=0.5,
        noise_std=0.0,
        scoring="mse_max",
        error_blur=0.5,
        smoothing_sigma=4.0,
        top_fraction=0.1,
        normalize_errors=True,
        validation_fraction=0.2,
        patience=15,
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
        self.mask_rate = mask_rate
        self.mask_size = mask_size
        self.shift_share = shift_share
        self.noise_std = noise_std
        self.scoring = scoring
        self.error_blur = error_blur
        self.smoothing_sigma = smoothing_sigma
        self.top_fraction = top_fraction
        self.normalize_errors = normalize_errors
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
        checks = {
            "epochs": (self.epochs >= 1, "a positive int"),
            "batch_size": (self.batch_size >= 1, "a positive int"),
            "patience": (self.patience >= 1, "a positive int"),
            "mask_size": (self.mask_size >= 1, "a positive int"),
            "learning_rate": (self.learning_rate > 0, "> 0"),
            "noise_std": (self.noise_std >= 0, ">= 0"),
            "error_blur": (self.error_blur >= 0, ">= 0"),
            "smoothing_sigma": (self.smoothing_sigma >= 0, ">= 0"),
            "mask_rate": (0 <= self.mask_rate < 1, "in [0, 1)"),
            "shift_share": (0 <= self.shift_share <= 1, "in [0, 1]"),
            "top_fraction": (0 <= self.top_fraction <= 1, "in [0, 1]"),
            "validation_fraction": (0 < self.validation_fraction < 1, "in (0, 1)"),
            "false_alarm_rate": (0 <= self.false_alarm_rate < 1, "in [0, 1)"),
        }
        for name, (valid, expected) in checks.items():
            if not valid:
                raise ValueError(f"{name} must be {expected}; got {getattr(self, name)!r}.")

    def build_model(self, image_shape) -> keras.Model:
        """The Keras autoencoder for images of ``image_shape``, padded as ``fit`` pads them.

        Input -> (training only: noise, blob corruption) -> encoder -> decoder.
        """
        height, width, channels = image_shape
        padded = (*networks.padded_size(height, width, len(self.filters)), channels)
        inputs = keras.Input(shape=padded, name="image")
        tensor = inputs
        if self.noise_std > 0:
            noise = keras.layers.GaussianNoise(self.noise_std, seed=self.random_state, name="noise")
            tensor = noise(tensor)
        if self.mask_rate > 0:
            corrupt = RandomBlobCorruption(
                self.mask_rate, self.mask_size, self.shift_share, self.random_state, name="blobs"
            )
            tensor = corrupt(tensor)
        encoder = networks.build_encoder(padded, self.filters, self.latent_dim)
        decoder = networks.build_decoder(padded, self.filters, self.latent_dim)
        return keras.Model(inputs, decoder(encoder(tensor)), name="conv_autoencoder")

    def _fit(self, images, y):
        self._check_params()
        if len(images) < 2:
            raise ValueError(f"X needs at least 2 images (one is held out); got {len(images)}.")
        runtime.set_seed(self.random_state)
        fit_images, val_images = datasets.split_normal(
            images, self.validation_fraction, random_state=self.random_state
        )
        model = self.build_model(images.shape[1:])
        loss = reconstruction.ssim_loss if self.loss == "ssim" else self.loss
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss=loss)
        # Early stopping watches held-out *normal* images. Watching the test set, as many
        # tutorials do, would tune the model on the very anomalies it is judged on.
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
        # Normal error is not the same everywhere (borders are harder to redraw), so each pixel
        # is compared with the errors the *training* images make at that position.
        self.error_mean_, self.error_scale_ = np.zeros((2, *images.shape[1:3]), np.float32)
        self.error_settings_ = self._error_settings()
        if self.normalize_errors:
            fit_maps = self._maps(fit_images)
            self.error_mean_ = fit_maps.mean(axis=0)
            # The floor keeps pixels that are always perfectly redrawn (digit borders) finite.
            spread = fit_maps.std(axis=0)
            self.error_scale_ = spread + 0.1 * spread.mean() + 1e-12
        self.offset_ = offset_from_normal_scores(
            self._score_samples(val_images), self.false_alarm_rate
        )

    def _pad(self, images):
        height, width = images.shape[1:3]
        return networks.pad_images(images, networks.padded_size(height, width, len(self.filters)))

    def reconstruct(self, X) -> np.ndarray:
        """The reconstructions of ``X``, ``(n, H, W, C)`` in [0, 1]."""
        return self._reconstruct(self._check_images(X))

    def _reconstruct(self, images):
        padded = self._pad(images)
        # Direct calls in fixed-size chunks: predict() would trace a new graph for every fitted
        # model and batch shape, and warn about it, for no gain at this model size.
        outputs = [
            keras.ops.convert_to_numpy(self.model_(padded[start : start + 256], training=False))
            for start in range(0, len(padded), 256)
        ]
        return networks.crop_maps(np.concatenate(outputs), images.shape[1:3])

    def _maps(self, images):
        error = self.scoring.split("_")[0]
        maps = reconstruction.error_maps(
            images, self._reconstruct(images), error, blur_sigma=self.error_blur
        )
        return reconstruction.blur(maps, self.smoothing_sigma)

    def _error_settings(self) -> tuple:
        return (self.scoring.split("_")[0], float(self.error_blur), float(self.smoothing_sigma))

    def _normalised_maps(self, images):
        if not self.normalize_errors:
            return self._maps(images)
        if self._error_settings() != self.error_settings_:
            raise ValueError(
                "normalize_errors=True uses error statistics measured at fit time with "
                f"(error, error_blur, smoothing_sigma) = {self.error_settings_}; these are now "
                f"{self._error_settings()}. Fit again, or set normalize_errors=False."
            )
        return (self._maps(images) - self.error_mean_) / self.error_scale_

    def anomaly_map(self, X) -> np.ndarray:
        """Smoothed reconstruction error per pixel, ``(n, H, W)``; higher = more anomalous.

        With ``normalize_errors`` it is in units of the training images' spread at that pixel.
        """
        return self._normalised_maps(self._check_images(X))

    def _score_samples(self, images):
        reduction = self.scoring.split("_")[1]
        maps = self._normalised_maps(images)
        return -reconstruction.image_scores(maps, reduction, self.top_fraction)


def build(quick: bool = False, random_state: int = 0, **params) -> ConvAutoencoder:
    """The ``conv_autoencoder`` detector, unfitted; ``quick=True`` is a small, few-epoch model."""
    settings = {"random_state": random_state}
    if quick:
        settings.update(filters=(8, 16), epochs=3, patience=3)
    settings.update(params)
    return ConvAutoencoder(**settings)
