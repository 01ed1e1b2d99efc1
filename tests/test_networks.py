import numpy as np
import pytest

from anomaly_tutorial.detectors import networks


@pytest.mark.parametrize(
    ("size", "n_downsamplings", "expected"),
    [
        ((8, 8), 3, (8, 8)),
        ((25, 25), 3, (32, 32)),
        ((28, 28), 3, (32, 32)),
        ((28, 30), 2, (28, 32)),
    ],
)
def test_padded_size_is_the_smallest_multiple_of_two_to_the_n(size, n_downsamplings, expected):
    assert networks.padded_size(*size, n_downsamplings) == expected


def test_padded_size_rejects_negative_downsamplings():
    with pytest.raises(ValueError, match="n_downsamplings"):
        networks.padded_size(8, 8, -1)


@pytest.mark.parametrize("size", [(25, 25), (28, 27), (8, 8), (3, 5)])
def test_crop_maps_undoes_pad_images(size):
    rng = np.random.default_rng(0)
    images = rng.random((2, *size, 3)).astype(np.float32)
    target = networks.padded_size(*size, 3)
    padded = networks.pad_images(images, target)
    assert padded.shape == (2, *target, 3)
    np.testing.assert_array_equal(networks.crop_maps(padded, size), images)
    np.testing.assert_array_equal(networks.crop_maps(padded[..., 0], size), images[..., 0])


def test_pad_images_reflects_the_border_instead_of_adding_zeros():
    images = np.full((1, 5, 5, 1), 0.5, dtype=np.float32)
    padded = networks.pad_images(images, (8, 8))
    assert np.all(padded == 0.5)


def test_pad_images_rejects_a_target_smaller_than_the_images():
    with pytest.raises(ValueError, match="target_hw"):
        networks.pad_images(np.zeros((1, 8, 8, 1)), (4, 8))


@pytest.mark.parametrize(("size", "channels"), [((8, 8), 1), ((25, 25), 3), ((28, 28), 1)])
@pytest.mark.parametrize("latent_dim", [16, None])
def test_encoder_and_decoder_round_trip_any_padded_image_size(size, channels, latent_dim):
    filters = (8, 16, 32)
    shape = (*networks.padded_size(*size, len(filters)), channels)
    encoder = networks.build_encoder(shape, filters, latent_dim)
    decoder = networks.build_decoder(shape, filters, latent_dim)
    images = np.random.default_rng(0).random((2, *shape)).astype(np.float32)
    codes = encoder.predict(images, verbose=0)
    if latent_dim is None:
        assert codes.shape == (2, shape[0] // 8, shape[1] // 8, filters[-1])
    else:
        assert codes.shape == (2, latent_dim)
    reconstructions = decoder.predict(codes, verbose=0)
    assert reconstructions.shape == (2, *shape)
    assert reconstructions.min() >= 0.0 and reconstructions.max() <= 1.0


@pytest.mark.parametrize("builder", [networks.build_encoder, networks.build_decoder])
@pytest.mark.parametrize("latent_dim", [16, None])
def test_use_bias_false_leaves_no_bias_or_batchnorm_shift_anywhere(builder, latent_dim):
    model = builder((16, 16, 1), (8, 16), latent_dim, use_bias=False, batch_norm=True)
    names = [weight.path for weight in model.weights]
    assert not [name for name in names if "bias" in name or "beta" in name or "gamma" in name]
    assert [name for name in names if "moving_mean" in name], "batch_norm=True adds BN layers"


def test_use_bias_true_keeps_biases():
    encoder = networks.build_encoder((16, 16, 1), (8, 16), 4)
    assert any("bias" in weight.path for weight in encoder.weights)


def test_encoder_without_bias_maps_black_images_to_the_zero_code():
    # Deep SVDD (notebook 04) relies on this: with no bias and activations that keep 0 at 0,
    # nothing can push every image to a constant point away from the origin.
    encoder = networks.build_encoder((16, 16, 1), (8, 16), 4, use_bias=False)
    codes = encoder.predict(np.zeros((1, 16, 16, 1), np.float32), verbose=0)
    np.testing.assert_array_equal(codes, 0.0)


def test_encoder_rejects_unpadded_input_shape():
    with pytest.raises(ValueError, match="divisible by"):
        networks.build_encoder((25, 25, 1), (8, 16, 32), 4)


@pytest.mark.parametrize(
    ("filters", "latent_dim", "match"), [((), 4, "filters"), ((8,), 0, "latent_dim")]
)
def test_builders_reject_bad_arguments(filters, latent_dim, match):
    with pytest.raises(ValueError, match=match):
        networks.build_encoder((16, 16, 1), filters, latent_dim)
    with pytest.raises(ValueError, match=match):
        networks.build_decoder((16, 16, 1), filters, latent_dim)
