"""Large images: cut into overlapping tiles, scored, and stitched back (notebook 05).

A detector sees images of the size it was trained on, its input (``detector.image_shape_``).
An inspection photo is often far larger, and its defects small, so shrinking it would erase
them. Instead, the photo is cut into tiles of the input size that overlap (by half, by
default), every tile's anomaly map is computed (in batches), and the maps are put back where
their tiles came from, averaged where tiles overlap. The result is one map at the photo's full
resolution. The image score comes from it with the detector's own reduction
(``scores_from_maps``), applied to every window of the input size (on the tiles' grid): the
photo scores as its worst window, so a small defect counts as much in a large photo as in an
image of the input size. (The reduction of the whole map at once would drown it: a 30x30 blot
in a 4096x4096 photo hardly changes the mean of the top 10 % of 16 million pixels.)

A detector without anomaly maps scores every tile and takes the worst tile's score.

Every detector does this by itself for images larger than its input: ``score_samples``,
``predict`` and ``anomaly_map`` of a large image call :func:`tiled_scores` and
:func:`tiled_maps`. To *train* on tiles of large normal images, pass :class:`Tiles`::

    detector.fit(tiling.Tiles(datasets.image_source("photos/train/good"), tile=64))

``fit`` then holds out whole photos (never tiles of a photo it trains on) and sets the
threshold ``offset_`` on their tiled scores, the very scores ``predict`` compares with it.
"""

from collections import OrderedDict

import numpy as np

from anomaly_tutorial import progress
from anomaly_tutorial.datasets.source import BATCH_BYTES, MAX_BATCH, ImageSource, image_source
from anomaly_tutorial.detectors.anomaly_maps import MapDetector
from anomaly_tutorial.errors import InputError
from anomaly_tutorial.images import size_pair

#: Decoded images that :class:`Tiles` keeps for reuse, at most (bytes).
CACHE_BYTES = 256 * 2**20


def default_stride(tile) -> tuple[int, int]:
    """Half the tile (at least 1 pixel): every pixel away from the border is in 4 tiles
    (notebook 05)."""
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
    (tile_height, tile_width), (step_y, step_x) = (
        size_pair(tile, "tile"),
        size_pair(stride or default_stride(tile), "stride"),
    )
    rows, cols = tile_starts(height, tile_height, step_y), tile_starts(width, tile_width, step_x)
    return np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)


def cut(image: np.ndarray, corners: np.ndarray, tile) -> np.ndarray:
    """The tiles of one ``(H, W, C)`` image at ``corners`` (from :func:`tile_grid`)."""
    tile_height, tile_width = size_pair(tile, "tile")
    return np.stack(
        [image[top : top + tile_height, left : left + tile_width] for top, left in corners]
    )


class Stitched:
    """A full-size map put together from tile maps, averaged where they overlap (notebook 05).

    ``add`` the maps of tiles cut at ``corners`` of :func:`tile_grid` (``size``, ``tile``,
    ``stride``), batch by batch, then read :meth:`result`. Averaging equal values changes
    nothing, so tiles cut from one smooth map stitch back to exactly that map: stitching adds
    no seams. Tiles sit on a grid, so how many cover a pixel is the product of how many cover
    its row and its column: no second full-size array is needed.
    """

    def __init__(self, size, tile, stride=None):
        self.total = np.zeros(size, dtype=np.float64)
        self.tile = size_pair(tile, "tile")
        self.stride = size_pair(stride or default_stride(tile), "stride")

    def add(self, maps, corners) -> None:
        height, width = self.tile
        for tile_map, (top, left) in zip(maps, corners, strict=True):
            self.total[top : top + height, left : left + width] += tile_map

    def result(self) -> np.ndarray:
        """The averaged map, float32."""
        sides = zip(self.total.shape, self.tile, self.stride, strict=True)
        for axis, (side, length, step) in enumerate(sides):
            count = np.zeros(side)
            for start in tile_starts(side, length, step):
                count[start : start + length] += 1
            self.total /= count[:, np.newaxis] if axis == 0 else count[np.newaxis, :]
        return self.total.astype(np.float32)


def is_larger(images: np.ndarray, fitted_shape) -> bool:
    """True if ``(n, H, W, C)`` images are larger than the ``(h, w, c)`` a detector was fitted on
    (at least as large on both sides, and not the same size): they are then scored in tiles."""
    height, width = images.shape[1:3]
    tile_height, tile_width = fitted_shape[:2]
    return (
        height >= tile_height
        and width >= tile_width
        and (height, width)
        != (
            tile_height,
            tile_width,
        )
    )


