"""The benchmark scores the test part, takes labelled anomalies from the dev part only, and
compares every row with hog_ocsvm measured in the same run."""

import pytest

from anomaly_tutorial import benchmark
from anomaly_tutorial.datasets import textures
from anomaly_tutorial.detectors import labeled_regressor


@pytest.fixture(scope="module")
def runs():
    return benchmark.run_benchmark(["grass"], ["hog_ocsvm", "deep_svdd"], quick=True).runs


def test_rows_are_measured_on_the_test_part_with_ratios_to_hog(runs):
    hog, svdd = (run.row for run in runs)
    assert hog["auroc_vs_hog"] == 1.0 and hog["fit_time_vs_hog"] == 1.0
    assert svdd["auroc_vs_hog"] == pytest.approx(svdd["image_auroc"] / hog["image_auroc"])
    assert set(runs[0].per_kind) == set(textures.PART_KINDS["test"])


def test_per_kind_rows_list_every_held_out_kind(runs):
    rows = benchmark.per_kind_rows(runs)
    assert [row["detector"] for row in rows] == ["hog_ocsvm", "deep_svdd"]
    assert set(rows[0]) == {"dataset", "detector", *textures.PART_KINDS["test"]}


def test_the_labelled_detector_never_trains_on_a_test_part_image():
    dev, test = benchmark.load_benchmark_parts("brick")
    images, labels = labeled_regressor.training_set(dev)
    seen = {image.tobytes() for image in images}
    assert not seen & {image.tobytes() for image in test.test_images}
    assert labels.sum() == (dev.test_labels == 1).sum()
