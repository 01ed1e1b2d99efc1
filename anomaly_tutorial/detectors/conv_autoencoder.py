"""``conv_autoencoder``: learn to reproduce normal images; anomalies reconstruct badly.

Notebook 03 explains it. A small convolutional encoder/decoder (:mod:`.networks`) is trained on
normal images only and stops early on *held-out normal* images (never on the test set). An
image is scored by how badly it is reconstructed: a per-pixel error map (squared error or
SSIM), smoothed, then reduced to one number by its mean or by its local maximum.

The defaults are the recipe that works on stochastic textures such as grass: inpainting training
(:mod:`.corruption`), a spatial code, and the robust maximum of a lightly blurred, smoothed
squared error. ``PLAIN`` is the textbook autoencoder that notebook 03 starts from.
"""

from numbers import Integral, Real

import keras
import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from anomaly_tutorial.detectors import networks, reconstruction
from anomaly_tutorial.detectors.base import POSITIVE_INT
from anomaly_tutorial.detectors.corruption import RandomBlobCorruption
from anomaly_tutorial.detectors.keras_base import KerasImageDetector
from anomaly_tutorial.detectors.moments import RunningMoments

#: The plain autoencoder notebook 03 starts from: a dense 64-number bottleneck, no inpainting,
#: the mean squared error as image score. ``ConvAutoencoder(**PLAIN)`` builds it.
PLAIN = {
    "filters": (16, 32, 64),
    "latent_dim": 64,
    "batch_size": 32,
    "learning_rate": 1e-3,
    "mask_rate": 0.0,
    "error": "mse",
    "reduction": "mean",
    "error_blur": 0.0,
    "smoothing_sigma": 0.0,
    "normalize_errors": False,
    "patience": 10,
}
_AT_LEAST_0 = [Interval(Real, 0, None, closed="left")]
_FRACTION = [Interval(Real, 0, 1, closed="both")]


