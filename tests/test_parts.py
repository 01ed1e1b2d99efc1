"""Every bundled task has a development part and a test part that share no test image."""

import numpy as np
import pytest

from anomaly_tutorial import datasets
from anomaly_tutorial.datasets import parts


def _keys(images):
    return {image.tobytes() for image in images}


@pytest.mark.parametrize("name", datasets.TEXTURE_CATEGORIES)
def test_texture_parts_share_no_file_and_no_kind(name):
    dev, test = (datasets.load_textures(name, part) for part in ("dev", "test"))
    assert not set(dev.test_paths) & set(test.test_paths)
    assert not set(dev.defect_types) & set(test.defect_types)
    assert not _keys(dev.test_images) & _keys(test.test_images)
    whole = datasets.load_textures(name, "all")
    assert len(dev.test_images) + len(test.test_images) == len(whole.test_images)


@pytest.mark.parametrize(
    "load", [datasets.load_digits_one_class, datasets.load_glyphs_one_class, datasets.load_faces]
)
def test_object_task_parts_are_disjoint_and_hold_no_training_image(load):
    dev, test = (load(part=part) for part in ("dev", "test"))
    np.testing.assert_array_equal(dev.train_images, test.train_images)
    train, dev_keys, test_keys = (
        _keys(dev.train_images), _keys(dev.test_images), _keys(test.test_images)
    )  # fmt: skip
    assert not dev_keys & test_keys
    assert not (dev_keys | test_keys) & train
    assert set(dev.test_labels) == set(test.test_labels) == {0, 1}


@pytest.mark.parametrize("normal", range(10))
def test_one_class_slots_split_each_class_in_half_quarter_quarter(normal):
    targets = np.repeat(np.arange(10), 40)
    slots = parts.class_slots(targets)
    fit, test_index, test_parts = parts.one_class_parts(targets, normal, slots)
    assert np.all(targets[fit] == normal) and len(fit) == 20
    assert not set(fit) & set(test_index)
    test_part = test_index[test_parts == "test"]
    assert len(test_part) == 10 * 10  # a quarter of every class, the normal one included
    # A slot never depends on which class is the normal one.
    _, other_index, other_parts = parts.one_class_parts(targets, (normal + 1) % 10, slots)
    np.testing.assert_array_equal(np.sort(other_index[other_parts == "test"]), test_part)


def test_a_bundled_file_name_tells_its_part():
    assert parts.part_of_file("brick/test/good/dev_007.png") == "dev"
    assert parts.part_of_file("C:\\data\\test_120.png") == "test"
    with pytest.raises(ValueError, match="'dev_' or 'test_'"):
        parts.part_of_file("test/good/000.png")
