import numpy as np
import pytest
from image_estimator_checks import EXPECTED_FAILED_CHECKS
from scipy import ndimage
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

from anomaly_tutorial import datasets
from anomaly_tutorial.detectors import (
    ONE_CLASS,
    SUPERVISED,
    anomaly_maps,
    choose_preset,
    conv_autoencoder,
    corruption,
    make_detector,
)
from anomaly_tutorial.detectors.base import ArraySource
from anomaly_tutorial.errors import InputError


def _stripes(n_images, size=16, seed=0):
    """Normal images: vertical stripes at a random phase, with mild noise."""
    rng = np.random.default_rng(seed)
    columns = np.arange(size)
    phases = rng.uniform(0, 2 * np.pi, n_images)
    images = 0.5 + 0.3 * np.sin(columns[np.newaxis, :] * 1.2 + phases[:, np.newaxis])
    images = np.repeat(images[:, np.newaxis, :], size, axis=1)
    images += 0.02 * rng.standard_normal(images.shape)
    return np.clip(images, 0, 1).astype(np.float32)


def _with_square(images, seed=0):
    """Anomalies: the same stripes with a black square pasted in."""
    rng = np.random.default_rng(seed)
    images = images.copy()
    for image in images:
        row, col = rng.integers(1, images.shape[1] - 7, size=2)
        image[row : row + 6, col : col + 6] = 0.0
    return images


@pytest.fixture(scope="module")
def data():
    normal = _stripes(64, seed=0)
    test_normal = _stripes(12, seed=1)
    return {"train": normal, "normal": test_normal, "anomalous": _with_square(_stripes(12, seed=2))}


@pytest.fixture(scope="module")
def fitted(data):
    return make_detector("conv_autoencoder", quick=True, epochs=15).fit(data["train"])


def test_defects_score_lower_than_normal_images(fitted, data):
    assert (
        fitted.score_samples(data["anomalous"]).max() < fitted.score_samples(data["normal"]).min()
    )


def test_predict_is_plus_or_minus_one_and_flags_the_defects(fitted, data):
    predictions = fitted.predict(np.concatenate([data["normal"], data["anomalous"]]))
    assert set(np.unique(predictions)) <= {-1, 1}
    assert np.all(predictions[len(data["normal"]) :] == -1)


def test_anomaly_map_is_highest_on_the_defect(fitted, data):
    anomalous = data["anomalous"]
    maps = fitted.anomaly_map(anomalous)
    defect = anomalous == 0.0
    assert maps.shape == anomalous.shape
    # The map's peak lies on the defect (give or take 2 pixels of smoothing) in nearly every image.
    in_plane = np.zeros((3, 3, 3), bool)
    in_plane[1] = True
    near_defect = ndimage.binary_dilation(defect, in_plane, iterations=2)
    peaks = maps.reshape(len(maps), -1).argmax(axis=1)
    assert near_defect.reshape(len(maps), -1)[np.arange(len(maps)), peaks].mean() >= 0.9


def test_changing_error_settings_after_fit_needs_normalize_errors_off(fitted, data):
    detector = clone(fitted).set_params(epochs=1).fit(data["train"])
    detector.set_params(smoothing_sigma=1.0)
    with pytest.raises(ValueError, match="Fit again"):
        detector.score_samples(data["normal"])
    detector.set_params(normalize_errors=False)
    assert np.all(np.isfinite(detector.score_samples(data["normal"])))


def test_history_holds_train_and_held_out_normal_losses(fitted):
    assert set(fitted.history_) == {"loss", "val_loss"}
    assert len(fitted.history_["val_loss"]) == fitted.n_epochs_ <= 15
    assert all(isinstance(value, float) for value in fitted.history_["loss"])


def test_offset_is_the_false_alarm_quantile_of_held_out_normal_scores(fitted, data):
    held_out = data["train"][fitted.validation_split(len(data["train"]))[1]]
    expected = np.quantile(fitted.score_samples(held_out), fitted.false_alarm_rate)
    assert fitted.offset_ == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("size", "channels"), [((25, 25), 1), ((28, 28), 3), ((8, 8), 1)])
def test_any_image_size_and_rgb_give_maps_at_the_input_size(size, channels):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, *size, channels), dtype=np.uint8)
    detector = make_detector("conv_autoencoder", quick=True, epochs=1).fit(images)
    assert detector.anomaly_map(images[:3]).shape == (3, *size)
    assert detector.reconstruct(images[:3]).shape == (3, *size, channels)
    assert np.all(np.isfinite(detector.score_samples(images)))


