"""Hand-made image features: HOG of whole images (``hog_ocsvm``, notebook 01) and Gaussian
derivatives per pixel (the ``patch_knn`` memory bank, notebook 03).

A histogram of oriented gradients (HOG) describes an image by the directions of its edges: the
image is cut into cells, each cell gets a histogram of gradient orientations, and neighbouring
cells are normalised together in blocks. :class:`HOGFeatures` wraps ``skimage.feature.hog`` as
the first step of a ``Pipeline`` (HOG -> StandardScaler -> OneClassSVM); its defaults adapt to
the image size (:func:`resolve_hog_parameters`), so that 8x8 digits, 25x25 faces and 64x64
textures all give a useful descriptor without tuning.
"""

import functools
import math
from numbers import Integral

import numpy as np
import skimage.feature
import skimage.transform
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin

# scikit-learn's declarative parameter checks, as the detectors use them (a private module, but
# stable since 1.2).
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial.images import as_images, check_fitted_shape, image_shape, size_pair

#: Cells per side the adaptive default aims at at most: fewer cells blur the layout, more
#: cells make each histogram too noisy for the few pixels it sees.
_MAX_CELLS_PER_SIDE = 8
_MIN_PIXELS_PER_CELL = 2
_BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")


def resolve_hog_parameters(height: int, width: int, pixels_per_cell=None, cells_per_block=None):
    """``(pixels_per_cell, cells_per_block)`` for ``height`` x ``width`` images.

    ``None`` means adapt: ``ceil(side / 8)`` pixels per cell (at least 2), then blocks of 2 cells
    on each side that has at least 2 cells, else 1. Explicit values are checked against the size.
    """
    if pixels_per_cell is None:
        pixels = tuple(
            max(_MIN_PIXELS_PER_CELL, math.ceil(side / _MAX_CELLS_PER_SIDE))
            for side in (height, width)
        )
    else:
        pixels = size_pair(pixels_per_cell, "pixels_per_cell")
    cells = (height // pixels[0], width // pixels[1])
    if min(cells) < 1:
        raise ValueError(
            f"pixels_per_cell={pixels} is larger than the {height}x{width} images; "
            f"use at most ({height}, {width})."
        )
    if cells_per_block is None:
        block = tuple(2 if count >= 2 else 1 for count in cells)
    else:
        block = size_pair(cells_per_block, "cells_per_block")
    if block[0] > cells[0] or block[1] > cells[1]:
        raise ValueError(
            f"cells_per_block={block} needs more cells than the {cells[0]}x{cells[1]} cells that "
            f"{height}x{width} images with pixels_per_cell={pixels} have."
        )
    return pixels, block


def _hog(image: np.ndarray, orientations, pixels, block, block_norm, visualize=False):
    """skimage's HOG of one validated ``(H, W, C)`` image (RGB: strongest channel per pixel)."""
    if image.shape[-1] == 1:
        image, channel_axis = image[..., 0], None
    else:
        channel_axis = -1
    return skimage.feature.hog(
        image,
        orientations=orientations,
        pixels_per_cell=pixels,
        cells_per_block=block,
        block_norm=block_norm,
        visualize=visualize,
        feature_vector=True,
        channel_axis=channel_axis,
    )


class HOGFeatures(TransformerMixin, BaseEstimator):
    """Turn images into HOG descriptors, one row per image (notebook 01).

    Parameters
    ----------
    orientations : int, default=9
        Orientation bins per cell histogram (0 to 180 degrees).
    pixels_per_cell : int, pair of ints or None, default=None
        Cell size. ``None`` adapts to the image size at ``fit`` (see ``resolve_hog_parameters``).
    cells_per_block : int, pair of ints or None, default=None
        Block size in cells for the local contrast normalisation. ``None`` adapts.
    block_norm : {"L1", "L1-sqrt", "L2", "L2-Hys"}, default="L2-Hys"
        Block normalisation, as in ``skimage.feature.hog``.

    Attributes
    ----------
    image_shape_ : tuple (H, W, C)
        Image size seen in ``fit``; ``transform`` requires the same size.
    pixels_per_cell_, cells_per_block_ : tuple (rows, columns)
        The values actually used.
    n_features_out_ : int
        Length of one descriptor.

    Images go through :func:`anomaly_tutorial.images.as_images`: ``(n, H, W)`` or
    ``(n, H, W, C)`` with 1 or 3 channels, uint8 or float in [0, 1].
    """

    # The cell sizes are checked against the image size by resolve_hog_parameters, at fit.
    _parameter_constraints: dict = {
        "orientations": [Interval(Integral, 1, None, closed="left")],
        "pixels_per_cell": "no_validation",
        "cells_per_block": "no_validation",
        "block_norm": [StrOptions(set(_BLOCK_NORMS))],
    }

    def __init__(self, orientations=9, pixels_per_cell=None, cells_per_block=None,
                 block_norm="L2-Hys"):  # fmt: skip
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.block_norm = block_norm

    def fit(self, X, y=None):
        """Resolve the cell and block sizes for the size of the images in ``X``."""
        self._validate_params()
        images = as_images(X)
        self.image_shape_ = image_shape(images)
        height, width, _ = self.image_shape_
        self.pixels_per_cell_, self.cells_per_block_ = resolve_hog_parameters(
            height, width, self.pixels_per_cell, self.cells_per_block
        )
        blocks = np.array((height, width)) // self.pixels_per_cell_ - self.cells_per_block_ + 1
        self.n_features_out_ = int(
            np.prod(blocks) * np.prod(self.cells_per_block_) * self.orientations
        )
        return self

    def transform(self, X):
        """HOG descriptors, float64 ``(n_images, n_features_out_)``."""
        check_is_fitted(self)
        images = as_images(X)
        check_fitted_shape(images, self.image_shape_, type(self).__name__)
        hog = (self.orientations, self.pixels_per_cell_, self.cells_per_block_, self.block_norm)
        return np.stack([_hog(image, *hog) for image in images]).astype(np.float64)


def hog_picture(image, orientations=9, pixels_per_cell=None, cells_per_block=None,
                block_norm="L2-Hys", min_size=64) -> np.ndarray:  # fmt: skip
    """The HOG picture of one ``(H, W)`` or ``(H, W, C)`` image, scaled to [0, 1], on the cell
    grid of :class:`HOGFeatures`: each cell's histogram drawn as a star of line segments, the
    brighter the stronger the edges in that direction.

    A star in a 2x2-pixel cell is invisible, so an image smaller than ``min_size`` is first
    enlarged by an integer factor ``k`` (bilinear) and drawn with ``k`` times larger cells (the
    same grid and directions, a ``(k H, k W)`` picture); ``min_size=None`` draws it as it is.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 3)):
        raise ValueError(
            f"image must be one image shaped (H, W) or (H, W, C); got shape {image.shape}."
        )
    validated = as_images(image[np.newaxis], name="image")[0]
    HOGFeatures(orientations, block_norm=block_norm)._validate_params()  # the same checks
    height, width, _ = validated.shape
    pixels, block = resolve_hog_parameters(height, width, pixels_per_cell, cells_per_block)
    factor = 1 if min_size is None else max(1, math.ceil(min_size / min(height, width)))
    if factor > 1:
        validated = skimage.transform.rescale(validated, factor, order=1, channel_axis=-1)
        pixels = (pixels[0] * factor, pixels[1] * factor)
    _, picture = _hog(validated, orientations, pixels, block, block_norm, visualize=True)
    peak = float(picture.max())
    return (picture / peak if peak > 0 else picture).astype(np.float64)


#: Gaussian derivatives per scale: (row order, column order); the response is scale-normalised
#: by ``scale ** (row order + column order)`` so that the scales compare.
DERIVATIVES = ((0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (2, 0))


def gaussian_derivatives(images, scales=(1.0, 2.0, 4.0), rows=None, cols=None) -> np.ndarray:
    """Per-pixel features ``(n, h, w, 6 * len(scales) * C)`` of images ``(n, H, W, C)``.

    At each Gaussian width ``s`` in ``scales`` (pixels): the blurred image and its first and
    second derivatives, a classic filter bank that describes the brightness, edges, lines and
    blobs of about ``s`` to ``2 s`` pixels around each pixel. Borders are reflected.

    ``rows`` and ``cols`` (index arrays; default: all) ask for the features at those pixels only:
    the result equals the full one indexed there, at a fraction of the cost for a sparse grid.
    Each 1-D filter is applied as a matrix, the filter's response to every unit impulse
    (``scipy.ndimage.gaussian_filter1d`` of an identity matrix), so only the rows and columns
    asked for are ever computed.
    """
    images = np.asarray(images, dtype=np.float32)
    height, width = images.shape[1:3]
    rows = np.arange(height) if rows is None else np.asarray(rows)
    cols = np.arange(width) if cols is None else np.asarray(cols)
    features = []
    for channel in range(images.shape[-1]):
        plane = images[..., channel].astype(np.float64)
        for scale in scales:
            # along_rows[order] @ plane filters down the columns; plane @ along_cols[order].T
            # filters along the rows.
            along_rows = [_filter_matrix(height, scale, order)[rows] for order in range(3)]
            along_cols = [_filter_matrix(width, scale, order)[cols] for order in range(3)]
            by_cols = [plane @ matrix.T for matrix in along_cols]
            features += [
                along_rows[row_order] @ by_cols[col_order] * scale ** (row_order + col_order)
                for row_order, col_order in DERIVATIVES
            ]
    return np.stack(features, axis=-1).astype(np.float32)


@functools.lru_cache(maxsize=18)
def _filter_matrix(size: int, scale: float, order: int) -> np.ndarray:
    """``(size, size)``: column ``j`` is the Gaussian derivative filter's response to a unit
    impulse at ``j`` (borders reflected), so ``matrix @ signal`` filters a signal."""
    matrix = ndimage.gaussian_filter1d(np.eye(size), scale, axis=0, order=order, mode="reflect")
    matrix.flags.writeable = False
    return matrix
