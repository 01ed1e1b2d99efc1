"""Large images: tiles cover them, stitching adds no seams, and a defect is found where it is."""

import numpy as np
import pytest
import skimage.data
from scipy import ndimage
from sklearn.base import BaseEstimator

from anomaly_tutorial import tiling
from anomaly_tutorial.detectors import make_detector
from anomaly_tutorial.detectors.anomaly_maps import MapDetector
from anomaly_tutorial.errors import InputError


class _Fitted(BaseEstimator):
    """A stand-in detector of 16x16 inputs, fitted."""

    image_shape_ = (16, 16, 1)

    def fit(self):  # pragma: no cover
        pass

    def __sklearn_is_fitted__(self):
        return True


class _MapIsTheImage(_Fitted, MapDetector):
    """A stand-in localising detector whose anomaly map is the image itself."""

    def anomaly_map(self, images):
        assert images.shape[1:3] == (16, 16)  # tiles of the input size only
        return images[..., 0]

    def scores_from_maps(self, maps):
        return -maps.max(axis=(1, 2))


class _NoMaps(_Fitted):
    """A stand-in detector without maps: a tile's score is minus its brightest pixel."""

    def score_samples(self, tiles):
        return -tiles.max(axis=(1, 2, 3))


def _smooth(shape, seed=0):
    noise = np.random.default_rng(seed).random(shape)
    return ndimage.gaussian_filter(noise, 3).astype(np.float32)[np.newaxis, ..., np.newaxis]


def test_tiles_cover_the_image_with_the_last_tile_flush_with_the_border():
    assert tiling.tile_starts(100, 64, 32).tolist() == [0, 32, 36]
    assert tiling.tile_starts(64, 64, 32).tolist() == [0]
    corners = tiling.tile_grid(100, 70, 64)
    assert corners.tolist() == [[0, 0], [0, 6], [32, 0], [32, 6], [36, 0], [36, 6]]
    with pytest.raises(InputError, match="does not fit"):
        tiling.tile_starts(10, 16, 8)


@pytest.mark.parametrize("stride", [None, 5, (16, 3)])
def test_stitching_the_maps_of_tiles_gives_the_map_back_without_seams(stride):
    image = _smooth((53, 70))
    stitched = tiling.Tiled(_MapIsTheImage(), stride=stride).anomaly_map(image)
    np.testing.assert_array_equal(stitched, image[..., 0])  # exactly: no seam anywhere


def test_the_image_score_comes_from_the_stitched_map_with_the_detectors_reduction():
    image = _smooth((40, 40))
    scores = tiling.Tiled(_MapIsTheImage()).score_samples(image)
    assert scores == pytest.approx([-image.max()])


class _MeanOfMap(_MapIsTheImage):
    """Its image score reduces the map by its mean, as ``reduction="mean"`` does."""

    def scores_from_maps(self, maps):
        return -maps.mean(axis=(1, 2))


def test_a_small_defect_scores_as_high_in_a_large_image_as_in_an_image_of_the_input_size():
    large = np.zeros((1, 256, 256, 1), np.float32)
    large[0, 96:112, 48:64] = 1.0  # one input-sized patch, on the tiles' grid
    detector = _MeanOfMap()
    assert tiling.Tiled(detector).score_samples(large) == pytest.approx([-1.0])  # its worst window
    assert detector.scores_from_maps(large[..., 0]) == pytest.approx([-1 / 256])  # diluted


def test_a_detector_without_maps_takes_the_worst_tile():
    image = _smooth((40, 50))
    image[0, 30, 41] = 1.0
    assert tiling.Tiled(_NoMaps()).score_samples(image) == pytest.approx([-1.0])


def test_a_tiles_source_reads_the_tiles_of_every_image():
    images = np.random.default_rng(0).random((2, 10, 12, 1), dtype=np.float32)
    tiles = tiling.Tiles(images, tile=4, stride=(3, 4))
    assert len(tiles.corners) == 3 * 3 and len(tiles) == 18 and tiles.image_shape == (4, 4, 1)
    assert tiles.corners[5].tolist() == [3, 8]  # rows 0, 3, 6; columns 0, 4, 8
    np.testing.assert_array_equal(tiles.read([14, 0])[0], images[1, 3:7, 8:12])
    with pytest.raises(InputError, match="does not fit in the 10x12 images"):
        tiling.Tiles(images, tile=11)


def test_fit_on_tiles_holds_out_whole_images_and_sets_the_threshold_on_their_tiled_scores():
    images = _smooth((5, 40, 40))[0]
    detector = make_detector("hog_ocsvm", false_alarm_rate=0.0)
    tiled = tiling.Tiled(detector, tile=16).fit(images)
    assert detector.image_shape_ == (16, 16, 1)
    _, held_out = detector.validation_split(5)
    assert detector.offset_ == pytest.approx(tiled.score_samples(images[held_out]).min())
    assert tiled.predict(images).shape == (5,)  # whole 40x40 images, scored in tiles
    with pytest.raises(InputError, match="normal images only"):
        tiled.fit(images, np.zeros(5))


def test_a_plain_detector_refuses_larger_images_and_names_the_wrapper():
    images = _smooth((5, 40, 40))[0]
    detector = make_detector("patch_knn", quick=True)
    tiled = tiling.Tiled(detector, tile=16).fit(images)
    for method in (detector.score_samples, detector.predict, detector.anomaly_map):
        with pytest.raises(InputError, match=r"40x40, larger than the 16x16 .*tiling\.Tiled"):
            method(images)
    assert tiled.anomaly_map(images).shape == (5, 40, 40)
    tile = images[:, :16, :16]  # the input size: the detector's own scores, untouched
    np.testing.assert_array_equal(tiled.score_samples(tile), detector.score_samples(tile))
    with pytest.raises(InputError, match="needs the tile size"):
        tiling.Tiled(make_detector("hog_ocsvm")).fit(images)


def test_a_defect_on_a_large_photo_is_where_the_stitched_map_peaks():
    photo = skimage.data.gravel().astype(np.float32) / 255  # 512 x 512
    quarters = np.stack([photo[r : r + 256, c : c + 256] for r in (0, 256) for c in (0, 256)])
    detector = make_detector("conv_autoencoder", quick=True)
    detector = tiling.Tiled(detector, tile=64, stride=64).fit(quarters)  # fast to train
    painted = photo.copy()
    painted[300:318, 140:158] = 1.0  # an 18 x 18 white blot
    maps = detector.anomaly_map(np.stack([photo, painted]))
    assert maps.shape == (2, 512, 512)
    row, col = np.unravel_index(np.argmax(maps[1]), maps[1].shape)
    assert 300 - 8 <= row < 318 + 8 and 140 - 8 <= col < 158 + 8, (row, col)
    clean, defective = detector.score_samples(np.stack([photo, painted]))
    assert defective < clean
