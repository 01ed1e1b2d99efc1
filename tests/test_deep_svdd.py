"""Deep SVDD (notebook 04): the outlier contract plus what Ruff et al. (2018) require of it."""

import keras
import numpy as np
import pytest
from image_estimator_checks import EXPECTED_FAILED_CHECKS
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

from anomaly_tutorial import persistence
from anomaly_tutorial.detectors import deep_svdd, make_detector
from anomaly_tutorial.detectors.deep_svdd import DeepSVDD, SoftBoundaryLoss, squared_distance


def _easy_images(n_normal=48, n_anomalous=16, size=16, seed=0):
    """Normal: a smooth gradient with mild noise. Anomalous: the same with a bright square."""
    rng = np.random.default_rng(seed)
    base = np.broadcast_to(np.linspace(0.2, 0.6, size, dtype=np.float32), (size, size))
    normal = base + 0.03 * rng.standard_normal((n_normal, size, size), dtype=np.float32)
    anomalous = base + 0.03 * rng.standard_normal((n_anomalous, size, size), dtype=np.float32)
    for image in anomalous:
        row, col = rng.integers(2, size - 8, size=2)
        image[row : row + 6, col : col + 6] = 1.0
    return np.clip(normal, 0, 1), np.clip(anomalous, 0, 1)


@pytest.fixture(scope="module")
def data():
    normal, anomalous = _easy_images()
    return {"train": normal[:32], "test_normal": normal[32:], "test_anomalous": anomalous}


@pytest.fixture(scope="module")
def fitted(data):
    return make_detector("deep_svdd", quick=True).fit(data["train"])


def _layer_biases(model):
    """Every weight of ``model`` (nested models included) that is a bias or a BatchNorm shift."""
    return [
        weight.path
        for weight in model.weights
        if weight.path.rsplit("/", 1)[-1] in ("bias", "beta", "gamma")
    ]


def test_anomalies_score_lower_than_held_out_normal_images(fitted, data):
    normal = fitted.score_samples(data["test_normal"])
    anomalous = fitted.score_samples(data["test_anomalous"])
    assert np.median(normal) > np.median(anomalous)


def test_score_samples_is_minus_the_squared_distance_to_the_centre(fitted, data):
    features = fitted.features(data["test_normal"])
    expected = -np.sum((features - fitted.c_) ** 2, axis=1)
    np.testing.assert_allclose(fitted.score_samples(data["test_normal"]), expected, rtol=1e-5)
    assert features.shape == (len(data["test_normal"]), fitted.latent_dim)


def test_predict_returns_plus_one_or_minus_one_cut_at_offset(fitted, data):
    images = np.concatenate([data["test_normal"], data["test_anomalous"]])
    predictions = fitted.predict(images)
    assert set(np.unique(predictions)) <= {-1, 1}
    np.testing.assert_array_equal(predictions == -1, fitted.score_samples(images) < fitted.offset_)


def test_clone_keeps_every_hyper_parameter():
    detector = make_detector(
        "deep_svdd", quick=True, objective="soft-boundary", nu=0.2, random_state=3
    )
    assert clone(detector).get_params() == detector.get_params()


def test_make_detector_passes_parameters_through():
    detector = make_detector("deep_svdd", quick=True, latent_dim=4, use_bias=True)
    assert isinstance(detector, DeepSVDD)
    assert (detector.latent_dim, detector.use_bias, detector.epochs) == (4, True, 3)


def test_unfitted_detector_raises_not_fitted_error(data):
    with pytest.raises(NotFittedError):
        DeepSVDD().score_samples(data["test_normal"])


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((8, 8), np.float32),
        ((25, 25), np.float32),
        ((28, 28, 1), np.float32),
        ((25, 25, 3), np.uint8),
    ],
)
def test_any_image_size_and_channel_count_is_accepted(shape, dtype):
    rng = np.random.default_rng(0)
    images = rng.random((12, *shape)).astype(np.float32)
    if dtype == np.uint8:
        images = (images * 255).astype(np.uint8)
    detector = make_detector("deep_svdd", quick=True, epochs=1).fit(images)
    scores = detector.score_samples(images)
    assert scores.shape == (12,)
    assert np.all(np.isfinite(scores)) and np.all(scores <= 0)


def test_same_seed_gives_the_same_scores_and_another_seed_does_not(fitted, data):
    assert fitted.random_state == 0  # the fixture's fit is the first seed-0 fit
    scores = [fitted.score_samples(data["test_normal"])] + [
        make_detector("deep_svdd", quick=True, random_state=seed)
        .fit(data["train"])
        .score_samples(data["test_normal"])
        for seed in (0, 1)
    ]
    np.testing.assert_array_equal(scores[0], scores[1])
    assert not np.allclose(scores[0], scores[2])


@pytest.mark.parametrize("batch_norm", [False, True])
def test_feature_network_has_no_bias_terms(fitted, data, batch_norm):
    detector = fitted
    if batch_norm:
        detector = make_detector("deep_svdd", quick=True, epochs=1, batch_norm=True).fit(
            data["train"]
        )
    assert _layer_biases(detector.model_) == []
    for layer in detector.model_.layers:
        assert not getattr(layer, "use_bias", False), layer.name
        if isinstance(layer, keras.layers.BatchNormalization):
            assert not layer.center and not layer.scale
    assert any(isinstance(layer, keras.layers.Dense) for layer in detector.model_.layers)


def test_use_bias_true_puts_bias_terms_back_for_the_collapse_demonstration(data):
    network = make_detector("deep_svdd", quick=True, use_bias=True).build_network((16, 16, 1))
    assert _layer_biases(network)


