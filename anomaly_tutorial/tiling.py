"""Large images: cut into overlapping tiles, scored, and stitched back (notebook 05).

A detector takes images of its input size (``detector.image_shape_``); shrinking a large
inspection photo would erase its small defects. :class:`Tiled` wraps a detector, as ``Pipeline``
wraps an estimator: it cuts a larger image into tiles of the input size that overlap (by half,
by default), maps them in batches and averages the maps where tiles overlap, giving one map at
the photo's resolution. The photo scores as its worst window of the input size (the detector's
``scores_from_maps`` of every window on the tiles' grid), so a small defect counts as much in a
large photo as in an image of the input size; reducing the whole map at once would drown it (a
30x30 blot hardly changes the mean of the top 10 % of a 4096x4096 map). A detector without maps
scores every tile, and the photo as its worst tile. ``fit`` trains on the tiles of large normal
photos and sets the threshold ``offset_`` on the tiled scores of whole held-out photos::

    large = tiling.Tiled(make_detector("patch_knn"), tile=64).fit(photos)
"""

from collections import OrderedDict
from functools import partial

import numpy as np
from sklearn.utils import gen_batches
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial import progress
from anomaly_tutorial.batching import ArraySource, ImageSource, as_source, images_per_batch
from anomaly_tutorial.detectors.anomaly_maps import MapDetector
from anomaly_tutorial.detectors.base import Wrapper
from anomaly_tutorial.errors import InputError
from anomaly_tutorial.images import as_images, is_larger, size_pair

#: Decoded images that :class:`Tiles` keeps for reuse, at most (bytes).
CACHE_BYTES = 256 * 2**20


