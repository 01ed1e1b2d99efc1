"""Structural similarity (SSIM), as a training loss and as a per-pixel error map (notebook 03).

SSIM compares local means, contrasts and correlations in a small window instead of single
pixel values. A grass blade drawn one pixel to the left costs a lot of squared error but little
SSIM; a missing patch of texture costs a lot of both. That is why SSIM suits textures.

- :func:`ssim_error_maps` scores images with ``skimage.metrics.structural_similarity``.
- :func:`ssim_loss` is the same formula in ``keras.ops`` (differentiable, every backend), for
  training; ``tests/test_autoencoder.py`` checks it against scikit-image.
"""

import keras
import numpy as np
from skimage.metrics import structural_similarity

#: scikit-image's defaults: a 7x7 uniform window, K1 = 0.01, K2 = 0.03, sample covariance.
WINDOW = 7
_K1, _K2 = 0.01, 0.03


def window_size(height: int, width: int) -> int:
    """The SSIM window for an image: 7, or the largest odd size that fits (8x8 digits: 7)."""
    side = min(WINDOW, height, width)
    return side if side % 2 else side - 1


def ssim_error_maps(images, reconstructions) -> np.ndarray:
    """``(1 - SSIM) / 2`` per pixel, ``(n, H, W)`` in [0, 1]; higher = more different.

    Images are ``(n, H, W, C)`` in [0, 1]; RGB maps are averaged over the channels.
    """
    images = np.asarray(images, dtype=np.float32)
    reconstructions = np.asarray(reconstructions, dtype=np.float32)
    height, width, channels = images.shape[1:]
    size = window_size(height, width)
    maps = np.empty(images.shape[:3], dtype=np.float32)
    for index, (image, reconstruction) in enumerate(zip(images, reconstructions, strict=True)):
        _, similarity = structural_similarity(
            image,
            reconstruction,
            win_size=size,
            data_range=1.0,
            channel_axis=-1,
            full=True,
        )
        maps[index] = similarity.mean(axis=-1)
    return np.clip((1.0 - maps) / 2.0, 0.0, 1.0)


def ssim_maps(images, reconstructions, window: int = WINDOW):
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
    """``1 - mean SSIM`` per image: a Keras loss for images in [0, 1] (7x7 window)."""
    side = window_size(y_true.shape[1], y_true.shape[2])
    return 1.0 - keras.ops.mean(ssim_maps(y_true, y_pred, side), axis=(1, 2, 3))
