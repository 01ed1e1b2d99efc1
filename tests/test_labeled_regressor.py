"""The labelled detector (notebook 02): outlier API, labels, cloning, any image size."""

import numpy as np
import pytest
from image_estimator_checks import EXPECTED_FAILED_CHECKS
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.utils.estimator_checks import check_estimator

from anomaly_tutorial import persistence
from anomaly_tutorial.detectors import SUPERVISED, make_detector
from anomaly_tutorial.detectors.labeled_regressor import LabeledRegressor


def blemished_images(n_per_class=24, shape=(16, 16, 1), random_state=0):
    """Faint noise (label 0) and the same with a bright square somewhere (label 1)."""
    rng = np.random.default_rng(random_state)
    height, width, _ = shape
    images = 0.4 + 0.1 * rng.random((2 * n_per_class, *shape))
    side = max(2, min(height, width) // 3)
    for image in images[n_per_class:]:
        top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
        image[top : top + side, left : left + side] = 1.0
    labels = np.repeat([0, 1], n_per_class)
    return images.astype(np.float32), labels


def auroc(detector, images, labels):
    return roc_auc_score(labels, -detector.score_samples(images))


@pytest.fixture(scope="module")
def data():
    return blemished_images()


@pytest.fixture(scope="module")
def fitted(data):
    images, labels = data
    return LabeledRegressor(epochs=40).fit(images, labels)


@pytest.fixture(scope="module")
def one_epoch(data):
    """One epoch on the int labels: what the label tests compare with (they only read it)."""
    images, labels = data
    return LabeledRegressor(epochs=1).fit(images, labels)


def test_labeled_regressor_is_registered_as_supervised():
    assert "labeled_regressor" in SUPERVISED
    detector = make_detector("labeled_regressor", quick=True, head="classifier")
    assert isinstance(detector, LabeledRegressor)
    assert detector.head == "classifier"
    assert detector.epochs < LabeledRegressor().epochs


def test_registry_defaults_are_the_class_defaults():
    registry = make_detector("labeled_regressor").get_params()
    assert registry == LabeledRegressor().get_params()
    assert (registry["features"], registry["epochs"], registry["batch_size"]) == ("pixels", 15, 16)


def test_registry_rejects_unknown_parameter_naming_the_valid_ones():
    with pytest.raises(ValueError, match="nb_epoch.*Valid parameters are.*epochs"):
        make_detector("labeled_regressor", nb_epoch=3)


def test_score_samples_is_minus_the_network_output(fitted, data):
    images, _ = data
    outputs = fitted.model_.predict(fitted._network_input(images), verbose=0).ravel()
    np.testing.assert_allclose(fitted.score_samples(images), -outputs, rtol=1e-5, atol=1e-6)


def test_labelled_anomalies_score_lower_than_normal_images(fitted, data):
    images, labels = data
    assert auroc(fitted, images, labels) > 0.9


def test_offset_flags_the_false_alarm_rate_of_held_out_normal_images(fitted, data):
    images, labels = data
    held_out = fitted.validation_split(len(images), labels.astype(np.float32))[1]
    normal = held_out[labels[held_out] == 0]
    expected = np.quantile(fitted.score_samples(images[normal]), fitted.false_alarm_rate)
    assert fitted.offset_ == pytest.approx(expected)
    predictions = fitted.predict(images)
    np.testing.assert_array_equal(
        predictions, np.where(fitted.score_samples(images) < expected, -1, 1)
    )


def test_held_out_part_is_stratified_and_gives_a_validation_loss(fitted, data):
    images, labels = data
    held_out = fitted.validation_split(len(images), labels.astype(np.float32))[1]
    assert 0 < labels[held_out].mean() < 1
    assert len(fitted.history_["val_loss"]) == len(fitted.history_["loss"]) == 40


def test_cloned_detector_trains_for_the_requested_number_of_epochs(data):
    images, labels = data
    detector = clone(LabeledRegressor(features="hog", epochs=3, batch_size=16, hidden_units=(5,)))
    assert detector.get_params()["epochs"] == 3
    detector.fit(images, labels)
    assert len(detector.history_["loss"]) == 3
    assert detector.model_.layers[1].units == 5


def test_grid_search_trains_each_candidate_with_its_own_epochs(data):
    images, labels = data

    def roc_auc(estimator, X, y):
        return roc_auc_score(y, -estimator.score_samples(X))

    search = GridSearchCV(
        LabeledRegressor(batch_size=16),
        {"epochs": [2, 4]},
        scoring=roc_auc,
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    ).fit(images, labels)
    best_epochs = search.best_params_["epochs"]
    assert len(search.best_estimator_.history_["loss"]) == best_epochs


def test_cross_val_score_runs_with_a_supervised_scorer(data):
    images, labels = data
    scores = cross_val_score(
        LabeledRegressor(epochs=2, batch_size=16),
        images,
        labels,
        scoring=lambda estimator, X, y: roc_auc_score(y, -estimator.score_samples(X)),
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    )
    assert scores.shape == (2,)
    assert np.all(np.isfinite(scores))


def test_same_random_state_gives_the_same_scores(data):
    images, labels = data
    first = LabeledRegressor(epochs=3, random_state=1).fit(images, labels)
    second = LabeledRegressor(epochs=3, random_state=1).fit(images, labels)
    np.testing.assert_allclose(first.score_samples(images), second.score_samples(images))


def test_unfitted_detector_raises_not_fitted_error(data):
    images, _ = data
    with pytest.raises(NotFittedError):
        LabeledRegressor().score_samples(images)
    with pytest.raises(NotFittedError):
        LabeledRegressor().predict(images)


def test_fit_without_labels_says_the_detector_is_supervised(data):
    images, _ = data
    with pytest.raises(ValueError, match="supervised"):
        LabeledRegressor(epochs=1).fit(images)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 1, 2, 1] * 12), "only 0 .normal. and 1"),
        (np.array([-1, 1] * 24), "only 0 .normal. and 1"),
        (np.array(["good", "scratch"] * 24), "dtype"),
        (np.zeros(48), "both classes"),
        (np.ones(48), "both classes"),
        (np.r_[np.zeros(47), 1], "at least 2 images each"),
        (np.array([0, 1] * 10), "one label per image"),
        (np.zeros((48, 1)), "1-D"),
    ],
)
def test_labels_must_be_0_and_1_with_both_classes(data, labels, message):
    images, _ = data
    with pytest.raises(ValueError, match=message):
        LabeledRegressor(epochs=1).fit(images, labels)


