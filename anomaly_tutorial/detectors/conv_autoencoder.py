"""``conv_autoencoder``: learn to redraw normal images; anomalies redraw badly (notebook 03).

An image is scored by its per-pixel reconstruction error (:func:`error_maps`), smoothed and
reduced to one number. The recipes are the presets of :data:`PRESETS`; :func:`choose_preset`
chooses between ``"texture"`` and ``"object"`` from the normal training images alone
(:func:`position_r2`). The rule and the recipes were chosen on the development parts of the
bundled data only (``datasets.parts``).
"""

from numbers import Integral, Real

import keras
import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial.batching import as_source
from anomaly_tutorial.detectors import anomaly_maps, networks, state
from anomaly_tutorial.detectors.base import POSITIVE_INT
from anomaly_tutorial.detectors.corruption import RandomBlobCorruption
from anomaly_tutorial.detectors.keras_base import KerasImageDetector

#: The plain autoencoder notebook 03 starts from (the ``"textbook"`` preset).
PLAIN = {
    "filters": (16, 32, 64),
    "latent_dim": 64,
    "batch_size": 32,
    "learning_rate": 1e-3,
    "mask_rate": 0.0,
    "reduction": "mean",
    "error_blur": 0.0,
    "smoothing_sigma": 0.0,
    "normalize_errors": False,
    "patience": 10,
}
#: The recipes of the course, by name: ``make_detector("conv_autoencoder", preset=name)``.
#: - ``"textbook"`` (:data:`PLAIN`): the plain autoencoder notebook 03 starts from, a dense
#:   64-number code and the mean squared error as image score.
#: - ``"texture"`` (grass, brick: alike everywhere; the constructor's defaults): an anomaly is a
#:   local defect. Inpainting training (:mod:`.corruption`), a spatial code, and the robust
#:   maximum of the smoothed error, per pixel in units of the training images' error there.
#: - ``"object"`` (digits, faces: aligned): an anomaly may be a different thing, which an
#:   autoencoder often redraws well. A dense code of ``max(8, round(sqrt(H * W * C)))`` numbers
#:   and the ``"combined"`` score: the largest z-score (in units of its spread on held-out normal
#:   images) of the local error, the global mean squared error and the code's distance to its
#:   nearest training codes.
PRESETS = {
    "textbook": PLAIN,
    "texture": {"latent_dim": None, "mask_rate": 0.25, "reduction": "max"},
    "object": {"latent_dim": "sqrt", "mask_rate": 0.0, "reduction": "combined"},
}
#: :func:`choose_preset` calls normal images a texture below this :func:`position_r2`.
TEXTURE_BELOW = 0.1
_AT_LEAST_0 = [Interval(Real, 0, None, closed="left")]
#: The three scores that ``reduction="combined"`` z-scores and takes the largest of.
COMBINED = ("local", "global", "code")


def error_maps(images, reconstructions, blur_sigma: float = 0.0) -> np.ndarray:
    """Per-pixel squared error ``(n, H, W)``, averaged over channels, after blurring both images
    with ``blur_sigma``: the scale an autoencoder can redraw (not every grass blade)."""
    difference = anomaly_maps.blur(images, blur_sigma) - anomaly_maps.blur(
        reconstructions, blur_sigma
    )
    return np.mean(difference**2, axis=-1)


def position_r2(mean_image, pixel_std) -> float:
    """Share of the pixels' variance that their *position* explains, from the normal images'
    mean and standard deviation at each pixel. A texture's mean image is flat (about 0.004 on
    the bundled brick, grass and gravel), aligned objects' is not (digits and glyphs 0.57-0.81,
    faces 0.27). ``(H, W, C)`` is taken per channel: a tint is colour, not position."""
    mean_image = np.asarray(mean_image, dtype=np.float64)
    if mean_image.ndim == 3:  # (H, W, C): the variance over positions, channel by channel
        between = float(mean_image.reshape(-1, mean_image.shape[-1]).var(axis=0).mean())
    else:
        between = float(mean_image.var())
    within = float(np.mean(np.square(pixel_std)))
    return float(between / (between + within + 1e-12))


def choose_preset(images) -> str:
    """``"texture"`` if the normal ``images`` (an array or an image source) have a
    :func:`position_r2` below :data:`TEXTURE_BELOW`, else ``"object"``."""
    mean, std = pixel_moments(as_source(images).batches())
    return "texture" if position_r2(mean, std) < TEXTURE_BELOW else "object"


