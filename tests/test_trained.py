"""The store of shipped networks: the same fit loads the same model; any change trains."""

import json
import shutil

import keras
import numpy as np
import pytest

from anomaly_tutorial import datasets, runtime, trained
from anomaly_tutorial.detectors import make_detector


@pytest.fixture(scope="module")
def brick():
    return datasets.load_textures("brick", part="dev").subset(n_train=24, n_test_per_type=2)


def _entries(folder, recursive=False):
    """The model files of a store folder (not its rebuild.log)."""
    paths = folder.rglob("*") if recursive else folder.iterdir()
    return [path for path in paths if path.name != "rebuild.log"]


def _detector(**params):
    return make_detector("conv_autoencoder", quick=True, **params)


@pytest.fixture(scope="module")
def written(brick, tmp_path_factory):
    """A store folder with one detector written into it (trained once for the whole module),
    the fitted detector and its training seconds."""
    folder = tmp_path_factory.mktemp("shipped")
    writer = trained.Store("xx", folder=folder, save_to=folder)
    fitted = writer.fit(_detector(), brick.train_images)
    return folder, fitted, writer.fit_seconds(fitted)


@pytest.fixture
def shipped(written, tmp_path):
    """A copy of the written store folder, for a test to read (or add to)."""
    shutil.copytree(written[0], tmp_path, dirs_exist_ok=True)
    return tmp_path


def test_store_loads_the_detector_it_saved_with_the_same_scores(written, brick):
    shipped, fitted, seconds = written
    folder, record = sorted(_entries(shipped))  # the model folder and its record
    assert folder.is_dir() and record == folder.with_suffix(".json")
    reader = trained.Store("xx", folder=shipped)
    loaded = reader.fit(_detector(), brick.train_images)
    assert loaded is not fitted
    np.testing.assert_array_equal(
        loaded.score_samples(brick.test_images), fitted.score_samples(brick.test_images)
    )
    assert loaded.offset_ == fitted.offset_
    assert loaded.history_ == fitted.history_
    assert reader.fit_seconds(loaded) == seconds > 0


def test_store_trains_when_a_parameter_or_the_images_change(shipped, brick, capsys):
    reader = trained.Store("xx", folder=shipped)
    changed = _detector(epochs=2)
    assert reader.fit(changed, brick.train_images) is changed  # trained here, not loaded
    assert "Training conv_autoencoder here" in capsys.readouterr().err
    other_images = brick.train_images[::-1].copy()
    mine = _detector()
    assert reader.fit(mine, other_images) is mine
    assert len(list(_entries(shipped))) == 2  # a reader never writes


def test_store_ignores_verbose_and_keeps_the_callers_value(shipped, brick):
    loaded = trained.Store("xx", folder=shipped).fit(_detector(verbose=1), brick.train_images)
    assert loaded.verbose == 1 and hasattr(loaded, "offset_")


def test_train_true_trains_even_when_a_shipped_model_matches(shipped, brick):
    mine = _detector()
    assert trained.Store("xx", folder=shipped, train=True).fit(mine, brick.train_images) is mine


def _model(seed=0, units=4):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


def test_fit_keras_loads_the_same_weights_and_history(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    writer = trained.Store("xx", folder=tmp_path, save_to=tmp_path)
    first = _model()
    history = writer.fit_keras(first, x, y, epochs=3, batch_size=8)
    assert sorted(path.suffix for path in _entries(tmp_path)) == [".json", ".npz"]
    second = _model()  # the same layers and seed, in a new session of layer names
    assert trained.Store("xx", folder=tmp_path).fit_keras(second, x, y, epochs=3, batch_size=8) == (
        history
    )
    for mine, theirs in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 1},  # other initial weights
        {"units": 5},  # another layer
        {"epochs": 4},  # another fit
    ],
)
def test_fit_keras_trains_when_anything_that_shapes_the_weights_changes(tmp_path, change):
    x = np.ones((8, 3), dtype=np.float32)
    trained.Store("xx", folder=tmp_path, save_to=tmp_path).fit_keras(
        _model(), x, x[:, :1], epochs=3
    )
    model = _model(**{k: v for k, v in change.items() if k != "epochs"})
    history = trained.Store("xx", folder=tmp_path).fit_keras(
        model, x, x[:, :1], epochs=change.get("epochs", 3)
    )
    assert len(history["loss"]) == change.get("epochs", 3)
    assert len(list(_entries(tmp_path))) == 2