def test_only_a_network_with_biases_can_map_every_image_to_the_centre(fitted, data):
    # The trivial solution of the paper (Proposition 2): all weights 0, last bias = c.
    centre = fitted.c_
    for use_bias in (False, True):
        network = make_detector("deep_svdd", quick=True, use_bias=use_bias).build_network(
            (16, 16, 1)
        )
        zeros = [np.zeros_like(weight) for weight in network.get_weights()]
        if use_bias:
            zeros[-1] = centre
        network.set_weights(zeros)
        features = network.predict(data["test_anomalous"][..., np.newaxis], verbose=0)
        distances = np.sum((features - centre) ** 2, axis=1)
        if use_bias:
            np.testing.assert_allclose(distances, 0.0, atol=1e-12)
        else:
            np.testing.assert_allclose(distances, np.sum(centre**2), rtol=1e-6)


def test_centre_has_no_coordinate_near_zero(fitted):
    assert fitted.c_.shape == (fitted.latent_dim,)
    assert np.all(np.abs(fitted.c_) >= deep_svdd.CENTER_EPS)


def test_centre_is_the_mean_feature_with_near_zero_coordinates_pushed_out():
    features = np.array([[-0.02, 0.0, 0.05, 0.5, -0.3], [0.0, 0.0, 0.05, 0.7, -0.5]])
    centre = deep_svdd.initial_center(features, eps=0.1)
    np.testing.assert_allclose(centre, [-0.1, 0.1, 0.1, 0.6, -0.4], rtol=1e-6)


def test_loss_is_the_squared_distance_summed_over_features():
    centre = np.array([[1.0, -1.0], [1.0, -1.0]], dtype=np.float32)
    features = np.array([[1.0, -1.0], [3.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(squared_distance(centre, features)), [0, 5]
    )


def test_soft_boundary_loss_only_penalises_images_outside_the_radius():
    loss = SoftBoundaryLoss(nu=0.5, radius=2.0)
    centre = np.zeros((2, 2), dtype=np.float32)
    features = np.array([[1.0, 0.0], [3.0, 0.0]], dtype=np.float32)  # distances 1 and 9
    # R^2 + mean(max(0, d - R^2)) / nu = 4 + (0 + 5) / 2 / 0.5
    np.testing.assert_allclose(float(loss(centre, features)), 4.0 + 5.0, rtol=1e-6)


def test_soft_boundary_leaves_about_nu_of_the_training_images_outside_the_radius(data):
    detector = make_detector(
        "deep_svdd", quick=True, objective="soft-boundary", nu=0.25, epochs=4, warm_up_epochs=1
    ).fit(data["train"])
    assert detector.radius_ > 0
    outside = -detector.score_samples(data["train"]) > detector.radius_**2
    assert 0.05 <= outside.mean() <= 0.5


def test_history_records_training_and_held_out_normal_loss(fitted):
    assert len(fitted.history_["loss"]) == fitted.epochs
    assert len(fitted.history_["val_loss"]) == fitted.epochs


def test_pretraining_trains_an_autoencoder_first(fitted, data):
    detector = make_detector("deep_svdd", quick=True, epochs=1, pretrain_epochs=2).fit(
        data["train"]
    )
    assert len(detector.pretrain_history_["loss"]) == 2
    assert fitted.pretrain_epochs == 0 and fitted.pretrain_history_ == {}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("objective", "two-class"),
        ("nu", 0.0),
        ("nu", 1.5),
        ("validation_fraction", 0.0),
        ("epochs", 0),
        ("batch_size", 0),
        ("latent_dim", 0),
        ("latent_dim", None),
        ("epochs", 2.7),
        ("use_bias", "no"),
        ("pretrain_epochs", -1),
        ("warm_up_epochs", -1),
        ("learning_rate", 0.0),
        ("weight_decay", -1.0),
        ("false_alarm_rate", 1.0),
    ],
)
def test_bad_hyper_parameters_are_rejected_with_a_value_error_naming_them(data, param, value):
    detector = make_detector("deep_svdd", quick=True, **{param: value})
    with pytest.raises(ValueError, match=param):
        detector.fit(data["train"])


def test_fit_needs_at_least_two_images(data):
    with pytest.raises(ValueError, match="Cannot hold out"):
        make_detector("deep_svdd", quick=True).fit(data["train"][:1])


def test_scoring_images_of_another_size_is_a_value_error(fitted):
    with pytest.raises(ValueError, match="fitted on 16x16"):
        fitted.score_samples(np.zeros((2, 12, 12), dtype=np.float32))


def test_fitted_detector_saves_and_loads_without_pickle(fitted, data, tmp_path):
    path = persistence.save(fitted, tmp_path / "deep_svdd")
    loaded = persistence.load(path)
    np.testing.assert_allclose(
        loaded.score_samples(data["test_normal"]), fitted.score_samples(data["test_normal"])
    )
    assert loaded.offset_ == fitted.offset_


def test_scikit_learn_estimator_checks_that_apply_pass():
    """What still runs on a detector of images: cloning, params, repr, tags, unfitted errors."""
    results = check_estimator(
        make_detector("deep_svdd", quick=True),
        expected_failed_checks=EXPECTED_FAILED_CHECKS,
        on_skip=None,
    )
    passed = {result["check_name"] for result in results if result["status"] == "passed"}
    assert {"check_estimators_unfitted", "check_get_params_invariance", "check_set_params"} <= (
        passed
    )
