import numpy as np
import pytest

from anomaly_tutorial.images import as_images, image_shape


def test_grayscale_batch_gains_a_channel_axis():
    images = as_images(np.zeros((3, 8, 9), dtype=np.float32))
    assert images.shape == (3, 8, 9, 1)
    assert images.dtype == np.float32


def test_uint8_is_scaled_to_unit_range():
    images = as_images(np.full((2, 4, 4, 3), 255, dtype=np.uint8))
    assert images.dtype == np.float32
    assert images.max() == pytest.approx(1.0)
    assert image_shape(images) == (4, 4, 3)


def test_float64_in_unit_range_is_converted_to_float32():
    assert as_images(np.full((1, 4, 4), 0.5)).dtype == np.float32


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((4, 4)), r"\(n, H, W\)"),
        (np.zeros((1, 4, 4, 4, 1)), r"\(n, H, W\)"),
        (np.zeros((0, 4, 4)), "no images"),
        (np.zeros((2, 4, 4, 2)), "channels"),
        (np.zeros((2, 1, 4)), "at least 2x2"),
        (np.full((2, 4, 4), 255.0), r"\[0, 1\]"),
        (np.full((2, 4, 4), np.nan), "NaN"),
        (np.zeros((2, 4, 4), dtype=bool), "dtype"),
    ],
)
def test_bad_images_are_rejected_with_a_message_that_says_what_was_expected(array, message):
    with pytest.raises(ValueError, match=message):
        as_images(array)


def test_error_names_the_argument():
    with pytest.raises(ValueError, match="train_images"):
        as_images(np.zeros((4, 4)), name="train_images")


def test_a_single_rgb_image_is_refused_with_a_hint_to_add_the_batch_axis():
    with pytest.raises(ValueError, match=r"one RGB image, not a batch. Pass X\[None\]"):
        as_images(np.zeros((64, 64, 3), dtype=np.float32))
    assert as_images(np.zeros((64, 64, 3), dtype=np.float32)[None]).shape == (1, 64, 64, 3)