def test_uint8_images_score_like_floats(fitted, data):
    as_uint8 = np.round(data["normal"] * 255).astype(np.uint8)
    np.testing.assert_allclose(
        fitted.score_samples(as_uint8), fitted.score_samples(as_uint8 / np.float32(255)), rtol=1e-5
    )


def test_same_seed_gives_the_same_scores_and_another_seed_does_not(data):
    def scores(seed):
        detector = make_detector("conv_autoencoder", quick=True, random_state=seed, mask_rate=0.2)
        return detector.fit(data["train"]).score_samples(data["normal"])

    first = scores(0)
    np.testing.assert_array_equal(first, scores(0))
    assert not np.array_equal(first, scores(1))


def test_a_fitted_clone_keeps_the_parameters_and_trains_the_same_epochs(fitted, data):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "model_")
    copy.fit(data["train"])
    assert copy.n_epochs_ == fitted.n_epochs_
    np.testing.assert_allclose(
        copy.score_samples(data["normal"]), fitted.score_samples(data["normal"])
    )


@pytest.mark.parametrize("method", ["score_samples", "anomaly_map", "reconstruct", "predict"])
def test_unfitted_detector_raises_not_fitted_error(method, data):
    with pytest.raises(NotFittedError):
        getattr(make_detector("conv_autoencoder", quick=True), method)(data["normal"])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"reduction": "median"}, "reduction"),
        ({"epochs": 2.7}, "epochs"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"normalize_errors": "yes"}, "normalize_errors"),
        ({"validation_fraction": 0.0}, "validation_fraction"),
        ({"epochs": 0}, "epochs"),
        ({"mask_rate": 1.0}, "mask_rate"),
        ({"false_alarm_rate": 1.5}, "false_alarm_rate"),
        ({"filters": ()}, "filters"),
    ],
)
def test_bad_hyper_parameters_are_rejected_at_fit(params, match, data):
    with pytest.raises(ValueError, match=match):
        make_detector("conv_autoencoder", quick=True, **params).fit(data["train"])


def _tinted_noise(n_images=40, size=16, seed=0):
    """A colour texture: noise around one tint, alike at every position."""
    rng = np.random.default_rng(seed)
    tint = np.array([0.8, 0.5, 0.2])
    return np.clip(tint + 0.1 * rng.standard_normal((n_images, size, size, 3)), 0, 1)


def test_position_r2_does_not_count_a_colour_tint_as_position():
    images = _tinted_noise()
    r2 = conv_autoencoder.position_r2(images.mean(axis=0), images.std(axis=0))
    assert r2 < 0.05
    gray = images[..., :1]  # one channel: the same as the variance of the whole mean image
    expected = gray.mean(axis=0).var() / (gray.mean(axis=0).var() + gray.var(axis=0).mean())
    assert conv_autoencoder.position_r2(gray.mean(axis=0), gray.std(axis=0)) == pytest.approx(
        expected
    )


def test_choose_preset_calls_a_tinted_colour_texture_a_texture():
    assert conv_autoencoder.choose_preset(_tinted_noise()) == "texture"


def test_position_r2_separates_the_bundled_textures_from_aligned_objects():
    texture = datasets.load_textures("brick").train_images
    digits = datasets.load_digits_one_class(0).train_images
    threshold = conv_autoencoder.TEXTURE_BELOW
    r2 = {
        name: conv_autoencoder.position_r2(images.mean(axis=0), images.std(axis=0))
        for name, images in (("brick", texture), ("digits", digits))
    }
    assert r2["brick"] < threshold < r2["digits"], r2
    assert [conv_autoencoder.choose_preset(x) for x in (texture, digits)] == ["texture", "object"]
    # What the CLI, the benchmark and the protocols ask the registry, for any detector name:
    chosen = {name: choose_preset(name, digits) for name in (*ONE_CLASS, *SUPERVISED)}
    assert chosen == {**dict.fromkeys(chosen), "conv_autoencoder": "object"}


def test_latent_dim_none_keeps_the_feature_map_as_the_code(data):
    detector = make_detector("conv_autoencoder", quick=True, epochs=1, latent_dim=None)
    assert np.all(np.isfinite(detector.fit(data["train"]).score_samples(data["normal"])))