def test_fit_keras_asks_for_a_compiled_model(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="Compile the Keras model"):
        trained.Store("xx", folder=tmp_path).fit_keras(model, np.ones((2, 3)), np.ones((2, 1)))


def test_store_refuses_what_it_cannot_key(tmp_path):
    source = datasets.image_source  # a lazy folder reader: its bytes are not at hand
    with pytest.raises(TypeError, match="pass arrays"):
        trained.Store("xx", folder=tmp_path).fit(_detector(), source)


def test_record_says_where_the_model_was_trained(written):
    record = json.loads(next(written[0].glob("*.json")).read_text())
    assert record["trained_on"].startswith(f"{runtime.os.cpu_count()} CPU cores")


def test_a_rebuild_keeps_the_shipped_files_when_the_weights_come_back_the_same(
    shipped, tmp_path_factory, brick
):
    # shipped: the detector _detector() fitted on brick.train_images, written by a Store
    rebuilt = tmp_path_factory.mktemp("rebuilt") / "xx.new"
    x = np.ones((8, 3), dtype=np.float32)
    trained.Store("xx", folder=shipped, save_to=shipped).fit_keras(_model(), x, x[:, :1], epochs=2)
    before = {path.name: path.stat().st_mtime_ns for path in _entries(shipped, recursive=True)}
    store = trained.Store("xx", folder=shipped, save_to=rebuilt)
    store.fit(_detector(), brick.train_images)  # trained again: same seed, same weights
    store.fit_keras(_model(), x, x[:, :1], epochs=2)
    store.fit_keras(_model(units=6), x, x[:, :1], epochs=2)  # a model that was not shipped
    log = (rebuilt / "rebuild.log").read_text().splitlines()
    assert [line.split(": ", 1)[1] for line in log] == [
        "same weights, bit for bit: kept",
        "same weights, bit for bit: kept",
        "new or changed: written",
    ]
    for path in _entries(shipped, recursive=True):  # the shipped bytes, copied as they were
        copy = rebuilt / path.relative_to(shipped)
        assert copy.exists() and copy.stat().st_mtime_ns == before[path.name]
    assert len(list(rebuilt.glob("keras-*.npz"))) == 2


def test_same_tells_bit_for_bit_equality():
    assert trained._same(
        {"a": np.array([1.0, 2.0]), "b": [0.5, "x"]}, {"a": np.array([1.0, 2.0]), "b": [0.5, "x"]}
    )
    assert not trained._same(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))
    assert not trained._same(np.array([1.0]), np.array([1.0], dtype=np.float32))
    assert not trained._same({"a": 1}, {"a": 1, "b": 2})
    assert trained._same({"n": np.int64(240)}, {"n": 240})  # as JSON gives it back
    assert not trained._same(np.int64(1), 1.0)


def test_a_rebuild_trains_each_fit_once(tmp_path, brick):
    store = trained.Store("03", folder=tmp_path / "03", save_to=tmp_path / "03.new")
    first = store.fit(_detector(), brick.train_images)
    again = _detector()
    loaded = store.fit(again, brick.train_images)  # the same fit, later in the notebook
    assert loaded is not again and loaded.offset_ == first.offset_
    assert len((tmp_path / "03.new" / "rebuild.log").read_text().splitlines()) == 1


def test_the_key_of_a_keras_model_ignores_settings_that_newer_keras_adds_switched_off(monkeypatch):
    # Keras 3.15 adds Dense's "quantization_config": None and InputLayer's "optional": False,
    # which 3.8 lacks: the same network must find the same shipped weights on both.
    def model(use_bias):
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, use_bias=use_bias)])

    before = trained._architecture(model(True))
    config = keras.layers.Dense.get_config
    monkeypatch.setattr(
        keras.layers.Dense,
        "get_config",
        lambda layer: {**config(layer), "added_later": None, "also_added": False},
    )
    assert trained._architecture(model(True)) == before
    assert trained._architecture(model(False)) != before  # a setting that is used still counts
