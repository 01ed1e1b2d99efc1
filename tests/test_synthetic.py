"""CutPaste: synthetic anomalies cut from normal images (notebook 02)."""

import numpy as np
import pytest

from anomaly_tutorial.synthetic import cutpaste, with_cutpaste


def striped_images(n=4, shape=(32, 32)):
    """Vertical stripes: a pasted piece of them shows wherever it lands off-phase."""
    rows, cols = shape
    stripes = np.tile((np.arange(cols) % 8 < 4).astype(np.float32), (rows, 1))
    ramp = np.linspace(0.1, 0.9, rows, dtype=np.float32)[:, np.newaxis]
    return np.stack([stripes * ramp] * n)


@pytest.mark.parametrize("kind", ["patch", "scar"])
def test_cutpaste_changes_only_the_masked_pixels(kind):
    images = striped_images()
    pasted, masks = cutpaste(images, kind=kind, random_state=1)
    assert pasted.shape == (4, 32, 32, 1)
    assert masks.shape == (4, 32, 32)
    assert masks.any(axis=(1, 2)).all()
    np.testing.assert_array_equal(pasted[~masks], images[..., np.newaxis][~masks])
    assert pasted.min() >= 0.0 and pasted.max() <= 1.0


def test_patch_area_stays_in_the_requested_range():
    _, masks = cutpaste(np.full((20, 40, 40), 0.5), area_fraction=(0.05, 0.1), random_state=0)
    fractions = masks.mean(axis=(1, 2))
    assert fractions.min() >= 0.04 and fractions.max() <= 0.11


def test_cutpaste_is_repeatable_and_leaves_the_input_alone():
    images = striped_images()
    before = images.copy()
    first, _ = cutpaste(images, random_state=3)
    second, _ = cutpaste(images, random_state=3)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(images, before)


@pytest.mark.parametrize("shape", [(8, 8), (25, 25, 3)])
def test_cutpaste_works_on_small_and_rgb_images(shape):
    images = np.random.default_rng(0).random((3, *shape))
    for kind in ("patch", "scar"):
        pasted, masks = cutpaste(images, kind=kind)
        assert pasted.shape[:3] == masks.shape == (3, *shape[:2])


def test_with_cutpaste_labels_originals_0_and_copies_1():
    images = striped_images(n=3)
    both, labels = with_cutpaste(images)
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(both[:3], images[..., np.newaxis])
    assert not np.array_equal(both[3:], both[:3])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "blob"}, "kind"),
        ({"area_fraction": (0.2, 0.1)}, "area_fraction"),
        ({"area_fraction": (0.1, 1.5)}, "area_fraction"),
        ({"aspect_ratio": 3}, "aspect_ratio"),
        ({"brightness_jitter": 1.0}, "brightness_jitter"),
    ],
)
def test_bad_cutpaste_options_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        cutpaste(striped_images(), **options)


def test_cutpaste_rejects_non_images():
    with pytest.raises(ValueError, match="images"):
        cutpaste(np.zeros((4, 4)))
