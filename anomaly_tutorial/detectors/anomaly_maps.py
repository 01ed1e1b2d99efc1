"""Anomaly maps: which detectors draw them, and how a map becomes an image score.

A map is smoothed (:func:`blur`) and reduced to one number per image (:func:`image_scores`);
a detector combining several such numbers first puts each in units of its spread on held-out
normal images (:func:`spread`, :func:`z_scores`), so that they compare.
"""

import numpy as np
from scipy import ndimage

REDUCTIONS = ("mean", "max")


class MapDetector:
    """Mixin of the detectors that draw anomaly maps (``patch_knn``, ``conv_autoencoder``).

    ``anomaly_map(X)`` gives ``(n, H, W)``, higher = more anomalous. When
    :meth:`maps_give_scores` is True, ``scores_from_maps(maps)`` gives ``score_samples`` from
    those maps, without a second pass over the images.
    """

    def maps_give_scores(self) -> bool:
        return True


def blur(maps, sigma: float) -> np.ndarray:
    """Gaussian blur of ``(n, H, W)`` or ``(n, H, W, C)`` arrays over H and W only."""
    maps = np.asarray(maps, dtype=np.float32)
    if sigma == 0:
        return maps
    sigmas = (0, sigma, sigma) + (0,) * (maps.ndim - 3)
    return ndimage.gaussian_filter(maps, sigmas, mode="nearest")


def image_scores(maps, reduction: str = "max", top_fraction: float = 0.1) -> np.ndarray:
    """One anomaly score per map: its ``"mean"``, or its ``"max"``, taken robustly as the mean
    of its highest ``top_fraction`` of pixels (0: the highest pixel). A defect covers a small
    area: the whole map's mean dilutes it, one hot pixel over-reacts to noise."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}.")
    flat = np.asarray(maps, dtype=np.float64).reshape(len(maps), -1)
    if reduction == "mean":
        return flat.mean(axis=1)
    count = max(1, int(round(top_fraction * flat.shape[1])))
    return np.partition(flat, -count, axis=1)[:, -count:].mean(axis=1)


def spread(raw) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (floored above 0) of each column of ``raw``."""
    raw = np.asarray(raw, dtype=np.float64)
    return raw.mean(axis=0), raw.std(axis=0) + 1e-12


def z_scores(raw, mean, scale) -> np.ndarray:
    """``raw`` in units of the :func:`spread` ``(mean, scale)``."""
    return (raw - mean) / scale