class ConvAutoencoder(KerasImageDetector):
    """Convolutional autoencoder anomaly detector with the scikit-learn outlier API (notebook 03).

    Parameters
    ----------
    filters : tuple of int, default=(24, 48)
        Encoder widths, one halving of the image each; the decoder mirrors them.
    latent_dim : int or None, default=None
        Size of a dense code; ``None`` keeps the last feature map as the code.
    epochs : int, default=40
        Most training epochs; training stops after ``patience`` epochs without a better loss
        on the held-out normal images, and keeps the best weights.
    batch_size : int, default=16
        Images per training step and per inference call.
    learning_rate : float, default=2e-3
        Adam's learning rate.
    loss : {"mse", "mae", "ssim"}, default="mse"
        Training loss; ``"ssim"`` is ``1 - SSIM`` (:func:`.reconstruction.ssim_loss`).
    mask_rate : float in [0, 1), default=0.25
        Inpainting training: share of each training input hidden under random blobs
        (:class:`.corruption.RandomBlobCorruption`); 0 trains a plain autoencoder.
    mask_size : int, default=8
        Blob size in pixels.
    shift_share : float in [0, 1], default=0.5
        Share of blobs filled with the brightened or darkened texture instead of a flat grey.
    noise_std : float, default=0.0
        Gaussian noise on the training input (a denoising autoencoder); 0 = none.
    error : {"mse", "ssim"}, default="mse"
        Per-pixel error: squared difference, or SSIM's dissimilarity.
    reduction : {"mean", "max"}, default="max"
        Image score from the error map: its mean, or its robust maximum (``top_fraction``).
    error_blur : float, default=0.5
        Gaussian sigma (pixels) applied to image and reconstruction before comparing.
    smoothing_sigma : float, default=4.0
        Gaussian sigma (pixels) smoothing the error map.
    top_fraction : float in [0, 1], default=0.1
        The ``"max"`` reduction averages this top share of the map's pixels.
    normalize_errors : bool, default=True
        Express the map, per pixel, in units of the spread of the training images' errors at
        that pixel, so that hard-to-redraw borders do not dominate.
    patience : int, default=15
        Early-stopping patience in epochs.
    {shared_parameters}
    {verbose_parameter}

    Attributes
    ----------
    model_ : keras.Model
        The trained autoencoder (input padded, see :mod:`.networks`).
    history_ : dict
        ``loss`` and ``val_loss`` (held-out normal images) per epoch.
    n_epochs_ : int
        Epochs trained before early stopping.
    error_mean_, error_scale_ : ndarray of shape (H, W)
        Per-pixel error statistics of the training images (``normalize_errors``).
    {offset_attribute}

    See Also
    --------
    anomaly_tutorial.detectors.deep_svdd.DeepSVDD : one-class deep detector without decoder.

    Examples
    --------
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((20, 16, 16), dtype=np.float32)
    >>> detector = ConvAutoencoder(filters=(4,), epochs=1).fit(images)
    >>> detector.predict(images[:3]).shape, detector.anomaly_map(images[:2]).shape
    ((3,), (2, 16, 16))
    """

    QUICK_PARAMS = {"filters": (8, 16), "epochs": 3, "patience": 3}
    _parameter_constraints: dict = {
        **KerasImageDetector._parameter_constraints,
        "latent_dim": [None, *POSITIVE_INT],
        "loss": [StrOptions({"mse", "mae", "ssim"})],
        "mask_rate": [Interval(Real, 0, 1, closed="left")],
        "mask_size": POSITIVE_INT,
        "shift_share": _FRACTION,
        "noise_std": _AT_LEAST_0,
        "error": [StrOptions(set(reconstruction.ERRORS))],
        "reduction": [StrOptions(set(reconstruction.REDUCTIONS))],
        "error_blur": _AT_LEAST_0,
        "smoothing_sigma": _AT_LEAST_0,
        "top_fraction": _FRACTION,
        "normalize_errors": ["boolean"],
        "patience": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, filters=(24, 48), latent_dim=None, epochs=40, batch_size=16,
                 learning_rate=2e-3, loss="mse", mask_rate=0.25, mask_size=8, shift_share=0.5,
                 noise_std=0.0, error="mse", reduction="max", error_blur=0.5, smoothing_sigma=4.0,
                 top_fraction=0.1, normalize_errors=True, patience=15, validation_fraction=0.2,
                 false_alarm_rate=0.05, random_state=0, verbose=0):  # fmt: skip
        self._store_params(locals())

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

    def _fit(self, images, labels, val_images, val_labels):
        self.model_ = self.build_model(images.image_shape)
        loss = reconstruction.ssim_loss if self.loss == "ssim" else self.loss
        self.model_.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss=loss)
        # Early stopping watches held-out *normal* images. Watching the test set, as many
        # tutorials do, would tune the model on the very anomalies it is judged on.
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=self.patience, restore_best_weights=True
        )
        self.history_ = self._train(self.model_, images, val_images, callbacks=[stopper])
        self.n_epochs_ = len(self.history_["loss"])
        # Normal error is not the same everywhere (borders are harder to redraw), so each pixel
        # is compared with the errors the *training* images make at that position.
        self.error_mean_, self.error_scale_ = np.zeros((2, *images.image_shape[:2]), np.float32)
        self.error_settings_ = self._error_settings()
        if self.normalize_errors:
            moments = RunningMoments()  # batch by batch: memory does not grow with the images
            for batch in images.batches(description="Error statistics", verbose=self.verbose):
                moments.add(self._maps(batch))
            self.error_mean_ = moments.mean.astype(np.float32)
            # The floor keeps pixels that are always perfectly redrawn (digit borders) finite.
            spread = moments.std.astype(np.float32)
            self.error_scale_ = spread + 0.1 * spread.mean() + 1e-12

    def reconstruct(self, X) -> np.ndarray:
        """The reconstructions of ``X``, ``(n, H, W, C)`` in [0, 1]."""
        return self._reconstruct(self._check_images(X))

    def _reconstruct(self, images):
        return networks.crop_maps(self._predict(images), images.shape[1:3])

    def _maps(self, images):
        maps = reconstruction.error_maps(
            images, self._reconstruct(images), self.error, blur_sigma=self.error_blur
        )
        return reconstruction.blur(maps, self.smoothing_sigma)

    def _error_settings(self) -> list:
        return [self.error, float(self.error_blur), float(self.smoothing_sigma)]

    def _normalised_maps(self, images):
        if not self.normalize_errors:
            return self._maps(images)
        if self._error_settings() != list(self.error_settings_):
            raise ValueError(
                "normalize_errors=True uses error statistics measured at fit time with "
                f"(error, error_blur, smoothing_sigma) = {self.error_settings_}; these are now "
                f"{self._error_settings()}. Fit again, or set normalize_errors=False."
            )
        return (self._maps(images) - self.error_mean_) / self.error_scale_

    def anomaly_map(self, X) -> np.ndarray:
        """Smoothed reconstruction error per pixel, ``(n, H, W)``; higher = more anomalous.

        With ``normalize_errors`` it is in units of the training images' spread at that pixel.
        Images larger than the training size are tiled and their maps stitched
        (:mod:`anomaly_tutorial.tiling`).
        """
        return self._stitched_maps(X, self._normalised_maps)

    def scores_from_maps(self, maps) -> np.ndarray:
        """``score_samples`` from anomaly maps ``(n, H, W)``: minus their ``reduction``."""
        return -reconstruction.image_scores(maps, self.reduction, self.top_fraction)

    def _score_samples(self, images):
        return self.scores_from_maps(self._normalised_maps(images))