def _tile_batches(image, tile, stride, verbose):
    corners = tile_grid(*image.shape[:2], tile, stride)
    per_tile = 4 * int(np.prod(tile)) * image.shape[-1]
    size = int(np.clip(BATCH_BYTES // per_tile, 1, MAX_BATCH))
    with progress.bar(
        total=len(corners), description="  tiles", unit="tile", verbose=verbose, leave=False
    ) as bar:
        for start in range(0, len(corners), size):
            chosen = corners[start : start + size]
            yield cut(image, chosen, tile), chosen
            bar.update(len(chosen))


def tiled_maps(detector, images, stride=None) -> np.ndarray:
    """Stitched anomaly maps ``(n, H, W)`` of images larger than the detector's input
    (notebook 05).

    Tiles of the input size, ``stride`` apart (default: half a tile), go through
    ``detector.anomaly_map`` in batches; only one image's map is accumulated at a time.
    """
    tile = tuple(detector.image_shape_[:2])
    verbose = getattr(detector, "verbose", 0)
    maps = np.empty(images.shape[:3], dtype=np.float32)
    for index, image in enumerate(images):
        stitched = Stitched(image.shape[:2], tile, stride)
        for tiles, corners in _tile_batches(image, tile, stride, verbose):
            stitched.add(detector.anomaly_map(tiles), corners)
        maps[index] = stitched.result()
    return maps


def tiled_scores(detector, images, stride=None) -> np.ndarray:
    """``score_samples`` of images larger than the detector's input (higher = more normal;
    notebook 05).

    With anomaly maps: the detector's own reduction (``scores_from_maps``) of every window of
    the input size in the stitched map (on the tiles' grid), and the worst window's score.
    Reducing the whole map at once would dilute a small defect in a large photo: a 30x30 blot
    in a 4096x4096 photo hardly moves the mean of its top 10 % of pixels. Without anomaly maps:
    the worst (lowest) score of the image's tiles.
    """
    tile = tuple(detector.image_shape_[:2])
    verbose = getattr(detector, "verbose", 0)
    of_maps = isinstance(detector, MapDetector) and detector.maps_give_scores()
    worst = np.empty(len(images), dtype=np.float64)
    for index, image in enumerate(images):
        if of_maps:  # the stitched map, as a one-channel image to cut windows from
            image = tiled_maps(detector, image[np.newaxis], stride)[0][..., np.newaxis]
        worst[index] = min(
            float(np.min(_window_scores(detector, windows, of_maps)))
            for windows, _ in _tile_batches(image, tile, stride, verbose)
        )
    return worst


def _window_scores(detector, windows, of_maps: bool) -> np.ndarray:
    if of_maps:
        return detector.scores_from_maps(windows[..., 0])
    return detector.score_samples(windows)


class Tiles(ImageSource):
    """The overlapping tiles of every image of a source, to train a detector on (notebook 05).

    Parameters
    ----------
    images : image source, array or path(s)
        Large normal images, all of one size (see :func:`~anomaly_tutorial.datasets.
        image_source`).
    tile : int or (int, int)
        Tile size: the detector's input size.
    stride : int, (int, int) or None, default=None
        Pixels between neighbouring tiles; ``None`` is half a tile.

    ``fit`` treats a ``Tiles`` source specially: it splits the *images* into the part it trains
    on and the held-out part, trains on the tiles of the first, and sets ``offset_`` on the
    tiled scores of the held-out normal images. Decoded images are kept for reuse up to
    ``CACHE_BYTES``; beyond that, tiles of shuffled batches re-read their images (slower,
    but memory stays bounded).

    Examples
    --------
    >>> import numpy as np
    >>> tiles = Tiles(np.zeros((2, 100, 120)), tile=64)
    >>> len(tiles), tiles.image_shape  # per image: rows at 0, 32, 36; columns at 0, 32, 56
    (18, (64, 64, 1))
    """

    def __init__(self, images, tile, stride=None):
        self.images = image_source(images)
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

    def whole_images(self) -> ImageSource:
        return self.images

    def training_part(self, indices) -> "Tiles":
        return Tiles(self.images.subset(indices), self.tile, self.stride)


__all__ = [
    "Stitched",
    "Tiles",
    "cut",
    "default_stride",
    "is_larger",
    "tile_grid",
    "tile_starts",
    "tiled_maps",
    "tiled_scores",
]