def default_stride(tile) -> tuple[int, int]:
    """Half the tile (at least 1 pixel): every pixel away from the border is in 4 tiles."""
    return tuple(max(1, side // 2) for side in size_pair(tile, "tile"))


def tile_starts(size: int, tile: int, stride: int) -> np.ndarray:
    """First row (or column) of each tile along one side: every ``stride`` pixels, and the last
    tile flush with the far border, so that the tiles cover the whole side."""
    if tile > size:
        raise InputError(f"a tile of {tile} pixels does not fit in {size} pixels.")
    starts = np.arange(0, size - tile + 1, stride)
    return starts if starts[-1] == size - tile else np.append(starts, size - tile)


def tile_grid(height: int, width: int, tile, stride=None) -> np.ndarray:
    """``(top, left)`` of every tile of a ``height`` x ``width`` image, row by row (notebook 05).

    Examples
    --------
    >>> tile_grid(100, 70, tile=64).tolist()  # rows at 0, 32, 36; columns at 0, 6
    [[0, 0], [0, 6], [32, 0], [32, 6], [36, 0], [36, 6]]
    """
    tile, stride = size_pair(tile, "tile"), size_pair(stride or default_stride(tile), "stride")
    rows, cols = (tile_starts(*side) for side in zip((height, width), tile, stride, strict=True))
    return np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)


def cut(image: np.ndarray, corners: np.ndarray, tile) -> np.ndarray:
    """The tiles of one ``(H, W, C)`` image at ``corners`` (from :func:`tile_grid`)."""
    tile_height, tile_width = size_pair(tile, "tile")
    return np.stack(
        [image[top : top + tile_height, left : left + tile_width] for top, left in corners]
    )


def _stitched(size, maps_and_corners, tile, stride) -> np.ndarray:
    """A ``size`` map from tile maps at ``corners`` of :func:`tile_grid`, averaged where they
    overlap (averaging equal values adds no seams); tiles sit on a grid, so how many cover a
    pixel is the product of how many cover its row and its column."""
    total, (height, width) = np.zeros(size, dtype=np.float64), tile
    for maps, corners in maps_and_corners:
        for tile_map, (top, left) in zip(maps, corners, strict=True):
            total[top : top + height, left : left + width] += tile_map
    stride = size_pair(stride or default_stride(tile), "stride")
    for axis, (side, length, step) in enumerate(zip(size, tile, stride, strict=True)):
        count = np.zeros(side)
        for start in tile_starts(side, length, step):
            count[start : start + length] += 1
        total /= count[:, np.newaxis] if axis == 0 else count[np.newaxis, :]
    return total.astype(np.float32)


def _tile_batches(image, tile, stride, verbose):
    """Batches ``(tiles, corners)`` of one ``(H, W, C)`` image (or ``(H, W)`` map)."""
    corners = tile_grid(*image.shape[:2], tile, stride)
    size = images_per_batch((*tile, *image.shape[2:]))
    with progress.bar(
        total=len(corners), description="  tiles", unit="tile", verbose=verbose, leave=False
    ) as bar:
        for chunk in gen_batches(len(corners), size):
            chosen = corners[chunk]
            yield cut(image, chosen, tile), chosen
            bar.update(len(chosen))


class Tiled(Wrapper):
    """A detector that scores, maps and trains on images larger than its input, in tiles.

    Parameters
    ----------
    detector : detector of :mod:`anomaly_tutorial.detectors`
        Fitted by :meth:`fit` (in place), or already fitted on images of the tile size.
    tile : int, (int, int) or None, default=None
        Tile size for :meth:`fit`, the detector's input size; scoring always cuts tiles of the
        size the detector was fitted on.
    stride : int, (int, int) or None, default=None
        Pixels between neighbouring tiles; ``None`` is half a tile.

    Images of the detector's input size go to the detector as they are; smaller ones are an
    error.

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_tutorial.detectors import make_detector
    >>> photos = np.random.default_rng(0).random((5, 40, 48), dtype=np.float32)
    >>> tiled = Tiled(make_detector("hog_ocsvm"), tile=16).fit(photos)
    >>> tiled.detector.image_shape_, tiled.predict(photos).shape
    ((16, 16, 1), (5,))
    """

    def __init__(self, detector, tile=None, stride=None):
        super().__init__(detector)
        self.tile, self.stride = tile, stride

    def fit(self, X, y=None):
        """Fit the detector on the tiles of the large normal images ``X`` and set ``offset_`` on
        the tiled scores of held-out whole images; returns self."""
        return self._fit_source(ArraySource(X), y)

    def _fit_source(self, source, y=None):
        if y is not None:
            raise InputError("Training on tiles needs normal images only (no labels y).")
        if self.tile is None:
            raise InputError("Tiled.fit needs the tile size: Tiled(detector, tile=64).")
        tiles = partial(Tiles, tile=self.tile, stride=self.stride)
        self.detector._fit_source(source, part=tiles, scorer=self.score_samples)
        return self

    def _images(self, X):
        """Validated images, and whether they are larger than the detector's input."""
        check_is_fitted(self.detector)
        images = as_images(X)
        return images, is_larger(images, self.detector.image_shape_)

    def score_samples(self, X) -> np.ndarray:
        """``score_samples`` of the detector; a larger image scores as its worst window."""
        images, larger = self._images(X)
        if not larger:
            return self.detector.score_samples(images)
        if isinstance(self.detector, MapDetector) and self.detector.maps_give_scores():
            # one pass: the stitched map, reduced window by window
            return self.scores_from_maps(self.anomaly_map(images))
        return np.array([self._worst(image, self.detector.score_samples) for image in images])

    def anomaly_map(self, X) -> np.ndarray:
        """Anomaly maps ``(n, H, W)``; of larger images, their tiles' maps stitched together."""
        images, larger = self._images(X)
        if not larger:
            return self.detector.anomaly_map(images)
        tile, verbose = tuple(self.detector.image_shape_[:2]), getattr(self, "verbose", 0)
        maps = np.empty(images.shape[:3], dtype=np.float32)
        for index, image in enumerate(images):
            batches = _tile_batches(image, tile, self.stride, verbose)
            tile_maps = ((self.detector.anomaly_map(tiles), at) for tiles, at in batches)
            maps[index] = _stitched(image.shape[:2], tile_maps, tile, self.stride)
        return maps

    def scores_from_maps(self, maps) -> np.ndarray:
        """``score_samples`` from maps of :meth:`anomaly_map`: the worst window's score."""
        maps = np.asarray(maps)
        if not is_larger(maps, self.detector.image_shape_):
            return self.detector.scores_from_maps(maps)
        return np.array([self._worst(one, self.detector.scores_from_maps) for one in maps])

    def _worst(self, image, score) -> float:
        tile, verbose = tuple(self.detector.image_shape_[:2]), getattr(self, "verbose", 0)
        batches = _tile_batches(image, tile, self.stride, verbose)
        return min(float(np.min(score(windows))) for windows, _ in batches)


class Tiles(ImageSource):
    """The overlapping tiles of every image of a source: what :class:`Tiled` trains on.

    Parameters
    ----------
    images : array or image source
        Large normal images, all of one size.
    tile : int or (int, int)
        Tile size: the detector's input size.
    stride : int, (int, int) or None, default=None
        Pixels between neighbouring tiles; ``None`` is half a tile.

    Decoded images are kept for reuse up to ``CACHE_BYTES``; beyond that, tiles of shuffled
    batches re-read their images (slower, but memory stays bounded).

    Examples
    --------
    >>> import numpy as np
    >>> tiles = Tiles(np.zeros((2, 100, 120)), tile=64)
    >>> len(tiles), tiles.image_shape  # per image: rows at 0, 32, 36; columns at 0, 32, 56
    (18, (64, 64, 1))
    """

    def __init__(self, images, tile, stride=None):
        self.images = as_source(images)
        self.tile = size_pair(tile, "tile")
        self.stride = size_pair(stride or default_stride(self.tile), "stride")
        height, width, channels = self.images.image_shape
        if self.tile[0] > height or self.tile[1] > width:
            raise InputError(
                f"tile={self.tile} does not fit in the {height}x{width} images; use a tile of at "
                f"most ({height}, {width})."
            )
        self.corners = tile_grid(height, width, self.tile, self.stride)
        self.image_shape = (*self.tile, channels)
        self._cache = OrderedDict()

    def __len__(self) -> int:
        return len(self.images) * len(self.corners)

    def read(self, indices) -> np.ndarray:
        image_index, corner_index = np.divmod(np.asarray(indices, dtype=np.intp), len(self.corners))
        batch = np.empty((len(image_index), *self.image_shape), dtype=np.float32)
        for image in dict.fromkeys(image_index.tolist()):  # each image read once per batch
            chosen = np.flatnonzero(image_index == image)
            batch[chosen] = cut(self._image(image), self.corners[corner_index[chosen]], self.tile)
        return batch

    def _image(self, index: int) -> np.ndarray:
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        image = self.images.read([index])[0]
        self._cache[index] = image
        while len(self._cache) > 1 and sum(map(np.size, self._cache.values())) * 4 > CACHE_BYTES:
            self._cache.popitem(last=False)
        return image

    def check(self) -> None:
        self.images.check()


__all__ = [
    "Tiled",
    "Tiles",
    "cut",
    "default_stride",
    "tile_grid",
    "tile_starts",
]
