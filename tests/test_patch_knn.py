"""patch_knn: the memory bank of local features (notebook 03)."""

import numpy as np
import pytest

from anomaly_tutorial.detectors import make_detector
from anomaly_tutorial.detectors.patch_knn import default_stride, greedy_coreset
from anomaly_tutorial.features import gaussian_derivatives


def _blobs(n_images, size=24, col=6, seed=0):
    """A bright blob at the same place (column ``col``) in every image, over mild noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    blob = np.exp(-((rows - size / 2) ** 2 + (cols - col) ** 2) / 8.0)
    images = 0.2 + 0.6 * blob + 0.03 * rng.standard_normal((n_images, size, size))
    return np.clip(images, 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def fitted():
    return make_detector("patch_knn").fit(_blobs(40))


def test_a_scratch_lights_up_the_map_where_it_is(fitted):
    normal, scratched = _blobs(6, seed=1), _blobs(6, seed=2)
    scratched[:, 16:19, 4:20] = 0.0
    maps = fitted.anomaly_map(scratched)
    assert maps.shape == scratched.shape
    inside, outside = maps[:, 16:19, 4:20].mean(), maps[:, :8].mean()
    assert inside > 3 * outside
    assert fitted.score_samples(scratched).max() < fitted.score_samples(normal).min()


def test_position_makes_the_same_blob_elsewhere_an_anomaly():
    # Far from the borders (features reach about 12 pixels), so only the place differs.
    train, normal = _blobs(40, size=40, col=13), _blobs(8, size=40, col=13, seed=1)
    moved = _blobs(8, size=40, col=27, seed=2)
    for weight, flagged in ((3.0, True), (0.0, False)):
        detector = make_detector("patch_knn", position_weight=weight).fit(train)
        gap = detector.score_samples(normal).min() - detector.score_samples(moved).max()
        assert bool(gap > 0) == flagged, (weight, gap)


def test_the_bank_keeps_at_most_bank_size_features_plus_position(fitted):
    assert fitted.memory_bank_.shape == (
        fitted.bank_size if 32 * 24 * 24 > fitted.bank_size else 32 * 24 * 24,
        6 * 3 + 2,
    )
    small = make_detector("patch_knn", bank_size=100).fit(_blobs(20))
    assert small.memory_bank_.shape == (100, 20)


@pytest.mark.parametrize("reduction", ["max", "mean", "combined"])
def test_scores_are_minus_the_chosen_reduction_of_the_map(fitted, reduction):
    images = _blobs(5, seed=3)
    detector = fitted.set_params(reduction=reduction)
    try:
        from_maps = detector.scores_from_maps(detector.anomaly_map(images))
        np.testing.assert_allclose(detector.score_samples(images), from_maps, rtol=1e-6)
    finally:
        detector.set_params(reduction="combined")


def test_the_stride_describes_about_sixteen_points_per_side():
    assert default_stride(8, 8) == default_stride(31, 31) == 1
    assert default_stride(64, 64) == 4
    detector = make_detector("patch_knn").fit(_blobs(10, size=64, col=20))
    assert detector.stride_ == 4
    assert detector.anomaly_map(_blobs(2, size=64, col=20)).shape == (2, 64, 64)


@pytest.mark.parametrize("scales", [(1.0, 0.0), (1.0, 1e6), (), "1"])
def test_scales_must_be_positive_and_at_most_max_scale(scales):
    with pytest.raises(ValueError, match="non-empty tuple of positive numbers up to 64"):
        make_detector("patch_knn", scales=scales).fit(_blobs(10))


def test_gaussian_derivatives_measure_a_ramp_slope():
    ramp = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (32, 1))[np.newaxis, ..., np.newaxis]
    features = gaussian_derivatives(ramp, scales=(2.0,))
    assert features.shape == (1, 32, 32, 6)
    slope = 1 / 31
    # Away from the border: blur = the ramp, d/dcol = slope * scale, the rest about 0.
    centre = features[0, 16, 16]
    assert centre[0] == pytest.approx(ramp[0, 16, 16, 0], abs=1e-3)
    assert centre[1] == pytest.approx(slope * 2.0, rel=1e-2)
    assert np.abs(centre[[2, 3, 4, 5]]).max() < 1e-3


def test_the_coreset_keeps_a_rare_cluster_that_a_random_sample_misses():
    rng = np.random.default_rng(0)
    common, rare = rng.normal(0, 1, (990, 5)), rng.normal(50, 1, (10, 5))
    points = np.concatenate([common, rare])
    chosen = greedy_coreset(points, 20, np.random.default_rng(0))
    assert len(set(chosen.tolist())) == 20
    assert (chosen >= 990).any()
    # Every point is closer to the coreset than the coreset's points are to each other (k-center).
    gaps = np.linalg.norm(points[:, None] - points[chosen][None], axis=2).min(axis=1)
    spacing = np.linalg.norm(points[chosen][:, None] - points[chosen][None], axis=2)
    assert gaps.max() <= spacing[np.triu_indices(20, 1)].min() + 1e-6
    assert greedy_coreset(points, 2000, rng).tolist() == list(range(1000))


def test_gaussian_derivatives_on_a_grid_equal_the_full_ones_there():
    images = np.random.default_rng(0).random((3, 20, 30, 2), dtype=np.float32)
    rows, cols = np.arange(1, 20, 4), np.arange(2, 30, 3)
    full = gaussian_derivatives(images, (1.0, 3.0))
    on_grid = gaussian_derivatives(images, (1.0, 3.0), rows, cols)
    np.testing.assert_allclose(on_grid, full[:, rows][:, :, cols], atol=1e-6)


def test_the_bank_search_finds_what_nearest_neighbors_finds(fitted):
    from sklearn.neighbors import NearestNeighbors

    queries = fitted._vectors(_blobs(3, seed=5)[..., np.newaxis]).reshape(
        -1, fitted.memory_bank_.shape[1]
    )
    expected = NearestNeighbors(n_neighbors=1).fit(fitted.memory_bank_).kneighbors(queries)[0]
    np.testing.assert_allclose(fitted._nearest(queries), expected[:, 0], rtol=1e-4)