def test_a_single_image_cannot_be_split_for_validation(data):
    with pytest.raises(ValueError, match="Cannot hold out validation_fraction=0.2 of 1 image"):
        make_detector("conv_autoencoder", quick=True).fit(data["train"][:1])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_scikit_learn_api_checks_that_apply_to_image_detectors_pass():
    detector = make_detector("conv_autoencoder", quick=True, epochs=1)
    check_estimator(detector, expected_failed_checks=EXPECTED_FAILED_CHECKS)


def test_scores_do_not_depend_on_the_batch_they_come_in(fitted, data):
    images = np.concatenate([data["normal"], data["anomalous"]])
    together = fitted.score_samples(images)
    one_by_one = np.concatenate([fitted.score_samples(image[np.newaxis]) for image in images[:4]])
    np.testing.assert_allclose(together[:4], one_by_one, rtol=1e-5)
    np.testing.assert_allclose(fitted.score_samples(images[::-1]), together[::-1], rtol=1e-5)


def test_max_reduction_averages_the_top_fraction_and_zero_means_the_single_maximum():
    maps = np.arange(20, dtype=np.float32).reshape(1, 4, 5)
    assert anomaly_maps.image_scores(maps, "max", top_fraction=0.0)[0] == 19
    assert anomaly_maps.image_scores(maps, "max", top_fraction=0.1)[0] == 18.5
    assert anomaly_maps.image_scores(maps, "mean")[0] == pytest.approx(9.5)


def test_mse_error_map_is_the_squared_difference_averaged_over_channels():
    images = np.zeros((1, 4, 4, 3), np.float32)
    reconstructions = np.zeros_like(images)
    reconstructions[0, 1, 2] = (0.3, 0.0, 0.0)
    maps = conv_autoencoder.error_maps(images, reconstructions)
    assert maps.shape == (1, 4, 4)
    assert maps[0, 1, 2] == pytest.approx(0.03)
    assert maps.sum() == pytest.approx(0.03)


def test_image_scores_reject_an_unknown_reduction():
    with pytest.raises(ValueError, match="reduction"):
        anomaly_maps.image_scores(np.zeros((1, 8, 8), np.float32), "median")


def test_blob_corruption_hides_the_requested_share_only_while_training():
    images = _stripes(8, size=32)[..., np.newaxis]
    layer = corruption.RandomBlobCorruption(rate=0.25, blob_size=8, seed=0)
    damaged = np.asarray(layer(images, training=True))
    assert np.mean(damaged != images) == pytest.approx(0.25, abs=0.03)
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)
    copy = corruption.RandomBlobCorruption.from_config(layer.get_config())
    assert (copy.rate, copy.blob_size, copy.shift_share) == (0.25, 8, 0.5)


