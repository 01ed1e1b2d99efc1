"""Reconstruction error: from an image and its reconstruction to an anomaly map.

Notebook 03 explains each step. The error per pixel is either the squared difference or SSIM's
dissimilarity (scored with ``skimage.metrics.structural_similarity``). Both can compare the two
images after a light blur (:func:`.anomaly_maps.blur`), at the scale an autoencoder can
reproduce: nobody can rebuild every grass blade exactly, and that fine detail would otherwise
drown the defects. :mod:`.anomaly_maps` then smooths the map and reduces it to a score.

:func:`ssim_loss` is SSIM in ``keras.ops``, differentiable on every backend, for training with
``loss="ssim"``; ``tests/test_autoencoder.py`` checks it against scikit-image.
"""

import keras
import numpy as np
from skimage.metrics import structural_similarity

from anomaly_tutorial.detectors.anomaly_maps import blur

ERRORS = ("mse", "ssim")
#: scikit-image's SSIM defaults: a 7x7 uniform window, K1 = 0.01, K2 = 0.03, sample covariance.
SSIM_WINDOW = 7
_K1, _K2 = 0.01, 0.03


def ssim_window(height: int, width: int) -> int:
    """The SSIM window: 7, or the largest odd size that fits the image."""
    side = min(SSIM_WINDOW, height, width)
    return side if side % 2 else side - 1


def error_maps(images, reconstructions, error: str = "mse", blur_sigma: float = 0.0):
    """Per-pixel reconstruction error ``(n, H, W)``, higher = worse (notebook 03).

    ``error="mse"``: squared difference, averaged over channels. ``error="ssim"``:
    ``(1 - SSIM) / 2`` in [0, 1] from scikit-image's full SSIM map (``data_range=1``).
    ``blur_sigma`` blurs both images first.
    """
    if error not in ERRORS:
        raise ValueError(f"error must be one of {ERRORS}; got {error!r}.")
    images, reconstructions = blur(images, blur_sigma), blur(reconstructions, blur_sigma)
    if error == "mse":
        return np.mean((images - reconstructions) ** 2, axis=-1)
    size = ssim_window(*images.shape[1:3])
    maps = np.empty(images.shape[:3], dtype=np.float32)
    for index, (image, reconstruction) in enumerate(zip(images, reconstructions, strict=True)):
        _, similarity = structural_similarity(
            image, reconstruction, win_size=size, data_range=1.0, channel_axis=-1, full=True
        )
        maps[index] = similarity.mean(axis=-1)
    return np.clip((1.0 - maps) / 2.0, 0.0, 1.0)


def ssim_maps(images, reconstructions, window: int = SSIM_WINDOW):
    """SSIM per pixel and channel in ``keras.ops``, on the 'valid' part (no border).

    Equals scikit-image's ``structural_similarity(..., full=True)`` map away from the border
    (which scikit-image also leaves out of its mean).
    """
    images = keras.ops.convert_to_tensor(images, dtype="float32")
    reconstructions = keras.ops.convert_to_tensor(reconstructions, dtype="float32")

    def local_mean(tensor):
        return keras.ops.average_pool(tensor, window, strides=1, padding="valid")

    mean_x, mean_y = local_mean(images), local_mean(reconstructions)
    # Sample (n - 1) covariance, as scikit-image uses by default.
    correction = window * window / (window * window - 1.0)
    var_x = correction * (local_mean(images * images) - mean_x * mean_x)
    var_y = correction * (local_mean(reconstructions * reconstructions) - mean_y * mean_y)
    cov_xy = correction * (local_mean(images * reconstructions) - mean_x * mean_y)
    c1, c2 = _K1**2, _K2**2  # data_range = 1
    numerator = (2 * mean_x * mean_y + c1) * (2 * cov_xy + c2)
    denominator = (mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2)
    return numerator / denominator


@keras.saving.register_keras_serializable(package="anomaly_tutorial")
def ssim_loss(y_true, y_pred):
    """``1 - mean SSIM`` per image: a Keras loss for images in [0, 1]."""
    window = ssim_window(y_true.shape[1], y_true.shape[2])
    return 1.0 - keras.ops.mean(ssim_maps(y_true, y_pred, window), axis=(1, 2, 3))
