"""AnomalyDataset, the digits and faces tasks, and load_dataset."""

import numpy as np
import pytest

from anomaly_tutorial import datasets
from anomaly_tutorial.datasets import AnomalyDataset


def _dataset(**overrides):
    rng = np.random.default_rng(0)
    fields = {
        "name": "toy",
        "train_images": rng.random((10, 6, 6, 1), dtype=np.float32),
        "test_images": rng.random((6, 6, 6, 1), dtype=np.float32),
        "test_labels": np.array([0, 0, 0, 1, 1, 1]),
        "test_defects": np.array(["good", "good", "good", "dent", "dent", "cut"]),
        "test_masks": np.zeros((6, 6, 6), dtype=bool),
    }
    fields.update(overrides)
    return AnomalyDataset(**fields)


def test_dataset_converts_fields_to_the_documented_types():
    dataset = _dataset(
        train_images=np.zeros((10, 6, 6), dtype=np.uint8), test_labels=[0, 0, 0, 1, 1, 1]
    )
    assert dataset.train_images.shape == (10, 6, 6, 1)
    assert dataset.train_images.dtype == np.float32
    assert dataset.test_labels.dtype == np.int64
    assert dataset.defect_types == ("cut", "dent")
    assert dataset.image_shape == (6, 6, 1)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"test_images": np.zeros((6, 7, 6, 1), np.float32)}, "share"),
        ({"test_labels": np.array([0, 0, 0, 1, 1, 2])}, "test_labels"),
        ({"test_labels": np.array([0, 1])}, "test_labels"),
        ({"test_defects": np.array(["good"] * 6)}, "exactly where"),
        ({"test_defects": np.array(["good"] * 5)}, "test_defects"),
        ({"test_masks": np.zeros((6, 6, 6), dtype=np.uint8)}, "test_masks"),
        ({"test_masks": np.zeros((5, 6, 6), dtype=bool)}, "test_masks"),
        ({"train_paths": ("a.png",)}, "train_paths"),
        ({"train_images": np.full((10, 6, 6, 1), 2.0)}, "train_images"),
    ],
)
def test_dataset_rejects_inconsistent_arrays(overrides, message):
    with pytest.raises(ValueError, match=message):
        _dataset(**overrides)


def test_dataset_describes_counts_per_type():
    dataset = _dataset()
    assert dataset.describe() == [
        {"split": "train", "type": "good", "label": 0, "images": 10},
        {"split": "test", "type": "good", "label": 0, "images": 3},
        {"split": "test", "type": "cut", "label": 1, "images": 1},
        {"split": "test", "type": "dent", "label": 1, "images": 2},
    ]
    assert "train 10, test 6 (good 3, cut 1, dent 2), with masks" in repr(dataset)


def test_subset_is_stratified_deterministic_and_keeps_order():
    dataset = _dataset(test_paths=tuple(f"{i}.png" for i in range(6)))
    small = dataset.subset(n_train=4, n_test_per_type=2, random_state=1)
    assert len(small.train_images) == 4
    assert small.test_defects.tolist().count("good") == 2
    assert small.test_defects.tolist().count("dent") == 2
    assert small.test_defects.tolist().count("cut") == 1
    assert list(small.test_paths) == sorted(small.test_paths)
    again = dataset.subset(n_train=4, n_test_per_type=2, random_state=1)
    np.testing.assert_array_equal(small.train_images, again.train_images)
    assert small.test_masks.shape == (5, 6, 6)


def test_subset_without_limits_keeps_everything():
    dataset = _dataset()
    np.testing.assert_array_equal(dataset.subset().test_images, dataset.test_images)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_subset_rejects_non_positive_counts(bad):
    with pytest.raises(ValueError, match="n_train"):
        _dataset().subset(n_train=bad)


