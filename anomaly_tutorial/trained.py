"""Networks the course trained once and ships, so that Run All of a notebook takes a minute.

Each notebook fits its Keras models through a :class:`Store` (introduced in notebook 02)::

    store = trained.Store("03", train=TRAIN_FROM_SCRATCH)
    detector = store.fit(make_detector("conv_autoencoder"), images)  # a fitted detector
    history = store.fit_keras(model, images, images, epochs=20)  # a plain Keras model

A fit whose class (or layers, initial weights and optimizer), parameters and data match a
shipped one (a SHA-256 of them names the files in ``data/trained/03/``) loads its saved model,
weights and history: the same numbers as training here, in a second. Anything else trains here.
``make models`` sets ``ANOMALY_TUTORIAL_RETRAIN=1`` to train every model again into
``data/trained/NN.new/``, keeping the shipped files of a model whose weights came back bit for
bit the same, so that ``git status`` shows what changed.
"""

import hashlib
import json
import numbers
import shutil
import sys
import time
import weakref
from pathlib import Path

import numpy as np

from anomaly_tutorial import persistence, runtime
from anomaly_tutorial.datasets.bundled import DATA_DIR

#: Where the shipped networks live: one folder per notebook.
TRAINED_DIR = DATA_DIR / "trained"
#: Set by ``make models``: train every model and write it to ``<notebook>.new``.
RETRAIN = runtime.flag("ANOMALY_TUTORIAL_RETRAIN")
# Parameters that change what is printed, not what is learnt.
_NOT_LEARNT = frozenset({"verbose"})


class Store:
    """The shipped models of one notebook (``data/trained/<notebook>``).

    Parameters
    ----------
    notebook : str
        The notebook's number, e.g. ``"03"``: the folder the models are kept in.
    train : bool, default=False
        Train every model here instead of loading the shipped one.
    folder : path, default=None
        Another folder to keep the models in; default ``data/trained/<notebook>``.
    save_to : path, default=None
        Train every model and write it here (the shipped files when the weights came out the
        same, bit for bit), with a line per model in ``rebuild.log``. Default with
        :data:`RETRAIN`: ``data/trained/<notebook>.new``; else nothing is written.
    """

    def __init__(self, notebook: str, train: bool = False, folder=None, save_to=None):
        self.folder = Path(folder) if folder is not None else TRAINED_DIR / notebook
        if save_to is None and RETRAIN:
            save_to = self.folder.with_name(self.folder.name + ".new")
        self.save_to = None if save_to is None else Path(save_to)
        self.train = bool(train) or self.save_to is not None
        self._seconds = weakref.WeakKeyDictionary()

    def fit(self, detector, X, y=None):
        """``detector.fit(X, y)`` (arrays: their bytes are part of the key), or the shipped
        detector fitted on the same data; returns ``detector`` or the loaded copy."""
        from anomaly_tutorial.detectors import detector_name

        name = detector_name(detector)
        params = {
            key: value
            for key, value in detector.get_params(deep=False).items()
            if key not in _NOT_LEARNT
        }
        key = _digest(name, params, X, y)
        folder = self.folder / f"{name}-{key}"
        record = folder.with_suffix(".json")
        source = self._source(folder, record)
        if source is not None:
            fitted = persistence.load(source / folder.name)
            fitted.set_params(
                **{k: v for k, v in detector.get_params(deep=False).items() if k in _NOT_LEARNT}
            )
            self._seconds[fitted] = _read_record(source / record.name)["fit_seconds"]
            return fitted
        self._say_training(name, record)
        started = time.perf_counter()
        detector.fit(X) if y is None else detector.fit(X, y)
        self._seconds[detector] = seconds = time.perf_counter() - started
        if self.save_to is not None:
            same = record.is_file() and folder.is_dir()  # its attributes and weights, as saved:
            same = same and _same(detector._get_state(), persistence.load(folder)._get_state())
            if not self._keep(same, [folder, record]):
                persistence.save(detector, self.save_to / folder.name, force=True)
                content = {"detector": name, "params": repr(params), "fit_seconds": seconds}
                _write_record(self.save_to / record.name, content)
        return detector

    def fit_keras(self, model, x, y=None, **fit_kwargs) -> dict:
        """``model.fit(x, y, verbose=0, **fit_kwargs)`` on a compiled ``model``, or the shipped
        weights of that same fit; returns the history as ``{"loss": [...], ...}``."""
        key = _digest(
            _architecture(model),
            [np.asarray(weight) for weight in model.get_weights()],
            _optimizer(model),
            x,
            y,
            fit_kwargs,
        )
        weights = self.folder / f"keras-{key}.npz"
        record = weights.with_name(f"keras-{key}.json")
        source = self._source(weights, record)
        if source is not None:
            model.set_weights(_read_weights(source / weights.name))
            saved = _read_record(source / record.name)
            self._seconds[model] = saved["fit_seconds"]
            return saved["history"]
        self._say_training(f"Keras model {model.name!r}", record)
        started = time.perf_counter()
        history = model.fit(x, y, verbose=0, **fit_kwargs).history
        self._seconds[model] = seconds = time.perf_counter() - started
        history = {k: [float(v) for v in values] for k, values in history.items()}
        if self.save_to is not None:
            same = record.is_file() and weights.is_file()
            if same:
                same = _same(model.get_weights(), _read_weights(weights))
                same = same and _read_record(record)["history"] == history
            if not self._keep(same, [weights, record]):
                np.savez(self.save_to / weights.name, *model.get_weights())
                _write_record(
                    self.save_to / record.name, {"history": history, "fit_seconds": seconds}
                )
        return history

    def _source(self, entry: Path, record: Path):
        """The folder to load ``entry`` from, or None to train it: a rebuild trains each model
        once (the same fit met again in the run is loaded from ``save_to``); otherwise the
        shipped folder, unless ``train``."""
        if self.save_to is not None:
            done = self.save_to / record.name
            return self.save_to if done.is_file() and (self.save_to / entry.name).exists() else None
        if not self.train and record.is_file() and entry.exists():
            return self.folder
        return None

    def _keep(self, same: bool, shipped: list[Path]) -> bool:
        """In ``save_to``: copy the ``shipped`` files if ``same``, and log the verdict."""
        self.save_to.mkdir(parents=True, exist_ok=True)
        verdict = "same weights, bit for bit: kept" if same else "new or changed: written"
        with open(self.save_to / "rebuild.log", "a", encoding="utf-8") as log:
            log.write(f"{shipped[0].name}: {verdict}\n")
        if same and self.save_to.resolve() != self.folder.resolve():
            for path in shipped:
                if path.is_dir():
                    shutil.copytree(path, self.save_to / path.name, dirs_exist_ok=True)
                else:
                    shutil.copy2(path, self.save_to / path.name)
        return same

    def fit_seconds(self, fitted) -> float:
        """Seconds the training of ``fitted`` (a detector or Keras model from this store) took:
        here, or when the shipped model was trained."""
        return self._seconds[fitted]

    def _say_training(self, what: str, record: Path) -> None:
        if not self.train:
            where = (
                "this notebook's shipped models" if record.parent.is_dir() else "anything shipped"
            )
            print(f"Training {what} here: it matches none of {where}.", file=sys.stderr)


