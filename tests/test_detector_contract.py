"""Every registered detector honours the outlier API (README, "Conventions"), like OneClassSVM."""

import doctest
import importlib
import random

import numpy as np
import pytest
from image_estimator_checks import EXPECTED_FAILED_CHECKS
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

from anomaly_tutorial.detectors import ONE_CLASS, SUPERVISED, detector_class, make_detector

ALL_DETECTORS = ONE_CLASS + SUPERVISED
#: The detectors trained by Keras (they have ``epochs``).
KERAS = [name for name in ALL_DETECTORS if "epochs" in detector_class(name)().get_params()]


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
    # 40 training images make two steps an epoch: the labelled network needs more epochs than
    # its quick setting to learn the square on every backend and seed.
    extra = {"labeled_regressor": {"epochs": 30}}
    return {
        name: make_detector(name, quick=True, **extra.get(name, {})).fit(*_training_set(name, data))
        for name in ALL_DETECTORS
    }


def test_registry_lists_the_five_course_methods():
    assert set(ALL_DETECTORS) == {
        "hog_ocsvm",
        "labeled_regressor",
        "conv_autoencoder",
        "deep_svdd",
        "patch_knn",
    }
    assert not set(ONE_CLASS) & set(SUPERVISED)


def test_unknown_detector_name_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown detector 'svm'.*hog_ocsvm"):
        make_detector("svm")


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
def test_n_features_in_counts_the_numbers_of_one_image(name, fitted):
    # scikit-learn's convention for what fit saw; the image's own shape is image_shape_.
    assert not hasattr(make_detector(name), "n_features_in_")
    height, width, channels = fitted[name].image_shape_
    assert fitted[name].n_features_in_ == height * width * channels


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_images_of_another_size_are_rejected(name, fitted):
    with pytest.raises(ValueError):
        fitted[name].score_samples(np.zeros((2, 12, 12), dtype=np.float32))


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_registry_defaults_are_the_class_defaults(name):
    cls = detector_class(name)
    assert make_detector(name).get_params() == cls().get_params()
    quick = make_detector(name, quick=True, random_state=3).get_params()
    assert quick == cls(random_state=3, **cls.QUICK_PARAMS).get_params()
    assert cls.__module__ == f"anomaly_tutorial.detectors.{name}"


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_unknown_parameter_is_a_value_error_naming_the_valid_ones(name):
    with pytest.raises(ValueError, match="Invalid parameter 'nb_epoch'.*random_state"):
        make_detector(name, nb_epoch=3)


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_offset_flags_the_false_alarm_rate_of_held_out_normal_images(name, fitted, data):
    detector = fitted[name]
    images, labels = _training_set(name, data)
    held_out = detector.validation_split(len(images), labels)[1]
    normal = held_out if labels is None else held_out[labels[held_out] == 0]
    scores = detector.score_samples(images[normal])
    assert detector.offset_ == pytest.approx(np.quantile(scores, detector.false_alarm_rate))
    assert np.mean(detector.predict(images[normal]) == -1) <= detector.false_alarm_rate + 0.2


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_set_threshold_moves_offset_without_refitting(name, fitted, data):
    detector = fitted[name]  # shared: its fitted offset_ is put back at the end
    fitted_offset = detector.offset_
    normal = data["test_normal"]
    before = detector.score_samples(normal)
    try:
        assert detector.set_threshold(normal, false_alarm_rate=0.5) is detector
        assert detector.offset_ == pytest.approx(np.quantile(before, 0.5))
        assert np.mean(detector.predict(normal) == -1) == pytest.approx(0.5, abs=0.1)
        np.testing.assert_array_equal(detector.score_samples(normal), before)
        detector.set_threshold(normal)  # None: the constructor's false_alarm_rate
        assert detector.offset_ == pytest.approx(np.quantile(before, detector.false_alarm_rate))
        with pytest.raises(ValueError, match="false_alarm_rate"):
            detector.set_threshold(normal, false_alarm_rate=1.0)
    finally:
        detector.offset_ = fitted_offset


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_fit_returns_the_detector_itself_and_leaves_the_global_random_state_alone(name, data):
    images, labels = _training_set(name, data)
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002  (the legacy global RNG a learner may use)
    expected = random.random(), np.random.random()  # noqa: NPY002
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002
    detector = make_detector(name, quick=True, **_fast(name))
    assert detector.fit(images, labels) is detector
    assert (random.random(), np.random.random()) == expected  # noqa: NPY002


@pytest.mark.parametrize("name", ALL_DETECTORS)
@pytest.mark.parametrize(
    ("param", "value"),
    [("validation_fraction", 1.0), ("false_alarm_rate", -0.1), ("random_state", "seed")],
)
def test_shared_parameters_are_checked_at_fit(name, param, value, data):
    images, labels = _training_set(name, data)
    with pytest.raises(ValueError, match=f"The '{param}' parameter of"):
        make_detector(name, quick=True, **{param: value}).fit(images, labels)


@pytest.mark.parametrize("name", KERAS)
def test_epochs_must_be_a_whole_number(name, data):
    images, labels = _training_set(name, data)
    with pytest.raises(ValueError, match="The 'epochs' parameter of .* must be an int"):
        make_detector(name, quick=True, epochs=2.7).fit(images, labels)


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_a_single_rgb_image_is_refused_with_a_hint(name, fitted):
    with pytest.raises(ValueError, match=r"X\[None\]"):
        fitted[name].score_samples(np.zeros((16, 16, 3), dtype=np.float32))


@pytest.mark.parametrize("module", [*ALL_DETECTORS, "base", "corruption"])
def test_the_examples_in_the_docstrings_run(module):
    module = importlib.import_module(f"anomaly_tutorial.detectors.{module}")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(module, module.__name__):
        runner.run(test)
    assert runner.summarize(verbose=False).attempted > 0
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.parametrize("name", ["hog_ocsvm", "patch_knn"])
def test_scikit_learn_checks_that_apply_pass(name):
    results = check_estimator(
        make_detector(name), expected_failed_checks=EXPECTED_FAILED_CHECKS, on_skip=None
    )
    passed = {result["check_name"] for result in results if result["status"] == "passed"}
    assert {
        "check_estimators_unfitted",
        "check_get_params_invariance",
        "check_set_params",
    } <= passed


def _training_set(name, data):
    """``(images, labels)`` as ``fit`` takes them; labels are None for one-class detectors."""
    if name in SUPERVISED:
        images = np.concatenate([data["train_normal"], data["train_anomalous"]])
        labels = np.r_[np.zeros(len(data["train_normal"])), np.ones(len(data["train_anomalous"]))]
        return images, labels
    return data["train_normal"], None


def _fast(name):
    return {"epochs": 1} if name in KERAS else {}
