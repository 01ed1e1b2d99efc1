"""Every registered detector honours the outlier API of design.md, exactly like OneClassSVM."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from anomaly_tutorial.detectors import ONE_CLASS, SUPERVISED, make_detector

ALL_DETECTORS = ONE_CLASS + SUPERVISED


def _easy_images(n_normal=48, n_anomalous=16, size=16, seed=0):
    """Normal: smooth horizontal gradients with mild noise. Anomalous: a bright square blob."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.2, 0.6, size, dtype=np.float32)
    base = np.broadcast_to(ramp, (size, size))
    normal = base + 0.03 * rng.standard_normal((n_normal, size, size)).astype(np.float32)
    anomalous = base + 0.03 * rng.standard_normal((n_anomalous, size, size)).astype(np.float32)
    for image in anomalous:
        row, col = rng.integers(2, size - 8, size=2)
        image[row : row + 6, col : col + 6] = 1.0
    return np.clip(normal, 0, 1), np.clip(anomalous, 0, 1)


def _fit(name, train_normal, train_anomalous, **params):
    detector = make_detector(name, quick=True, random_state=0, **params)
    if name in SUPERVISED:
        images = np.concatenate([train_normal, train_anomalous])
        labels = np.r_[np.zeros(len(train_normal)), np.ones(len(train_anomalous))].astype(int)
        return detector.fit(images, labels)
    return detector.fit(train_normal)


@pytest.fixture(scope="module")
def data():
    normal, anomalous = _easy_images()
    return {
        "train_normal": normal[:32],
        "train_anomalous": anomalous[:8],
        "test_normal": normal[32:],
        "test_anomalous": anomalous[8:],
    }


@pytest.fixture(scope="module")
def fitted(data):
    return {
        name: _fit(name, data["train_normal"], data["train_anomalous"]) for name in ALL_DETECTORS
    }


def test_registry_lists_the_four_course_methods():
    assert set(ALL_DETECTORS) == {"hog_ocsvm", "labeled_regressor", "conv_autoencoder", "deep_svdd"}
    assert not set(ONE_CLASS) & set(SUPERVISED)


def test_unknown_detector_name_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown detector 'svm'.*hog_ocsvm"):
        make_detector("svm")


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_fit_returns_the_detector_itself(name, data):
    detector = make_detector(name, quick=True)
    if name in SUPERVISED:
        images = np.concatenate([data["train_normal"], data["train_anomalous"]])
        labels = np.r_[np.zeros(32), np.ones(8)].astype(int)
        assert detector.fit(images, labels) is detector
    else:
        assert detector.fit(data["train_normal"]) is detector


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_score_samples_is_higher_for_normal_images(name, fitted, data):
    detector = fitted[name]
    normal_scores = detector.score_samples(data["test_normal"])
    anomalous_scores = detector.score_samples(data["test_anomalous"])
    assert normal_scores.shape == (len(data["test_normal"]),)
    assert np.median(normal_scores) > np.median(anomalous_scores)


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_decision_function_is_score_minus_offset_and_predict_is_plus_minus_one(name, fitted, data):
    detector = fitted[name]
    images = np.concatenate([data["test_normal"], data["test_anomalous"]])
    scores = detector.score_samples(images)
    decision = detector.decision_function(images)
    offset = decision[0] - scores[0]
    np.testing.assert_allclose(scores - decision, -offset, rtol=1e-5, atol=1e-6)
    predictions = detector.predict(images)
    assert set(np.unique(predictions)) <= {-1, 1}
    np.testing.assert_array_equal(predictions == -1, decision < 0)


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_unfitted_detector_raises_not_fitted_error(name, data):
    with pytest.raises(NotFittedError):
        make_detector(name, quick=True).score_samples(data["test_normal"])


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_clone_keeps_every_hyper_parameter(name):
    detector = make_detector(name, quick=True, random_state=7)
    assert _plain(clone(detector)) == _plain(detector)


def _plain(value):
    """Constructor arguments all the way down (estimators themselves compare by identity)."""
    if hasattr(value, "get_params"):
        params = value.get_params(deep=False)
        return (type(value).__name__, {key: _plain(item) for key, item in params.items()})
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_uint8_input_scores_like_the_same_images_as_floats(name, fitted, data):
    detector = fitted[name]
    as_uint8 = np.round(data["test_normal"] * 255).astype(np.uint8)
    np.testing.assert_allclose(
        detector.score_samples(as_uint8),
        detector.score_samples(as_uint8.astype(np.float32) / 255),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_channel_axis_is_optional_for_grayscale(name, fitted, data):
    detector = fitted[name]
    np.testing.assert_allclose(
        detector.score_samples(data["test_normal"]),
        detector.score_samples(data["test_normal"][..., np.newaxis]),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_images_of_another_size_are_rejected(name, fitted):
    with pytest.raises(ValueError):
        fitted[name].score_samples(np.zeros((2, 12, 12), dtype=np.float32))
