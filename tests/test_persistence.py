"""save/load round-trips every detector without pickle, and refuses what it should."""

import json

import numpy as np
import pytest
import skops.io
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from anomaly_tutorial import persistence
from anomaly_tutorial.detectors import ONE_CLASS, SUPERVISED, make_detector


def _images(n=40, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.3, 0.7, size=(n, size, size)).astype(np.float32)


def _fitted(name):
    detector = make_detector(name, quick=True)
    images = _images()
    if name in SUPERVISED:
        images[30:, 4:10, 4:10] = 1.0
        return detector.fit(images, (np.arange(40) >= 30).astype(int)), images
    return detector.fit(images), images


@pytest.mark.parametrize("name", ONE_CLASS + SUPERVISED)
def test_loaded_detector_gives_the_same_scores_and_threshold(name, tmp_path):
    detector, images = _fitted(name)
    persistence.save(detector, tmp_path / "model", threshold=0.25)
    loaded = persistence.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.score_samples(images), detector.score_samples(images))
    np.testing.assert_array_equal(loaded.predict(images), detector.predict(images))
    assert persistence.load_threshold(tmp_path / "model") == 0.25
    assert type(loaded) is type(detector)
    # Saving must not strip anything from the detector that is still in use.
    np.testing.assert_allclose(detector.score_samples(images), loaded.score_samples(images))


def test_saving_an_unfitted_detector_is_refused(tmp_path):
    with pytest.raises(NotFittedError):
        persistence.save(make_detector("hog_ocsvm"), tmp_path / "model")


def test_an_existing_model_is_replaced_only_with_force(tmp_path):
    detector, _ = _fitted("hog_ocsvm")
    persistence.save(detector, tmp_path / "model", threshold=1.0)
    with pytest.raises(persistence.ModelFolderError, match="force=True"):
        persistence.save(detector, tmp_path / "model", threshold=2.0)
    assert persistence.load_threshold(tmp_path / "model") == 1.0
    persistence.save(detector, tmp_path / "model", threshold=2.0, force=True)
    assert persistence.load_threshold(tmp_path / "model") == 2.0


def test_a_folder_with_other_files_is_never_overwritten(tmp_path):
    detector, _ = _fitted("hog_ocsvm")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "holiday.png").write_bytes(b"precious")
    with pytest.raises(persistence.ModelFolderError, match="other files"):
        persistence.save(detector, tmp_path / "photos", force=True)
    assert (tmp_path / "photos" / "holiday.png").read_bytes() == b"precious"


def test_saving_into_a_missing_parent_or_onto_a_file_is_a_clear_error(tmp_path):
    detector, _ = _fitted("hog_ocsvm")
    with pytest.raises(persistence.ModelFolderError, match="does not exist"):
        persistence.save(detector, tmp_path / "missing" / "model")
    (tmp_path / "file").write_text("x")
    with pytest.raises(persistence.ModelFolderError, match="is a file"):
        persistence.save(detector, tmp_path / "file")


def test_loading_a_folder_that_is_not_a_model_names_the_path(tmp_path):
    with pytest.raises(persistence.ModelFolderError, match="not a folder"):
        persistence.load(tmp_path / "nowhere")
    with pytest.raises(persistence.ModelFolderError, match="not a saved anomaly-tutorial"):
        persistence.load(tmp_path)


def test_loading_rejects_foreign_or_newer_descriptions(tmp_path):
    detector, _ = _fitted("hog_ocsvm")
    path = persistence.save(detector, tmp_path / "model")
    meta_file = path / "detector.json"
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps(dict(meta, version=99)))
    with pytest.raises(persistence.ModelFolderError, match="version 99"):
        persistence.load(path)
    meta_file.write_text(json.dumps(dict(meta, format="something-else")))
    with pytest.raises(persistence.ModelFolderError, match="not an anomaly-tutorial"):
        persistence.load(path)
    meta_file.write_text("{not json")
    with pytest.raises(persistence.ModelFolderError, match="not valid JSON"):
        persistence.load(path)


class Foreign(StandardScaler):
    """A type from outside the package and scikit-learn: loading must refuse it."""


def test_loading_refuses_types_the_course_never_saves(tmp_path):
    detector, _ = _fitted("hog_ocsvm")
    path = persistence.save(detector, tmp_path / "model")
    skops.io.dump(Foreign().fit(np.ones((3, 2))), path / "detector.skops")
    with pytest.raises(persistence.ModelFolderError, match="Foreign"):
        persistence.load(path)
