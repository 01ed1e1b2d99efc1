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
``ANOMALY_TUTORIAL_RETRAIN=1``, which trains each model and writes it back. Training is
deterministic on one machine (seeds, fixed threads, deterministic kernels), so the weights come
back bit for bit there; another CPU may round differently (README, "Same numbers").
"""

import hashlib
import json
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
    save : bool, default=None
        Train every model and write it to ``folder``, replacing the shipped one; default
        :data:`RETRAIN` (what ``make models`` sets).
    """

    def __init__(self, notebook: str, train: bool = False, folder=None, save=None):
        self.folder = Path(folder) if folder is not None else TRAINED_DIR / notebook
        self.save = RETRAIN if save is None else bool(save)
        self.train = bool(train) or self.save
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
        if not self.train and record.is_file() and folder.is_dir():
            fitted = persistence.load(folder)
            fitted.set_params(
                **{k: v for k, v in detector.get_params(deep=False).items() if k in _NOT_LEARNT}
            )
            self._seconds[fitted] = json.loads(record.read_text(encoding="utf-8"))["fit_seconds"]
            return fitted
        self._say_training(name, record)
        started = time.perf_counter()
        detector.fit(X) if y is None else detector.fit(X, y)
        seconds = time.perf_counter() - started
        self._seconds[detector] = seconds
        if self.save:
            self.folder.mkdir(parents=True, exist_ok=True)
            persistence.save(detector, folder, force=True)
            _write_record(
                record, {"detector": name, "params": repr(params), "fit_seconds": seconds}
            )
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
        if not self.train and record.is_file() and weights.is_file():
            with np.load(weights, allow_pickle=False) as saved:
                model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
            saved = json.loads(record.read_text(encoding="utf-8"))
            self._seconds[model] = saved["fit_seconds"]
            return saved["history"]
        self._say_training(f"Keras model {model.name!r}", record)
        started = time.perf_counter()
        history = model.fit(x, y, verbose=0, **fit_kwargs)
        seconds = time.perf_counter() - started
        self._seconds[model] = seconds
        history = {k: [float(v) for v in values] for k, values in history.history.items()}
        if self.save:
            self.folder.mkdir(parents=True, exist_ok=True)
            np.savez(weights, *model.get_weights())
            _write_record(record, {"history": history, "fit_seconds": seconds})
        return history

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


def _write_record(path: Path, content: dict) -> None:
    content = {**content, "trained_on": runtime.machine_description()}
    path.write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")


def _architecture(model) -> list:
    # Layer classes and their settings in order, without the names Keras numbers per session
    # (conv2d_3 on a second run of a cell is the same layer as conv2d).
    return [
        (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
        for layer in model.layers
    ]


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
