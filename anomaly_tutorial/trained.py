"""Networks the course trained once and ships, so that Run All of a notebook takes a minute.

Training every network of notebooks 02 to 05 takes about half an hour on a 2-core laptop. So
each notebook fits its Keras models through a :class:`Store` (introduced in notebook 02)::

    TRAIN_FROM_SCRATCH = False  # True: train every network of this notebook here
    store = trained.Store("03", train=TRAIN_FROM_SCRATCH)
    detector = store.fit(make_detector("conv_autoencoder"), images)  # a fitted detector
    history = store.fit_keras(model, images, images, epochs=20)  # a plain Keras model

``store.fit`` looks in ``data/trained/03/`` for a detector of the same class, fitted with the
same parameters on the same images (a SHA-256 of all three names the folder) and loads it with
:func:`anomaly_tutorial.persistence.load`: the same numbers as training it here, in a second.
``store.fit_keras`` does the same for a plain Keras model: the same layers, initial weights,
optimizer, data and ``fit`` arguments load the same trained weights (an ``.npz`` of arrays read
with ``allow_pickle=False``, set with ``model.set_weights``) and return the same history. When
nothing matches (you changed a parameter, the images or a layer) or ``train=True``, the model is
trained here, as usual.

``make models`` rebuilds the shipped networks from scratch: it runs every notebook with
``ANOMALY_TUTORIAL_RETRAIN=1``, which trains each model and writes it to
``data/trained/NN.new/``, then puts that folder in place of ``data/trained/NN/`` (models the
notebook no longer fits are gone). A model whose weights came back bit for bit the same keeps
the shipped files, so ``git status`` shows exactly what changed. Training is deterministic
(seeds, 2 threads, deterministic kernels, oneDNN capped at AVX2: README, "Same numbers").
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
#: Set by ``make models``: train every model and write it to the store.
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
        Train every model and write it to this folder: the shipped files when the weights came
        out the same, bit for bit, else the new ones; each model adds a line to its
        ``rebuild.log``. Default ``data/trained/<notebook>.new`` when :data:`RETRAIN` is set
        (``make models``), else nothing is written.
    """

    def __init__(self, notebook: str, train: bool = False, folder=None, save_to=None):
        self.folder = Path(folder) if folder is not None else TRAINED_DIR / notebook
        if save_to is None and RETRAIN:
            save_to = self.folder.with_name(self.folder.name + ".new")
        self.save_to = None if save_to is None else Path(save_to)
        self.train = bool(train) or self.save_to is not None
        self._seconds = weakref.WeakKeyDictionary()

    def fit(self, detector, X, y=None):
        """``detector.fit(X, y)``, or the shipped detector fitted on the same data.

        ``X`` (and ``y``) must be arrays: their bytes are part of the key. Returns the fitted
        detector: ``detector`` itself when trained here, a loaded copy otherwise.
        """
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
            saved = json.loads((source / record.name).read_text(encoding="utf-8"))
            self._seconds[fitted] = saved["fit_seconds"]
            return fitted
        self._say_training(name, record)
        started = time.perf_counter()
        detector.fit(X) if y is None else detector.fit(X, y)
        seconds = time.perf_counter() - started
        self._seconds[detector] = seconds
        if self.save_to is not None:
            shipped = persistence.load(folder) if record.is_file() and folder.is_dir() else None
            if not self._keep(shipped is not None and _same(_state(detector), _state(shipped)),
                              [folder, record]):  # fmt: skip
                persistence.save(detector, self.save_to / folder.name, force=True)
                content = {"detector": name, "params": repr(params), "fit_seconds": seconds}
                _write_record(self.save_to / record.name, content)
        return detector

    def fit_keras(self, model, x, y=None, **fit_kwargs) -> dict:
        """``model.fit(x, y, verbose=0, **fit_kwargs)``, or the shipped weights of that same fit.

        ``model`` must be built and compiled. Returns the history as
        ``{"loss": [...], ...}``; afterwards ``model`` holds the trained weights either way.
        """
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
            with np.load(source / weights.name, allow_pickle=False) as saved:
                model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
            saved = json.loads((source / record.name).read_text(encoding="utf-8"))
            self._seconds[model] = saved["fit_seconds"]
            return saved["history"]
        self._say_training(f"Keras model {model.name!r}", record)
        started = time.perf_counter()
        history = model.fit(x, y, verbose=0, **fit_kwargs)
        seconds = time.perf_counter() - started
        self._seconds[model] = seconds
        history = {k: [float(v) for v in values] for k, values in history.history.items()}
        if self.save_to is not None:
            same = record.is_file() and weights.is_file()
            if same:
                with np.load(weights, allow_pickle=False) as saved:
                    shipped = [saved[f"arr_{i}"] for i in range(len(saved.files))]
                saved_history = json.loads(record.read_text(encoding="utf-8"))["history"]
                same = _same(model.get_weights(), shipped) and saved_history == history
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


def _state(detector) -> dict:
    """What a fitted detector learnt, as it is saved: its attributes and network weights."""
    values, weights = detector._get_state()
    return {**values, **weights}


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
    # Layer classes and their settings in order, without the names Keras numbers per session
    # (conv2d_3 on a second run of a cell is the same layer as conv2d), and without the
    # settings that are off (None or False): newer Keras versions add settings to the configs,
    # off by default (Keras 3.15 has Dense's "quantization_config": None and InputLayer's
    # "optional": False; 3.8 has neither), and the same network must load the same shipped
    # weights on every Keras since 3.8. Within one version a class has the same settings.
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