def pixel_moments(batches) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation at each position over the arrays of ``batches``, one batch
    at a time."""
    scaler = StandardScaler()
    for batch in batches:
        shape = batch.shape[1:]
        scaler.partial_fit(batch.reshape(len(batch), -1))
    return scaler.mean_.reshape(shape), np.sqrt(scaler.var_).reshape(shape)


class ConvAutoencoder(anomaly_maps.MapDetector, KerasImageDetector):
    """Convolutional autoencoder anomaly detector with the scikit-learn outlier API (notebook 03).

    The defaults are the ``"texture"`` preset (:data:`PRESETS`). Training stops early on the
    held-out *normal* images, never on the test set.

    Parameters
    ----------
    filters : tuple of int, default=(24, 48)
        Encoder widths, one halving of the image each; the decoder mirrors them.
    latent_dim : int, None or "sqrt", default=None
        Size of a dense code; None keeps the last feature map; ``"sqrt"``: see :data:`PRESETS`.
    epochs : int, default=40
        Most training epochs (early stopping keeps the best weights).
    batch_size : int, default=16
        Images per training step and per inference call.
    learning_rate : float, default=2e-3
        Adam's learning rate.
    mask_rate : float in [0, 1), default=0.25
        Inpainting: share of each training input hidden under 8-pixel blobs (:mod:`.corruption`).
    noise_std : float, default=0.0
        Gaussian noise on the training input (a denoising autoencoder); 0 = none.
    reduction : {"mean", "max", "combined"}, default="max"
        Image score: the map's mean, its robust maximum (the mean of its hottest
        :attr:`TOP_FRACTION`), or ``"combined"`` (:data:`PRESETS`).
    error_blur : float, default=0.5
        Gaussian sigma (pixels) on image and reconstruction before comparing (:func:`error_maps`).
    smoothing_sigma : float, default=4.0
        Gaussian sigma (pixels) smoothing the error map.
    normalize_errors : bool, default=True
        The map per pixel in units of the training images' error spread there, so that
        hard-to-redraw borders do not dominate.
    patience : int, default=15
        Early-stopping patience in epochs.
    {shared_parameters}
    {verbose_parameter}

    Attributes
    ----------
    latent_dim_ : int or None
        The code size used (``latent_dim`` resolved).
    model_ : keras.Model
        The trained autoencoder (input padded, see :mod:`.networks`).
    history_ : dict
        ``loss`` and ``val_loss`` (held-out normal images) per epoch.
    n_epochs_ : int
        Epochs trained before early stopping.
    error_mean_, error_scale_ : ndarray of shape (H, W)
        Per-pixel error statistics of the training images (``normalize_errors``).
    codes_ : ndarray of shape (n_fit, latent_dim_) or None
        The training images' codes (``"combined"``).
    code_neighbors_ : sklearn.neighbors.NearestNeighbors or None
        The index of ``codes_``, built once (after fitting or loading).
    score_mean_, score_scale_ : ndarray of shape (3,) or None
        Mean and spread of the three ``"combined"`` scores on the held-out normal images.
    {offset_attribute}

    Examples
    --------
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((20, 16, 16), dtype=np.float32)
    >>> detector = ConvAutoencoder(filters=(4,), epochs=1).fit(images)
    >>> detector.predict(images[:3]).shape, detector.anomaly_map(images[:2]).shape
    ((3,), (2, 16, 16))
    """

    PRESETS = PRESETS  # the module's, for make_detector(name, preset=...)
    choose_preset = staticmethod(choose_preset)
    QUICK_PARAMS = {"filters": (8, 16), "epochs": 3, "patience": 3}
    RETIRED = {"mask_size": 8, "shift_share": 0.5, "top_fraction": 0.1, "n_neighbors": 5}
    #: The ``"max"`` reduction averages this top share of the map's pixels.
    TOP_FRACTION = 0.1
    #: The code distance (``"combined"``) averages this many nearest training codes.
    CODE_NEIGHBORS = 5
    _parameter_constraints: dict = {
        **KerasImageDetector._parameter_constraints,
        "latent_dim": [None, StrOptions({"sqrt"}), *POSITIVE_INT],
        "mask_rate": [Interval(Real, 0, 1, closed="left")],
        "noise_std": _AT_LEAST_0,
        "reduction": [StrOptions({"combined", *anomaly_maps.REDUCTIONS})],
        "error_blur": _AT_LEAST_0,
        "smoothing_sigma": _AT_LEAST_0,
        "normalize_errors": ["boolean"],
        "patience": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, filters=(24, 48), latent_dim=None, epochs=40, batch_size=16,
                 learning_rate=2e-3, mask_rate=0.25, noise_std=0.0, reduction="max",
                 error_blur=0.5, smoothing_sigma=4.0, normalize_errors=True, patience=15,
                 validation_fraction=0.2, false_alarm_rate=0.05, random_state=0,
                 verbose=0):  # fmt: skip
        self._store_params(locals())

    def code_size(self, image_shape):
        """``latent_dim`` for images of ``image_shape``, ``"sqrt"`` resolved."""
        if self.latent_dim == "sqrt":
            return max(8, round(float(np.prod(image_shape)) ** 0.5))
        return self.latent_dim

    def build_model(self, image_shape) -> keras.Model:
        """The Keras autoencoder for images of ``image_shape`` (padded): input -> (training
        only: noise, blobs) -> encoder -> decoder."""
        latent_dim = self.code_size(image_shape)
        padded = self._padded_shape(image_shape)
        inputs = keras.Input(shape=padded, name="image")
        tensor = inputs
        if self.noise_std > 0:
            noise = keras.layers.GaussianNoise(self.noise_std, seed=self.random_state, name="noise")
            tensor = noise(tensor)
        if self.mask_rate > 0:
            blobs = RandomBlobCorruption(self.mask_rate, seed=self.random_state, name="blobs")
            tensor = blobs(tensor)
        encoder = networks.build_encoder(padded, self.filters, latent_dim)
        decoder = networks.build_decoder(padded, self.filters, latent_dim)
        return keras.Model(inputs, decoder(encoder(tensor)), name="conv_autoencoder")

    def _fit(self, images, labels, val_images, val_labels):
        self.latent_dim_ = self.code_size(images.image_shape)
        if self.reduction == "combined" and self.latent_dim_ is None:
            raise ValueError(
                "reduction='combined' compares dense codes: set latent_dim to an int or 'sqrt' "
                "(the object preset)."
            )
        self.model_ = self._new_model()
        self.model_.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="mse")
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
            batches = images.batches(description="Error statistics", verbose=self.verbose)
            mean, spread = pixel_moments(self._maps(batch) for batch in batches)
            self.error_mean_, spread = mean.astype(np.float32), spread.astype(np.float32)
            # The floor keeps pixels that are always perfectly redrawn (digit borders) finite.
            self.error_scale_ = spread + 0.1 * spread.mean() + 1e-12
        self.codes_ = self.score_mean_ = self.score_scale_ = None
        if self.reduction == "combined":
            self.codes_ = np.concatenate([self._forward(batch)[1] for batch in images.batches()])
        self._derive()
        if self.reduction == "combined":
            # Each score in units of its spread on held-out normal images, so that they compare.
            raw = np.concatenate([self._combined_parts(batch) for batch in val_images.batches()])
            self.score_mean_, self.score_scale_ = anomaly_maps.spread(raw)

    def _new_model(self):
        return self.build_model(self.image_shape_)

    def _state_spec(self):
        height, width, _ = self.image_shape_
        return {
            **super()._state_spec(),
            "latent_dim_": state.Number(1, 2**16, integer=True, optional=True),
            "history_": state.History(),
            "n_epochs_": state.Number(0, state.MAX_EPOCHS, True),
            "error_mean_": state.Array((height, width)),
            "error_scale_": state.Array((height, width)),
            "error_settings_": state.Items((state.Number(0.0), state.Number(0.0))),
            "codes_": state.Array(("n_codes", "latent_dim_"), optional=True),
            "score_mean_": state.Array((3,), "float64", optional=True),
            "score_scale_": state.Array((3,), "float64", optional=True),
        }

    def _derive(self):
        self.code_neighbors_ = None
        if self.codes_ is not None:
            self.code_neighbors_ = NearestNeighbors().fit(self.codes_)

    def reconstruct(self, X) -> np.ndarray:
        """The reconstructions of ``X``, ``(n, H, W, C)`` in [0, 1]."""
        return self._forward(self._check_images(X))[0]

    def _forward(self, images):
        """Reconstructions ``(n, H, W, C)`` and flattened codes ``(n, d)``, in batches."""
        inputs = self._network_input(images)
        encoder, decoder = self.model_.get_layer("encoder"), self.model_.get_layer("decoder")
        outputs, codes = [], []
        for batch in gen_batches(len(inputs), self.batch_size):
            code = encoder(inputs[batch], training=False)
            outputs.append(keras.ops.convert_to_numpy(decoder(code, training=False)))
            codes.append(keras.ops.convert_to_numpy(code).reshape(len(outputs[-1]), -1))
        return networks.crop_maps(np.concatenate(outputs), images.shape[1:3]), np.concatenate(codes)

    def _maps(self, images, reconstructions=None):
        if reconstructions is None:
            reconstructions = self._forward(images)[0]
        maps = error_maps(images, reconstructions, self.error_blur)
        return anomaly_maps.blur(maps, self.smoothing_sigma)

    def _error_settings(self) -> list:
        return [float(self.error_blur), float(self.smoothing_sigma)]

    def _normalised_maps(self, images, reconstructions=None):
        if not self.normalize_errors:
            return self._maps(images, reconstructions)
        if self._error_settings() != list(self.error_settings_):
            raise ValueError(
                "normalize_errors=True uses error statistics measured at fit time with "
                f"(error_blur, smoothing_sigma) = {self.error_settings_}; these are now "
                f"{self._error_settings()}. Fit again, or set normalize_errors=False."
            )
        return (self._maps(images, reconstructions) - self.error_mean_) / self.error_scale_

    def anomaly_map(self, X) -> np.ndarray:
        """Smoothed reconstruction error per pixel, ``(n, H, W)``; higher = more anomalous."""
        return self._normalised_maps(self._check_images(X))

    def _reduction(self) -> str:
        """``reduction``, checked: ``set_params`` may change it after fitting."""
        check_is_fitted(self)
        if self.reduction == "combined" and self.codes_ is None:
            raise ValueError(
                "reduction='combined' needs the code memory and score statistics measured at "
                "fit, and this detector was fitted with another reduction: fit again."
            )
        return self.reduction

    def maps_give_scores(self) -> bool:
        """False for ``"combined"``: that score also needs the reconstruction and the code."""
        return self.reduction != "combined"

    def scores_from_maps(self, maps) -> np.ndarray:
        """``score_samples`` from anomaly maps ``(n, H, W)`` (``"mean"`` and ``"max"`` only)."""
        reduction = self._reduction()
        if reduction == "combined":
            raise ValueError(
                "reduction='combined' scores from the images (reconstruction and code), not "
                "from the maps alone: use score_samples."
            )
        return -anomaly_maps.image_scores(maps, reduction, self.TOP_FRACTION)

    def combined_scores(self, X) -> np.ndarray:
        """The three z-scored anomaly scores of ``"combined"``, ``(n, 3)``, columns
        :data:`COMBINED` (needs a detector fitted with ``reduction="combined"``)."""
        images = self._check_images(X)
        if self.codes_ is None:
            raise ValueError("combined_scores needs a detector fitted with reduction='combined'.")
        return anomaly_maps.z_scores(
            self._combined_parts(images), self.score_mean_, self.score_scale_
        )

    def _combined_parts(self, images):
        reconstructions, codes = self._forward(images)
        maps = self._normalised_maps(images, reconstructions)
        local = anomaly_maps.image_scores(maps, "max", self.TOP_FRACTION)
        overall = np.mean(np.square(images - reconstructions), axis=(1, 2, 3))
        count = min(self.CODE_NEIGHBORS, len(self.codes_))
        distance = self.code_neighbors_.kneighbors(codes, count)[0].mean(axis=1)
        return np.stack([local, overall, distance], axis=1)

    def map_threshold(self) -> tuple[float, float]:
        """``(level, share)``: ``predict`` flags an image whose hottest ``share`` of pixels
        average ``level`` or more (``"combined"``: also for a high global error or an unusual
        code). ``anomaly-tutorial score --maps`` colours overlays from 0 to twice ``level``."""
        reduction = self._reduction()
        share = 1.0 if reduction == "mean" else float(self.TOP_FRACTION)
        if reduction == "combined":  # the local error's z-score, back in map units
            return float(self.score_mean_[0] - self.offset_ * self.score_scale_[0]), share
        return float(-self.offset_), share

    def _score_samples(self, images):
        if self._reduction() == "combined":
            return -np.max(self.combined_scores(images), axis=1)
        return self.scores_from_maps(self._normalised_maps(images))
