"""``patch_knn``: does each neighbourhood look like *some* normal one? (notebook 03).

A patch-level memory bank, as PatchCore does it, with hand-made features instead of a
pretrained network (this course downloads nothing). Every neighbourhood of the normal training
images is described by Gaussian-derivative features (standardised) plus its position; a greedy
coreset of them (:func:`greedy_coreset`) is the memory bank. A coreset keeps the rare normal
neighbourhoods a random sample misses: a bank of 2,000 ranks the development parts as well as a
random 10,000 did, five times faster. A test neighbourhood's distance to its nearest bank
entries is its anomaly map.

Position: row and column, as fractions of the image side, scaled so that crossing the image
costs ``position_weight`` typical distances between two normal neighbourhoods. A neighbourhood
is then matched mostly with ones from about the same place, which makes another digit stand
out; on a texture a close match is always near, so it costs little there. The defaults were
chosen on the development parts of the bundled data.
"""

import math
from numbers import Real

import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions

from anomaly_tutorial.detectors import state
from anomaly_tutorial.detectors.anomaly_maps import (
    MapDetector,
    blur,
    image_scores,
    spread,
    z_scores,
)
from anomaly_tutorial.detectors.base import POSITIVE_INT, ImageDetector, PositiveReals
from anomaly_tutorial.features import gaussian_derivatives

#: The widest Gaussian (pixels) ``scales`` may hold: a wider one says nothing about our images.
MAX_SCALE = 64.0
#: The coreset is chosen from a random pool of this many times ``bank_size`` neighbourhoods.
POOL_FACTOR = 20
#: Images described and looked up at once.
_CHUNK = 256
#: Neighbourhoods looked up in the bank at once (their distances to it fill a few MB).
_QUERIES = 1024