def _read_weights(path: Path) -> list:
    with np.load(path, allow_pickle=False) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def _read_record(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _same(first, second) -> bool:
    """Equal to the bit: arrays, containers, numbers and strings."""
    if isinstance(first, np.ndarray) or isinstance(second, np.ndarray):
        first, second = np.asarray(first), np.asarray(second)
        return first.dtype == second.dtype and np.array_equal(first, second, equal_nan=True)
    if isinstance(first, dict):
        return (
            isinstance(second, dict)
            and first.keys() == second.keys()
            and all(_same(first[key], second[key]) for key in first)
        )
    if isinstance(first, list | tuple):
        return (
            isinstance(second, list | tuple)
            and len(first) == len(second)
            and all(_same(a, b) for a, b in zip(first, second, strict=True))
        )
    if isinstance(first, numbers.Number) and isinstance(second, numbers.Number):
        # NumPy's scalars come back from JSON as Python's (np.int64(240) as 240)
        integral = isinstance(first, numbers.Integral), isinstance(second, numbers.Integral)
        return integral[0] == integral[1] and first == second
    return type(first) is type(second) and first == second


def _write_record(path: Path, content: dict) -> None:
    content = {**content, "trained_on": runtime.machine_description()}
    path.write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")


def _architecture(model) -> list:
    # Layer classes and settings in order, without the names Keras numbers per session (conv2d_3
    # on a second run of a cell is conv2d) and the settings that are off (None or False): newer
    # Keras versions add such settings (3.15's Dense "quantization_config": None), and the same
    # network must load the same shipped weights on every Keras since 3.8.
    return [
        (
            type(layer).__name__,
            _without_off({k: v for k, v in layer.get_config().items() if k != "name"}),
        )
        for layer in model.layers
    ]


def _without_off(value):
    """A layer's config without the settings that are None or False, at every depth."""
    if isinstance(value, dict):
        return {
            key: _without_off(item)
            for key, item in value.items()
            if item is not None and item is not False
        }
    if isinstance(value, list | tuple):
        return [_without_off(item) for item in value]
    return value


def _optimizer(model):
    if getattr(model, "optimizer", None) is None:
        raise ValueError(f"Compile the Keras model {model.name!r} before fitting it.")
    config = {k: v for k, v in model.optimizer.get_config().items() if k != "name"}
    return [type(model.optimizer).__name__, config, repr(model.loss)]


def _digest(*parts) -> str:
    hasher = hashlib.sha256()
    _feed(hasher, parts)
    return hasher.hexdigest()[:16]


def _feed(hasher, value) -> None:
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        hasher.update(f"array{array.dtype.str}{array.shape}".encode())
        hasher.update(array.tobytes())
    elif isinstance(value, dict):
        hasher.update(b"dict")
        for key in sorted(value, key=str):
            _feed(hasher, key)
            _feed(hasher, value[key])
    elif isinstance(value, list | tuple):
        hasher.update(f"seq{len(value)}".encode())
        for item in value:
            _feed(hasher, item)
    elif value is None or isinstance(value, bool | int | float | str | np.generic):
        hasher.update(repr(value).encode())
    elif hasattr(value, "get_config"):  # e.g. a Keras callback or loss
        _feed(hasher, [type(value).__name__, value.get_config()])
    elif hasattr(value, "__dict__") and type(value).__module__.startswith("keras"):
        simple = {k: v for k, v in vars(value).items() if isinstance(v, int | float | str | bool)}
        _feed(hasher, [type(value).__name__, simple])
    else:
        raise TypeError(
            f"Cannot key a shipped model on a {type(value).__name__}: pass arrays and plain "
            "values (read a folder with datasets.load_folder first)."
        )


__all__ = ["RETRAIN", "TRAINED_DIR", "Store"]