def test_boolean_and_float_labels_give_the_same_detector_as_ints(data, one_epoch):
    images, labels = data
    assert labels.dtype.kind == "i"
    scores = [one_epoch.score_samples(images[:6])] + [
        LabeledRegressor(epochs=1).fit(images, labels.astype(kind)).score_samples(images[:6])
        for kind in (bool, float)
    ]
    np.testing.assert_array_equal(scores[1], scores[0])
    np.testing.assert_array_equal(scores[2], scores[0])


def test_fit_predict_passes_the_labels_on(data, one_epoch):
    # OutlierMixin.fit_predict(X, y) calls fit(X): the labels were dropped, and fit refused.
    images, labels = data
    predicted = LabeledRegressor(epochs=1).fit_predict(images, labels)
    expected = one_epoch.predict(images)
    np.testing.assert_array_equal(predicted, expected)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"features": "rgb"}, "features"),
        ({"head": "softmax"}, "head"),
        ({"hidden_units": (13, 0)}, "hidden_units"),
        ({"filters": 16}, "filters"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"epochs": 2.7}, "epochs"),
        ({"hidden_units": None, "filters": ()}, "filters"),
        ({"false_alarm_rate": "5 %"}, "false_alarm_rate"),
    ],
)
def test_bad_parameters_are_rejected_at_fit(data, params, message):
    images, labels = data
    with pytest.raises(ValueError, match=message):
        LabeledRegressor(**params).fit(images, labels)


@pytest.mark.parametrize("features", ["hog", "pixels"])
@pytest.mark.parametrize("shape", [(8, 8, 1), (25, 25, 1), (64, 64, 3)])
def test_both_feature_modes_work_on_any_image_size(features, shape):
    images, labels = blemished_images(n_per_class=6, shape=shape)
    detector = LabeledRegressor(features=features, epochs=2, filters=(4, 8))
    scores = detector.fit(images, labels).score_samples(images)
    assert scores.shape == (12,)
    assert np.all(np.isfinite(scores))


def test_uint8_rgb_images_are_accepted():
    images, labels = blemished_images(n_per_class=6, shape=(25, 25, 3))
    as_uint8 = np.round(images * 255).astype(np.uint8)
    detector = LabeledRegressor(features="pixels", epochs=1, filters=(4,)).fit(as_uint8, labels)
    np.testing.assert_allclose(
        detector.score_samples(as_uint8), detector.score_samples(as_uint8 / 255.0), atol=1e-5
    )


def test_default_network_is_the_seed_on_hog_and_a_plain_cnn_on_pixels(data):
    images, labels = data
    hog = LabeledRegressor(features="hog", epochs=1).fit(images, labels)
    assert [layer.units for layer in hog.model_.layers[1:]] == [13, 6, 1]
    cnn = LabeledRegressor(features="pixels", epochs=1, filters=(4, 6)).fit(images, labels)
    kinds = [type(layer).__name__ for layer in cnn.model_.layers]
    assert kinds.count("Conv2D") == 2
    assert kinds.count("Dense") == 1  # the pooled filters feed the output unit directly


def test_bigger_hog_cells_give_fewer_inputs(data):
    images, labels = data
    fine = LabeledRegressor(features="hog", epochs=1, pixels_per_cell=2).fit(images, labels)
    coarse = LabeledRegressor(features="hog", epochs=1, pixels_per_cell=8).fit(images, labels)
    assert coarse.model_.input_shape[1] < fine.model_.input_shape[1]


def test_classifier_head_outputs_a_probability(data):
    images, labels = data
    detector = LabeledRegressor(head="classifier", epochs=3).fit(images, labels)
    assert detector.model_.loss == "binary_crossentropy"
    outputs = -detector.score_samples(images)
    assert np.all((outputs >= 0) & (outputs <= 1))


@pytest.mark.parametrize("features", ["hog", "pixels"])
def test_fitted_detector_saves_and_loads_without_pickle(tmp_path, data, features):
    import keras  # after anomaly_tutorial, which configures TensorFlow first

    images, labels = data
    detector = LabeledRegressor(features=features, epochs=1, filters=(4,)).fit(images, labels)
    loaded = persistence.load(persistence.save(detector, tmp_path / "labeled"))
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in loaded.model_.layers)
    np.testing.assert_allclose(loaded.score_samples(images), detector.score_samples(images))


def test_scikit_learn_estimator_checks_that_apply_pass():
    """What still runs: cloning, params, repr, tags, unfitted errors, y required, 1-D X."""
    results = check_estimator(
        LabeledRegressor(epochs=1),
        expected_failed_checks=EXPECTED_FAILED_CHECKS,
        on_skip=None,
    )
    passed = {r["check_name"] for r in results if r["status"] == "passed"}
    assert {"check_estimators_unfitted", "check_requires_y_none", "check_set_params"} <= passed