def default_stride(height: int, width: int) -> int:
    """Every pixel of images up to 31 pixels a side, about 16 grid points a side beyond."""
    return max(1, min(height, width) // 16)


def _hat_matrix(size: int, grid) -> np.ndarray:
    """``(size, len(grid))``: linear interpolation from values at the indices ``grid`` to every
    index ``0 .. size - 1``, the ends held (column ``j``: the weights of ``grid[j]``)."""
    return np.stack([np.interp(np.arange(size), grid, unit) for unit in np.eye(len(grid))], 1)


def greedy_coreset(points, size: int, rng) -> np.ndarray:
    """Indices of ``size`` rows of ``points`` that cover all of them: each next one is the point
    farthest from those already chosen (k-center greedy, as PatchCore), the first at random."""
    # One column per point: each step is a few passes over contiguous memory. Squared
    # differences summed by NumPy, not a BLAS product, so every CPU picks the same points.
    columns = np.ascontiguousarray(np.asarray(points, dtype=np.float32).T)
    if size >= columns.shape[1]:
        return np.arange(columns.shape[1])
    chosen = np.empty(size, dtype=np.intp)
    chosen[0] = rng.integers(columns.shape[1])
    nearest = np.full(columns.shape[1], np.inf, dtype=np.float32)
    distances, difference = np.empty_like(nearest), np.empty_like(nearest)
    for step in range(1, size):
        distances[:] = 0
        for values, centre in zip(columns, columns[:, chosen[step - 1]], strict=True):
            np.subtract(values, centre, out=difference)
            distances += np.square(difference, out=difference)
        np.minimum(nearest, distances, out=nearest)
        chosen[step] = np.argmax(nearest)
    return chosen


class PatchKNN(MapDetector, ImageDetector):
    """Nearest-neighbour distance of local features to a bank of normal ones (notebook 03).

    Parameters
    ----------
    scales : tuple of float, default=(1.0, 2.0, 4.0)
        Gaussian widths (pixels) of the feature bank.
    stride : int or None, default=None
        Describe every ``stride``-th pixel (None: :func:`default_stride`); maps are interpolated.
    position_weight : float, default=3.0
        How strongly a neighbourhood prefers matches from the same place (0: from anywhere).
    bank_size : int, default=2000
        Neighbourhoods kept in the memory bank (a greedy coreset of the training images').
    smoothing_sigma : float, default=2.0
        Gaussian smoothing (pixels) of the anomaly map.
    reduction : {"max", "mean", "combined"}, default="combined"
        Image score: the map's robust maximum (the mean of its hottest :attr:`TOP_FRACTION`: a
        small defect), its mean (a different object),
        or the larger of the two in units of their spread on held-out normal images.
    {shared_parameters}
    {verbose_parameter}

    Attributes
    ----------
    stride_ : int
        The stride used.
    feature_mean_, feature_scale_ : ndarray of shape (n_features,)
        Standardisation of the features (training images).
    position_scale_ : float
        What crossing the image adds to a distance.
    memory_bank_ : ndarray of shape (bank_size, n_features + 2)
        The normal neighbourhoods (features and position).
    bank_norms_ : ndarray of shape (bank_size,)
        Squared lengths of the bank's vectors, for the search (after fitting or loading).
    score_mean_, score_scale_ : ndarray of shape (2,)
        Mean and spread of the maximum and mean reductions on the held-out normal images.
    {offset_attribute}

    Examples
    --------
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((20, 16, 16), dtype=np.float32)
    >>> detector = PatchKNN(bank_size=500).fit(images)
    >>> detector.predict(images[:3]).shape, detector.anomaly_map(images[:2]).shape
    ((3,), (2, 16, 16))
    """

    QUICK_PARAMS = {"bank_size": 300}
    RETIRED = {"n_neighbors": 1, "top_fraction": 0.01}
    #: The ``"max"`` reduction averages this top share of the map.
    TOP_FRACTION = 0.01
    _parameter_constraints: dict = {
        **ImageDetector._parameter_constraints,
        "scales": [PositiveReals(high=MAX_SCALE)],
        "stride": [None, *POSITIVE_INT],
        "position_weight": [Interval(Real, 0, None, closed="left")],
        "bank_size": POSITIVE_INT,
        "smoothing_sigma": [Interval(Real, 0, None, closed="left")],
        "reduction": [StrOptions({"max", "mean", "combined"})],
    }

    def __init__(self, scales=(1.0, 2.0, 4.0), stride=None, position_weight=3.0, bank_size=2000,
                 smoothing_sigma=2.0, reduction="combined", validation_fraction=0.2,
                 false_alarm_rate=0.05, random_state=0, verbose=0):  # fmt: skip
        self._store_params(locals())

    def _grid(self, height: int, width: int):
        """The described pixels' rows and columns."""
        first = self.stride_ // 2
        return np.arange(first, height, self.stride_), np.arange(first, width, self.stride_)

    def _features(self, images) -> np.ndarray:
        """Raw features on the grid, ``(n, h, w, F)``."""
        return gaussian_derivatives(images, tuple(self.scales), *self._grid(*images.shape[1:3]))

    def _vectors(self, images) -> np.ndarray:
        """Standardised features plus position on the grid, ``(n, h, w, F + 2)``."""
        features = (self._features(images) - self.feature_mean_) / self.feature_scale_
        rows, cols = self._grid(*images.shape[1:3])
        height, width = images.shape[1:3]
        position = np.stack(np.meshgrid(rows / height, cols / width, indexing="ij"), axis=-1)
        position = np.broadcast_to(position * self.position_scale_, (*features.shape[:3], 2))
        return np.concatenate([features, position], axis=-1).astype(np.float32)

    def _fit(self, images, labels, val_images, val_labels):
        rng = np.random.default_rng(self.random_state)
        height, width, _ = images.image_shape
        self.stride_ = int(self.stride or default_stride(height, width))
        grid_rows, grid_cols = self._grid(height, width)
        grid_size = len(grid_rows) * len(grid_cols)
        pool_size = POOL_FACTOR * self.bank_size
        per_image = min(grid_size, math.ceil(pool_size / len(images)))
        moments, kept, places = StandardScaler(), [], []
        for batch in images.batches(_CHUNK, description="Describing", verbose=self.verbose):
            flat = self._features(batch).reshape(len(batch), grid_size, -1)
            moments.partial_fit(flat.reshape(-1, flat.shape[-1]))
            # A random sample of each image's neighbourhoods (standardised once all are seen).
            chosen = np.stack([rng.choice(grid_size, per_image, replace=False) for _ in flat])
            kept.append(np.take_along_axis(flat, chosen[..., np.newaxis], axis=1))
            places.append(chosen)
        self.feature_mean_ = moments.mean_.astype(np.float32)
        self.feature_scale_ = (np.sqrt(moments.var_) + 1e-6).astype(np.float32)
        kept = np.concatenate(kept).reshape(-1, moments.mean_.size) - self.feature_mean_
        kept /= self.feature_scale_
        # The unit of position: a typical distance between two random normal neighbourhoods.
        pairs = kept[rng.integers(len(kept), size=(2, 2000))]
        self.position_scale_ = self.position_weight * float(
            np.median(np.linalg.norm(pairs[0] - pairs[1], axis=1))
        )
        rows, cols = np.unravel_index(
            np.concatenate(places).ravel(), (len(grid_rows), len(grid_cols))
        )
        position = np.stack([grid_rows[rows] / height, grid_cols[cols] / width], axis=1)
        bank = np.concatenate([kept, position * self.position_scale_], axis=1)
        if len(bank) > pool_size:
            bank = bank[rng.choice(len(bank), pool_size, replace=False)]
        self.memory_bank_ = bank[greedy_coreset(bank, self.bank_size, rng)].astype(np.float32)
        self._derive()
        # The two reductions in units of their spread on held-out normal images.
        raw = np.concatenate([self._raw_reductions(self._maps(b)) for b in val_images.batches()])
        self.score_mean_, self.score_scale_ = spread(raw)

    def _derive(self):
        self.bank_norms_ = np.einsum("ij,ij->i", self.memory_bank_, self.memory_bank_)

    def _state_spec(self):
        height, width, channels = self.image_shape_
        n_features = gaussian_derivatives(np.zeros((1, 2, 2, channels)), (1.0,)).shape[-1]
        n_features *= len(self.scales)
        return {
            **super()._state_spec(),
            "stride_": state.Number(1, max(height, width), integer=True),
            "feature_mean_": state.Array((n_features,)),
            "feature_scale_": state.Array((n_features,)),
            "position_scale_": state.Number(0.0),
            "memory_bank_": state.Array(("n_bank", n_features + 2)),
            "score_mean_": state.Array((2,), "float64"),
            "score_scale_": state.Array((2,), "float64"),
        }

    def anomaly_map(self, X) -> np.ndarray:
        """Distance of each pixel's neighbourhood to the memory bank, ``(n, H, W)``; higher =
        more anomalous."""
        return self._maps(self._check_images(X))

    def _maps(self, images) -> np.ndarray:
        height, width = images.shape[1:3]
        # Bilinear interpolation from the grid back to every pixel (edges held), as matrices.
        rows, cols = self._grid(height, width)
        maps = np.empty((len(images), height, width), dtype=np.float32)
        up_rows, up_cols = _hat_matrix(height, rows), _hat_matrix(width, cols)
        for chunk in gen_batches(len(images), _CHUNK):
            vectors = self._vectors(images[chunk])
            coarse = self._nearest(vectors.reshape(-1, vectors.shape[-1]))
            maps[chunk] = up_rows @ coarse.reshape(vectors.shape[:3]) @ up_cols.T
        return blur(maps, self.smoothing_sigma)

    def _nearest(self, vectors) -> np.ndarray:
        """Distance of each vector to its nearest in the bank: found by brute force with
        float32 BLAS products (``|a - b|^2 = |a|^2 - 2 a.b + |b|^2``, twice as fast as
        ``NearestNeighbors``' float64 ones), then measured exactly."""
        distances = np.empty(len(vectors), dtype=np.float32)
        for chunk in gen_batches(len(vectors), _QUERIES):
            queries = vectors[chunk]
            ranks = queries @ self.memory_bank_.T
            ranks *= -2
            ranks += self.bank_norms_  # |q|^2 is the same for every candidate
            gaps = queries - self.memory_bank_[ranks.argmin(axis=1)]
            distances[chunk] = np.sqrt((gaps**2).sum(axis=-1))
        return distances

    def _raw_reductions(self, maps) -> np.ndarray:
        """``(n, 2)``: the robust maximum and the mean of each map."""
        return np.stack(
            [image_scores(maps, "max", self.TOP_FRACTION), image_scores(maps, "mean")], axis=1
        )

    def scores_from_maps(self, maps) -> np.ndarray:
        """``score_samples`` from anomaly maps ``(n, H, W)``: minus their ``reduction``."""
        # Both reductions in units of their spread on held-out normal images (measured at fit).
        reduced = z_scores(self._raw_reductions(maps), self.score_mean_, self.score_scale_)
        column = {"max": 0, "mean": 1}.get(self.reduction)
        return -(reduced.max(axis=1) if column is None else reduced[:, column])

    def _score_samples(self, images):
        return self.scores_from_maps(self._maps(images))

    def map_threshold(self) -> tuple[float, float]:
        """``(level, share)``: ``predict`` flags an image whose hottest ``share`` of pixels
        average ``level`` or more (``"combined"``: also one whose map's mean is unusually high).
        ``anomaly-tutorial score --maps`` colours overlays from 0 to twice ``level``."""
        column, share = (1, 1.0) if self.reduction == "mean" else (0, self.TOP_FRACTION)
        level = self.score_mean_[column] - self.offset_ * self.score_scale_[column]
        return float(level), float(share)
