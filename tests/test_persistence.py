"""save/load round-trips every detector as plain data, and never loses or changes anything.

Crafted and damaged model folders are in the Python-API bad-input matrix (test_bad_inputs.py).
"""

import functools
import json

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from anomaly_tutorial import persistence
from anomaly_tutorial.detectors import ONE_CLASS, SUPERVISED, make_detector
from anomaly_tutorial.errors import ModelFolderError


def _images(n=40, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.3, 0.7, size=(n, size, size)).astype(np.float32)


@functools.cache  # fitted once per module: the tests only read the detector and its images
def _fitted(name):
    detector = make_detector(name, quick=True)
    images = _images()
    if name in SUPERVISED:
        images[30:, 4:10, 4:10] = 1.0
        return detector.fit(images, (np.arange(40) >= 30).astype(int)), images
    return detector.fit(images), images


@pytest.fixture(scope="module")
def hog():
    return _fitted("hog_ocsvm")[0]


@pytest.mark.parametrize("name", ONE_CLASS + SUPERVISED)
def test_loaded_detector_gives_the_same_scores_predictions_and_threshold(name, tmp_path):
    detector, images = _fitted(name)
    before = dict(vars(detector))
    persistence.save(detector, tmp_path / "model")
    assert vars(detector).keys() == before.keys()
    assert all(vars(detector)[key] is value for key, value in before.items())  # untouched
    loaded = persistence.load(tmp_path / "model")
    assert type(loaded) is type(detector)
    assert loaded.get_params() == detector.get_params()
    assert loaded.offset_ == detector.offset_
    np.testing.assert_allclose(loaded.score_samples(images), detector.score_samples(images))
    np.testing.assert_array_equal(loaded.predict(images), detector.predict(images))


def test_a_model_folder_holds_json_and_arrays_only_no_network_file(tmp_path):
    detector, _ = _fitted("conv_autoencoder")
    path = persistence.save(detector, tmp_path / "model")
    assert sorted(file.name for file in path.iterdir()) == ["arrays.npz", "detector.json"]
    meta = json.loads((path / "detector.json").read_text())
    assert (meta["version"], meta["detector"]) == (4, "conv_autoencoder")
    assert "offset_" in meta["state"] and "model_" not in meta["state"]
    with np.load(path / "arrays.npz") as arrays:  # the network's weights, numbered, no config
        weights = sorted(name for name in arrays.files if name.startswith("model_."))
        assert len(weights) == len(detector.model_.weights) and "error_mean_" in arrays.files


def test_a_folder_of_format_3_with_layout_auto_is_refused_as_older(tmp_path):
    """Format 3 had conv_autoencoder's layout="auto" (now presets): a clear error, not a
    parameter mismatch."""
    detector, _ = _fitted("conv_autoencoder")
    path = persistence.save(detector, tmp_path / "model")
    meta = json.loads((path / "detector.json").read_text())
    meta["version"] = 3
    meta["params"].update(layout="auto", texture_threshold=0.1, error="mse", loss="mse")
    meta["state"].update(position_r2_=0.004, layout_="texture", mask_rate_=0.25, reduction_="max")
    (path / "detector.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFolderError, match=r"saved by an older version .*\(format 3\)"):
        persistence.load(path)


@pytest.mark.parametrize("name", ONE_CLASS)
def test_a_retired_option_loads_at_the_value_now_fixed_and_is_refused_at_another(name, tmp_path):
    """Options that no recipe used were removed (``RETIRED``): a model the earlier release saved
    with the value the class now always uses loads as it was; one with another value would
    score differently, so it gets a clear "older version" error naming the option."""
    detector, images = _fitted(name)
    path = persistence.save(detector, tmp_path / "model")
    meta = json.loads((path / "detector.json").read_text())
    retired = type(detector).RETIRED
    meta["params"].update(retired)
    (path / "detector.json").write_text(json.dumps(meta))
    loaded = persistence.load(path)
    assert loaded.get_params() == detector.get_params()
    np.testing.assert_allclose(loaded.score_samples(images), detector.score_samples(images))
    option = sorted(retired)[0]
    meta["params"][option] = [7] if retired[option] is None else retired[option] * 2
    (path / "detector.json").write_text(json.dumps(meta))
    match = rf"saved by an older version of anomaly-tutorial with {option}=.*no longer has"
    with pytest.raises(ModelFolderError, match=match):
        persistence.load(path)


def test_a_failed_save_leaves_the_detector_and_the_target_as_they_were(hog, tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    before = {key: value for key, value in vars(hog).items()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(ModelFolderError, match="disk full"):
        persistence.save(hog, tmp_path / "empty")
    assert vars(hog) == before
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())
    assert sorted(path.name for path in tmp_path.iterdir()) == ["empty"]  # no staging left
    monkeypatch.undo()
    assert persistence.load(persistence.save(hog, tmp_path / "empty")).offset_ == hog.offset_


def test_a_failed_replacement_keeps_the_earlier_model(hog, tmp_path, monkeypatch):
    path = persistence.save(hog, tmp_path / "model")
    before = (path / "detector.json").read_bytes()
    monkeypatch.setattr(np, "savez", lambda *args, **kwargs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        persistence.save(hog, path, force=True)
    assert (path / "detector.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_saving_an_unfitted_detector_is_refused(tmp_path):
    with pytest.raises(NotFittedError):
        persistence.save(make_detector("hog_ocsvm"), tmp_path / "model")


def test_an_existing_model_is_replaced_only_with_force(hog, tmp_path):
    path = persistence.save(hog, tmp_path / "model")
    with pytest.raises(persistence.ModelFolderError, match="force=True"):
        persistence.save(hog, path)
    other = make_detector("hog_ocsvm", nu=0.5).fit(_images())
    persistence.save(other, path, force=True)
    assert persistence.load(path).nu == 0.5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_model_folder_with_a_users_file_is_never_replaced(hog, tmp_path):
    path = persistence.save(hog, tmp_path / "model")
    (path / "notes.txt").write_text("precious")
    with pytest.raises(persistence.ModelFolderError, match=r"did not write \(notes.txt\)"):
        persistence.save(hog, path, force=True)
    assert (path / "notes.txt").read_text() == "precious"


def test_check_writable_never_deletes_an_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    persistence.check_writable(tmp_path / "empty")
    assert (tmp_path / "empty").is_dir()


def test_persistence_uses_only_the_public_api_of_scikit_learn_and_keras():
    """A scikit-learn or Keras release must not break saving or loading: every private name
    persistence touches is one the detectors define themselves (their declared state)."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(persistence.__file__).read_text(encoding="utf-8"))
    touched = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and node.attr[1] != "_"
    }
    assert touched <= {"_get_state", "_set_state", "_state_spec", "_from_params", "_networks"}
    by_name = [  # getattr(x, "_private") would hide a private name from the check above
        node.args[1].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "getattr"
        if isinstance(node.args[1], ast.Constant) and str(node.args[1].value).startswith("_")
    ]
    assert by_name == []
    modules = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [module for module in modules if any(p.startswith("_") for p in module.split("."))]