def test_digits_trains_on_half_of_the_normal_digit_and_tests_on_all_others():
    whole = datasets.load_digits_one_class(normal_digit=3, part="all")
    assert whole.train_images.shape[1:] == (8, 8, 1)
    assert whole.train_images.dtype == np.float32
    assert 0.0 <= whole.train_images.min() and whole.train_images.max() <= 1.0
    n_threes = 183  # in sklearn's digits
    assert len(whole.train_images) + (whole.test_labels == 0).sum() == n_threes
    assert len(whole.train_images) == round(0.5 * n_threes)
    expected = tuple(f"digit_{k}" for k in range(10) if k != 3)
    assert whole.defect_types == expected
    assert whole.test_masks is None
    dev = datasets.load_digits_one_class(normal_digit=3, part="dev")
    test = datasets.load_digits_one_class(normal_digit=3, part="test")
    assert len(dev.test_images) + len(test.test_images) == len(whole.test_images)
    assert (test.test_labels == 0).sum() == pytest.approx(n_threes / 4, abs=1)
    # The test part holds a quarter of every other digit; the dev part the other anomalies.
    assert (test.test_labels == 1).sum() == pytest.approx((1797 - n_threes) / 4, abs=10)


def test_digits_held_out_normals_are_not_in_training():
    dataset = datasets.load_digits_one_class(normal_digit=0, part="all")
    train = {image.tobytes() for image in dataset.train_images}
    held_out = dataset.test_images[dataset.test_labels == 0]
    assert not any(image.tobytes() in train for image in held_out)


@pytest.mark.parametrize("digit", [-1, 10, 2.0, "3", True])
def test_digits_rejects_a_normal_digit_outside_zero_to_nine(digit):
    with pytest.raises(ValueError, match="normal_digit"):
        datasets.load_digits_one_class(normal_digit=digit)


def test_glyphs_are_28x28_digits_with_one_normal_class():
    dataset = datasets.load_glyphs_one_class(normal_class=7, part="all")
    assert dataset.train_images.shape == (200, 28, 28, 1)
    assert (dataset.test_labels == 0).sum() == 200
    assert dataset.defect_types == tuple(f"glyph_{k}" for k in range(10) if k != 7)
    # White strokes on black: the border is dark, the centre holds ink.
    assert dataset.train_images[:, :2].mean() < 0.05 < dataset.train_images[:, 10:18].mean()
    with pytest.raises(ValueError, match="normal_class"):
        datasets.load_glyphs_one_class(normal_class=10)


def test_faces_trains_on_faces_and_tests_on_faces_and_non_faces():
    dataset = datasets.load_faces(part="all")
    assert dataset.train_images.shape == (60, 25, 25, 1)
    assert dataset.test_images.shape == (140, 25, 25, 1)
    assert (dataset.test_labels == 0).sum() == 40
    assert dataset.defect_types == ("non_face",)
    for part in ("dev", "test"):
        counts = np.bincount(datasets.load_faces(part=part).test_labels)
        assert counts.tolist() == [20, 50]
    other_split = datasets.load_faces(random_state=1)
    assert not np.array_equal(other_split.train_images, dataset.train_images)


def test_faces_use_the_full_unit_range():
    dataset = datasets.load_faces()
    assert dataset.train_images.min() >= 0.0
    assert dataset.train_images.max() > 0.9  # not divided by 255 twice


@pytest.mark.parametrize("part", ["train", "", None, "Test"])
def test_loaders_reject_an_unknown_part(part):
    with pytest.raises(ValueError, match="part must be one of 'dev', 'test', 'all'"):
        datasets.load_faces(part=part)


@pytest.mark.parametrize("name", ["digits", "glyphs", "faces", "brick"])
def test_load_dataset_loads_each_bundled_name(name):
    dataset = datasets.load_dataset(name)
    assert isinstance(dataset, AnomalyDataset)
    assert dataset.test_labels.sum() > 0


def test_load_dataset_rejects_unknown_names_and_lists_known_ones():
    with pytest.raises(ValueError, match="brick, grass, gravel, digits, glyphs, faces"):
        datasets.load_dataset("mnist")
