"""Folders read batch by batch: image sources, the one training path, and score_folder.

Flat memory as the number of images grows is measured by benchmarks/bench_scale.py, not here.
"""

import doctest
import importlib
import random

import imageio.v3 as iio
import numpy as np
import pytest

from anomaly_tutorial import datasets, scoring, tiling
from anomaly_tutorial.batching import ArraySource
from anomaly_tutorial.datasets import imagefiles
from anomaly_tutorial.detectors import make_detector
from anomaly_tutorial.detectors.keras_base import ImageBatches
from anomaly_tutorial.errors import DatasetError, InputError
from anomaly_tutorial.streaming import Streamed

SIZE = 16


def _write_images(folder, count, size=(SIZE, SIZE), seed=0):
    """Smooth ramps with mild noise, as uint8 PNG files 000.png, 001.png, ..."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(60, 180, size[1])
    for index in range(count):
        pixels = ramp + rng.normal(0, 8, size)
        iio.imwrite(folder / f"{index:03d}.png", np.clip(pixels, 0, 255).astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return _write_images(tmp_path_factory.mktemp("images") / "good", 30)


def test_a_folder_source_reads_what_read_images_reads(folder):
    images, paths = datasets.read_images(folder)
    files = datasets.image_source(folder)
    assert isinstance(files, datasets.ImageFiles)
    assert files.paths == paths and len(files) == 30 and files.image_shape == (SIZE, SIZE, 1)
    np.testing.assert_array_equal(np.concatenate(list(files.batches(batch_size=7))), images)
    np.testing.assert_array_equal(files.subset([4, 2]).read([1, 0]), images[[2, 4]])


def test_an_array_source_is_the_validated_array():
    source = datasets.image_source(np.zeros((3, 8, 8), np.uint8))
    assert isinstance(source, ArraySource) and source.image_shape == (8, 8, 1)
    assert source.read_all().dtype == np.float32


def test_batches_are_bounded_in_bytes_for_large_images():
    small = ArraySource(np.zeros((2, 8, 8), np.float32))
    large = ArraySource(np.zeros((2, 2048, 2048), np.float32))  # 16 MB each
    assert small.batch_size() == 256 and large.batch_size() == 2


@pytest.mark.parametrize("name", ["hog_ocsvm", "conv_autoencoder", "deep_svdd"])
def test_training_from_a_folder_equals_training_from_the_same_images_as_an_array(name, folder):
    images, _ = datasets.read_images(folder)
    quick = {"epochs": 2}
    params = {} if name == "hog_ocsvm" else {"filters": (4,), **quick}
    from_array = make_detector(name, quick=True, **params).fit(images)
    from_folder = Streamed(make_detector(name, quick=True, **params)).fit(folder).detector
    # Both take one path (ImageBatches with its own seeded order), so they agree exactly here;
    # 1e-5 is the promise.
    np.testing.assert_allclose(
        from_folder.score_samples(images), from_array.score_samples(images), rtol=0, atol=1e-5
    )
    assert from_folder.offset_ == pytest.approx(from_array.offset_, abs=1e-5)


def test_scores_of_a_source_equal_scores_of_the_array(folder):
    images, _ = datasets.read_images(folder)
    detector = make_detector("hog_ocsvm").fit(images)
    source = datasets.image_source(folder)
    np.testing.assert_array_equal(
        Streamed(detector).score_samples(folder), detector.score_samples(images)
    )
    np.testing.assert_array_equal(Streamed(detector).predict(source), detector.predict(images))


def test_a_plain_detector_takes_arrays_and_names_the_folder_wrapper(folder):
    detector = make_detector("hog_ocsvm")
    with pytest.raises(InputError, match=r"is a path .*streaming\.Streamed\(detector\)"):
        detector.fit(folder)
    with pytest.raises(InputError, match=r"image source, not an array.*streaming\.Streamed"):
        detector.fit(datasets.image_source(folder))


def test_a_mixed_size_folder_is_refused_from_the_headers_before_training(tmp_path, monkeypatch):
    good = _write_images(tmp_path / "good", 6)
    _write_images(tmp_path / "odd", 1, size=(SIZE, SIZE + 4))
    (tmp_path / "odd" / "000.png").rename(good / "005.png")
    source = datasets.image_source(good)  # reads the first image only
    monkeypatch.setattr(iio, "imread", lambda *args, **kwargs: pytest.fail("decoded"))
    with pytest.raises(DatasetError, match="005.png: is 16x20 pixels but .*000.png is 16x16"):
        Streamed(make_detector("hog_ocsvm")).fit(source)


def test_a_corrupt_file_met_during_training_is_reported_as_itself(tmp_path):
    good = _write_images(tmp_path / "good", 12)
    data = (good / "007.png").read_bytes()
    (good / "007.png").write_bytes(data[: len(data) // 2])  # the header still reads
    detector = make_detector("conv_autoencoder", quick=True, filters=(4,), epochs=1)
    with pytest.raises(DatasetError, match="007.png: cannot read this image file"):
        Streamed(detector).fit(good)


def test_image_batches_shuffle_every_epoch_with_their_own_generator():
    source = ArraySource(np.repeat(np.arange(10, dtype=np.float32) / 10, 4).reshape(10, 2, 2))
    state = np.random.get_state()  # noqa: NPY002
    python_state = random.getstate()

    def epoch(batches):
        order = [batches[index][0][:, 0, 0, 0] for index in range(len(batches))]
        batches.on_epoch_end()
        return np.round(np.concatenate(order) * 10).astype(int)

    first, again = (ImageBatches(source, 4, lambda x: x, seed=3) for _ in range(2))
    orders = [epoch(first) for _ in range(3)]
    assert [order.tolist() for order in orders] == [epoch(again).tolist() for _ in range(3)]
    assert all(sorted(order) == list(range(10)) for order in orders)
    assert orders[0].tolist() != orders[1].tolist()
    assert epoch(ImageBatches(source, 4, lambda x: x)).tolist() == list(range(10))
    assert len(first) == 3  # 4 + 4 + 2
    assert random.getstate() == python_state
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), state, strict=True))  # noqa: NPY002


def test_pixel_moments_over_batches_equal_numpy_over_all_images():
    from anomaly_tutorial.detectors.conv_autoencoder import pixel_moments

    values = np.random.default_rng(0).normal(3, 2, size=(50, 4, 5)).astype(np.float32)
    mean, std = pixel_moments(values[start : start + 7] for start in range(0, 50, 7))
    assert mean.shape == std.shape == (4, 5)
    np.testing.assert_allclose(mean, values.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, values.astype(np.float64).std(axis=0), rtol=1e-12)


def test_score_folder_yields_one_row_per_image_in_order(folder):
    images, paths = datasets.read_images(folder)
    detector = make_detector("hog_ocsvm").fit(images)
    rows = list(scoring.score_folder(detector, [folder], batch_size=4))
    assert [row.path for row in rows] == list(paths)
    anomaly_scores = np.array([row.anomaly_score for row in rows])
    np.testing.assert_allclose(anomaly_scores, -detector.score_samples(images))
    assert [row.label for row in rows] == detector.predict(images).tolist()
    assert all(row.image is None and row.anomaly_map is None for row in rows)


def test_score_folder_gives_maps_from_one_pass_that_match_anomaly_map(folder):
    images, _ = datasets.read_images(folder)
    detector = make_detector("conv_autoencoder", quick=True, filters=(4,), epochs=1).fit(images)
    rows = list(scoring.score_folder(detector, folder, maps=True, batch_size=8))
    # Equal up to float32 rounding: PyTorch's CPU convolutions round differently for batches
    # of 8 and of 16 (about 1e-6 here).
    np.testing.assert_allclose(
        np.stack([row.anomaly_map for row in rows]),
        detector.anomaly_map(images),
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        [-row.anomaly_score for row in rows], detector.score_samples(images), rtol=1e-5, atol=1e-5
    )


def test_score_folder_scores_a_larger_image_by_its_worst_window_with_maps_too(folder, tmp_path):
    detector = make_detector("patch_knn", quick=True).fit(datasets.read_images(folder)[0])
    large = _write_images(tmp_path / "large", 2, size=(40, 48), seed=1)
    photos, _ = datasets.read_images(large)
    tiled = tiling.Tiled(detector).score_samples(photos)
    for maps in (False, True):
        rows = list(scoring.score_folder(detector, large, maps=maps))
        np.testing.assert_allclose([-row.anomaly_score for row in rows], tiled, rtol=1e-6)
        assert all(row.tiled for row in rows)
    assert [row.anomaly_map.shape for row in rows] == [(40, 48)] * 2


def test_score_folder_refuses_an_image_smaller_than_the_model(folder, tmp_path):
    detector = make_detector("hog_ocsvm").fit(datasets.read_images(folder)[0])
    small = _write_images(tmp_path / "small", 1, size=(8, 8))
    with pytest.raises(DatasetError, match="000.png: the images are 8x8 but .* 16x16"):
        list(scoring.score_folder(detector, small))


@pytest.mark.parametrize(
    "module",
    ["datasets.source", "scoring", "streaming", "tiling", "detectors.keras_base"],
)
def test_the_examples_in_the_docstrings_run(module):
    module = importlib.import_module(f"anomaly_tutorial.{module}")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(module, module.__name__):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_image_paths_name_what_is_wrong(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        imagefiles.image_paths(tmp_path / "nowhere.png")
    with pytest.raises(DatasetError, match="got no paths"):
        imagefiles.image_paths([])
