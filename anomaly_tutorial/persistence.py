"""Save a fitted detector to a folder and load it back, without pickle (notebook 05).

A model folder holds:

- ``detector.json``: what this is (format, version, class, library versions, the threshold);
- ``detector.skops``: the scikit-learn side, written with ``skops.io``, whose loader refuses any
  type that is not on a list of trusted modules, so a model folder from elsewhere cannot run
  code when it is loaded;
- ``keras_<k>.keras``: each Keras network, in Keras's own format, loaded with
  ``safe_mode=True`` (no arbitrary Python such as ``Lambda`` layers is deserialised).

Pickle would be shorter, but unpickling a file runs whatever code it names: a poor habit to
teach for files that get e-mailed around.
"""

import json
import shutil
import tempfile
from pathlib import Path

import skops.io
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

FORMAT = "anomaly-tutorial-detector"
VERSION = 1
_META = "detector.json"
_ESTIMATOR = "detector.skops"
#: Modules whose types may appear in a saved detector. Anything else is refused on load.
_TRUSTED_MODULES = ("anomaly_tutorial.", "sklearn.", "numpy", "scipy.", "keras.src.wrappers.")


class ModelFolderError(ValueError):
    """A folder that is not a saved anomaly-tutorial detector, or cannot be written."""


def save(detector, path, *, threshold: float | None = None, force: bool = False) -> Path:
    """Save a fitted ``detector`` (and optionally an anomaly-score ``threshold``) to ``path``.

    ``path`` must not exist or be an empty folder; ``force=True`` replaces an earlier saved
    model but never a folder that holds anything else. The folder is written next to its final
    place first and moved in at the end, so a failure leaves nothing half-written.
    """
    check_is_fitted(detector)
    path = Path(path)
    check_writable(path, force)
    import keras  # after anomaly_tutorial.runtime has configured TensorFlow

    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=path.parent.resolve()))
    try:
        detached = _detach(detector, keras)
        try:
            networks = []
            for index, (trail, network) in enumerate(detached.networks):
                filename = f"keras_{index}.keras"
                network.save(staging / filename)
                networks.append({"file": filename, "trail": trail})
            skops.io.dump(detector, staging / _ESTIMATOR)
        finally:
            detached.restore()
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "class": f"{type(detector).__module__}.{type(detector).__qualname__}",
            "threshold": None if threshold is None else float(threshold),
            "image_shape": _image_shape(detector),
            "networks": networks,
            "versions": _versions(keras),
        }
        (staging / _META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if path.exists():
            shutil.rmtree(path)
        staging.rename(path)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return path


def load(path):
    """Load a detector written by :func:`save`. Its threshold: :func:`load_threshold`."""
    path = Path(path)
    meta = read_metadata(path)
    import keras

    types = skops.io.get_untrusted_types(file=path / _ESTIMATOR)
    untrusted = [name for name in types if not name.startswith(_TRUSTED_MODULES)]
    if untrusted:
        raise ModelFolderError(
            f"{path / _ESTIMATOR} contains types this course never saves: {', '.join(untrusted)}."
            " Refusing to load it."
        )
    detector = skops.io.load(path / _ESTIMATOR, trusted=types)
    for network in meta["networks"]:
        model = keras.saving.load_model(path / network["file"], safe_mode=True)
        _set(detector, network["trail"], model)
    return detector


def load_threshold(path) -> float | None:
    """The anomaly-score threshold saved with the detector (anomaly iff score > threshold)."""
    return read_metadata(Path(path))["threshold"]


def read_metadata(path) -> dict:
    """``detector.json`` of a model folder, after checking that it is one of ours."""
    path = Path(path)
    meta_file = path / _META
    if not path.is_dir():
        raise ModelFolderError(f"{path} is not a folder; expected a saved detector folder.")
    if not meta_file.is_file() or not (path / _ESTIMATOR).is_file():
        raise ModelFolderError(
            f"{path} is not a saved anomaly-tutorial detector (no {_META} / {_ESTIMATOR})."
        )
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFolderError(f"{meta_file} is not valid JSON: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFolderError(f"{meta_file} is not an anomaly-tutorial detector description.")
    if meta.get("version") != VERSION:
        raise ModelFolderError(
            f"{meta_file} has format version {meta.get('version')}; this library reads {VERSION}."
        )
    return meta


def check_writable(path, force: bool = False) -> None:
    """Raise :class:`ModelFolderError` unless :func:`save` may write to ``path``."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ModelFolderError(f"Cannot save to {path}: folder {path.parent} does not exist.")
    if not path.exists():
        return
    if not path.is_dir():
        raise ModelFolderError(f"Cannot save to {path}: it is a file, not a folder.")
    if not any(path.iterdir()):
        path.rmdir()
        return
    if not (path / _META).is_file():
        raise ModelFolderError(
            f"Cannot save to {path}: the folder holds other files. Choose a new folder."
        )
    if not force:
        raise ModelFolderError(
            f"{path} already holds a saved detector. Use force=True (CLI: --force) to replace it."
        )


def _image_shape(detector):
    # A pipeline's image size is known to its first step (the HOG transformer).
    first_step = detector.steps[0][1] if hasattr(detector, "steps") else detector
    shape = getattr(first_step, "image_shape_", None)
    return None if shape is None else [int(size) for size in shape]


def _versions(keras) -> dict:
    import sklearn

    from anomaly_tutorial import __version__

    return {
        "anomaly_tutorial": __version__,
        "keras": keras.__version__,
        "sklearn": sklearn.__version__,
    }


class _Detached:
    """Keras networks (and training histories) taken out of a detector while skops writes it."""

    def __init__(self):
        self.networks = []  # (trail, keras.Model)
        self._undo = []  # (parent, step, original value)

    def replace(self, parent, step, value):
        self._undo.append((parent, step, _get_step(parent, step)))
        _set_step(parent, step, value)

    def restore(self):
        for parent, step, original in reversed(self._undo):
            _set_step(parent, step, original)


def _detach(detector, keras) -> _Detached:
    detached = _Detached()
    seen = set()

    def visit(parent, step, value, trail):
        if isinstance(value, keras.Model):
            detached.networks.append((trail, value))
            detached.replace(parent, step, None)
        elif isinstance(value, keras.callbacks.History):
            detached.replace(parent, step, {k: list(v) for k, v in value.history.items()})
        elif id(value) not in seen:
            seen.add(id(value))
            walk(value, trail)

    def walk(node, trail):
        if isinstance(node, BaseEstimator):
            for key, value in list(vars(node).items()):
                visit(node, ["attr", key], value, [*trail, ["attr", key]])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                visit(node, ["item", index], value, [*trail, ["item", index]])
        elif isinstance(node, tuple):
            for index, value in enumerate(node):
                if isinstance(value, keras.Model):
                    raise TypeError("A Keras model inside a tuple cannot be saved; use a list.")
                walk(value, [*trail, ["item", index]])
        elif isinstance(node, dict):
            for key, value in list(node.items()):
                if isinstance(key, str):
                    visit(node, ["key", key], value, [*trail, ["key", key]])

    walk(detector, [])
    return detached


def _get_step(parent, step):
    kind, key = step
    return getattr(parent, key) if kind == "attr" else parent[key]


def _set_step(parent, step, value):
    kind, key = step
    if kind == "attr":
        setattr(parent, key, value)
    else:
        parent[key] = value


def _set(root, trail, value):
    node = root
    for step in trail[:-1]:
        node = _get_step(node, step)
    _set_step(node, trail[-1], value)


__all__ = ["ModelFolderError", "load", "load_threshold", "read_metadata", "save"]