# -- presets: texture or object, chosen from the normal images --------------------------------
def _discs(n_images, size=16, seed=0, radius=4.0, square=False):
    """Aligned objects: a bright disc (or square) in the centre, mild noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size] - (size - 1) / 2
    shape = np.maximum(abs(rows), abs(cols)) <= radius if square else np.hypot(rows, cols) <= radius
    images = 0.2 + 0.6 * shape + 0.03 * rng.standard_normal((n_images, size, size))
    return np.clip(images, 0, 1).astype(np.float32)


def test_position_r2_calls_random_phase_stripes_a_texture_and_centred_discs_objects():
    def r2(images):
        return conv_autoencoder.position_r2(images.mean(axis=0), images.std(axis=0))

    assert r2(_stripes(64)) < 0.1 < r2(_discs(64))


def test_the_defaults_are_the_texture_preset_which_stripes_choose(fitted, data):
    assert conv_autoencoder.choose_preset(data["train"]) == "texture"
    texture = conv_autoencoder.PRESETS["texture"]
    assert {name: fitted.get_params()[name] for name in texture} == texture
    assert texture == {"latent_dim": None, "mask_rate": 0.25, "reduction": "max"}
    assert fitted.latent_dim_ is None and fitted.codes_ is None and fitted.maps_give_scores()


def test_choose_preset_reads_a_source_batch_by_batch(data, monkeypatch):
    read = []
    monkeypatch.setattr(ArraySource, "batch_size", lambda self: 7)
    monkeypatch.setattr(ArraySource, "read", lambda self, i: read.append(len(i)) or self.images[i])
    assert conv_autoencoder.choose_preset(ArraySource(data["train"])) == "texture"
    assert max(read) == 7 and sum(read) == len(data["train"])
    assert conv_autoencoder.choose_preset(ArraySource(_discs(64))) == "object"


def test_make_detector_applies_a_preset_and_names_the_known_ones_for_an_unknown_one():
    plain = make_detector("conv_autoencoder", preset="textbook", epochs=2)
    assert plain.get_params()["filters"] == (16, 32, 64) and plain.epochs == 2
    assert plain.get_params()["latent_dim"] == 64 and plain.reduction == "mean"
    with pytest.raises(InputError, match="Known presets: 'textbook', 'texture', 'object'"):
        make_detector("conv_autoencoder", preset="objects")
    with pytest.raises(InputError, match="Unknown preset 'texture' for hog_ocsvm"):
        make_detector("hog_ocsvm", preset="texture")


@pytest.fixture(scope="module")
def objects():
    train = _discs(64, seed=0)
    preset = conv_autoencoder.choose_preset(train)
    detector = make_detector("conv_autoencoder", preset, quick=True, epochs=15).fit(train)
    return detector, _discs(12, seed=1), _discs(12, seed=2, square=True)


def test_the_object_preset_on_aligned_discs(objects):
    detector, normal, other = objects
    settings = (detector.latent_dim, detector.mask_rate, detector.reduction)
    assert settings == ("sqrt", 0.0, "combined")
    assert detector.latent_dim_ == 16 and not detector.maps_give_scores()  # round(sqrt(16 * 16))
    with pytest.raises(ValueError, match="scores from the images"):
        detector.scores_from_maps(detector.anomaly_map(normal[:2]))
    assert detector.codes_.shape == (round(0.8 * 64), 16)


def test_combined_score_is_the_largest_z_score_and_flags_a_different_object(objects):
    detector, normal, other = objects
    z = detector.combined_scores(other)
    assert z.shape == (12, len(conv_autoencoder.COMBINED))
    np.testing.assert_allclose(detector.score_samples(other), -z.max(axis=1), rtol=1e-5)
    assert np.median(detector.score_samples(other)) < np.median(detector.score_samples(normal))


def test_explicit_settings_override_the_preset(data):
    detector = make_detector(
        "conv_autoencoder", "object", quick=True, epochs=1, latent_dim=4, reduction="max"
    ).fit(data["train"])
    assert (detector.latent_dim_, detector.mask_rate, detector.reduction) == (4, 0.0, "max")
    assert detector.model_.get_layer("encoder").output.shape[-1] == 4


def test_combined_scoring_without_a_dense_code_is_refused_before_training(data):
    detector = make_detector("conv_autoencoder", quick=True, latent_dim=None, reduction="combined")
    with pytest.raises(ValueError, match="reduction='combined' compares dense codes"):
        detector.fit(_discs(20))
    assert not hasattr(detector, "model_")


def test_build_model_resolves_the_sqrt_code_size_for_the_image_shape():
    detector = make_detector("conv_autoencoder", "object", quick=True)
    code = detector.build_model((16, 16, 1)).get_layer("encoder").output
    assert tuple(code.shape) == (None, 16)
    assert detector.code_size((28, 28, 1)) == 28 and detector.code_size((8, 8, 1)) == 8
    plain = conv_autoencoder.ConvAutoencoder(**conv_autoencoder.PLAIN)
    assert plain.build_model((16, 16, 1)).get_layer("encoder").output.shape[-1] == 64


def test_a_map_reduction_set_after_fit_is_used_and_combined_needs_a_refit(fitted, data):
    images = data["anomalous"]
    try:
        fitted.set_params(reduction="mean")
        expected = -fitted.anomaly_map(images).reshape(len(images), -1).mean(axis=1)
        np.testing.assert_allclose(fitted.score_samples(images), expected, rtol=1e-5)
        fitted.set_params(reduction="combined")
        with pytest.raises(ValueError, match="fitted with another reduction: fit again"):
            fitted.score_samples(images)
    finally:
        fitted.set_params(reduction="max")
    np.testing.assert_allclose(
        fitted.score_samples(images), fitted.scores_from_maps(fitted.anomaly_map(images)), rtol=1e-5
    )


def test_scores_from_maps_before_fit_is_a_not_fitted_error():
    with pytest.raises(NotFittedError):
        make_detector("conv_autoencoder").scores_from_maps(np.zeros((1, 8, 8)))
