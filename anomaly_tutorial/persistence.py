"""Save a fitted detector to a folder and load it back, as plain data (notebook 05).

A model folder holds

- ``detector.json``: the format and version, the registry name of the detector, its
  constructor parameters, its fitted numbers and strings (``offset_``, the threshold, among
  them) and the names of the other files;
- ``arrays.npz``: its fitted numpy arrays, read with ``allow_pickle=False``;
- ``<attribute>.keras``: each Keras network, loaded with ``safe_mode=True``.

The scikit-learn objects inside a detector (HOG features, scaler, OneClassSVM) are written as
the name of their class, taken from a fixed list, with their parameters and fitted attributes,
and rebuilt by this module. Loading never imports or calls a name read from a file, and never
unpickles: a model folder e-mailed around cannot run code.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial.detectors import _CLASSES, detector_class, detector_name
from anomaly_tutorial.errors import ModelFolderError
from anomaly_tutorial.features import HOGFeatures

FORMAT = "anomaly-tutorial-detector"
VERSION = 2
META, ARRAYS = "detector.json", "arrays.npz"
#: The only classes a saved detector may contain besides the detector itself.
ESTIMATORS = {
    "Pipeline": Pipeline,
    "HOGFeatures": HOGFeatures,
    "StandardScaler": StandardScaler,
    "OneClassSVM": OneClassSVM,
}
_SCALARS = (type(None), bool, int, float, str)


def save(detector, path, *, force: bool = False) -> Path:
    """Save a fitted ``detector`` to the folder ``path`` and return it.

    ``path`` must not exist or be an empty folder. ``force=True`` replaces a model folder that
    this function wrote, but never one that holds other files. Everything is written to a
    temporary folder next to ``path`` and renamed at the end, so a failure leaves what was
    there before. The detector itself is not changed.
    """
    check_is_fitted(detector)
    path = Path(path)
    check_writable(path, force)
    import keras  # after anomaly_tutorial.runtime has configured the backend

    arrays = {}
    fitted = {
        key: value
        for key, value in vars(detector).items()
        if key.endswith("_") and not key.startswith("_") and key != "image_shape_"
    }
    networks = {name: f"{name}.keras" for name in getattr(detector, "_keras_attributes", ())}
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "detector": detector_name(detector),
        "class": _qualified_name(type(detector)),
        "image_shape": [int(size) for size in detector.image_shape_],
        "params": _encode(detector.get_params(deep=False), arrays),
        "fitted": _encode({k: v for k, v in fitted.items() if k not in networks}, arrays),
        "networks": networks,
        "versions": {"keras": keras.__version__, "anomaly_tutorial": _package_version()},
    }
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=path.parent))
    try:
        (staging / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        np.savez(staging / ARRAYS, **arrays)
        for name, filename in networks.items():
            getattr(detector, name).save(staging / filename)
        _move_into_place(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _move_into_place(staging: Path, path: Path) -> None:
    # An empty folder is replaced by the rename itself; an earlier model (our files only, see
    # check_writable) is moved aside first and deleted only once the new one is in place.
    old = None
    if path.exists() and any(path.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=".replaced-", dir=path.parent)) / path.name
        path.rename(old)
    try:
        staging.rename(path)
    except BaseException:
        if old is not None:
            old.rename(path)
        raise
    if old is not None:
        shutil.rmtree(old.parent)


def load(path):
    """Load a detector written by :func:`save`; every problem is a :class:`ModelFolderError`."""
    path = Path(path)
    meta = read_metadata(path)
    cls = detector_class(meta["detector"])
    arrays = _read_arrays(path / ARRAYS)
    meta_file = path / META
    detector = _rebuild(cls, meta["params"], meta["fitted"], arrays, f"{meta_file}: detector")
    detector.image_shape_ = tuple(meta["image_shape"])
    offset = getattr(detector, "offset_", None)
    if isinstance(offset, bool) or not isinstance(offset, int | float) or not np.isfinite(offset):
        raise ModelFolderError(f"{meta_file}: offset_ must be a finite number; got {offset!r}.")
    for name, filename in meta["networks"].items():
        setattr(detector, name, _read_keras(path / filename))
    try:  # one blank image through the whole detector: do the parts belong together?
        scores = detector.score_samples(np.zeros((1, *detector.image_shape_), dtype=np.float32))
        if np.shape(scores) != (1,):
            raise ValueError(f"one image gave scores of shape {np.shape(scores)}")
    except Exception as error:  # a mismatch fails deep in NumPy or Keras, with any type
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ModelFolderError(
            f"{path}: its files do not fit together ({type(error).__name__}: {reason:.200}); "
            "was it edited, or mixed with another model's files?"
        ) from error
    return detector


def read_metadata(path) -> dict:
    """``detector.json`` of a model folder, after checking that it is one of ours.

    Checks the format, the version, the detector name and class, the image shape, and that
    every file it names is a plain file inside the folder.
    """
    path = Path(path)
    meta_file = path / META
    if not path.is_dir():
        raise ModelFolderError(f"{path} is not a folder; expected a saved detector folder.")
    if not meta_file.is_file():
        raise ModelFolderError(f"{path} is not a saved anomaly-tutorial detector (no {META}).")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFolderError(f"{meta_file} cannot be read as JSON: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFolderError(f"{meta_file} is not an anomaly-tutorial detector description.")
    if meta.get("version") == 1:
        raise ModelFolderError(
            f"{meta_file} was saved by an older version of anomaly-tutorial (format 1, with a "
            "separate threshold); train the model again to use it."
        )
    if meta.get("version") != VERSION:
        raise ModelFolderError(
            f"{meta_file} has format version {meta.get('version')!r}; this library reads {VERSION}."
        )
    name = meta.get("detector")
    if name not in _CLASSES:
        raise ModelFolderError(f"{meta_file}: unknown detector {name!r}.")
    cls = detector_class(name)
    if meta.get("class") != _qualified_name(cls):
        raise ModelFolderError(
            f"{meta_file}: class {meta.get('class')!r} does not match detector {name!r}."
        )
    _check_image_shape(meta.get("image_shape"), meta_file)
    for key in ("params", "fitted"):
        if not isinstance(meta.get(key), dict):
            raise ModelFolderError(f"{meta_file}: {key!r} must be a JSON object.")
    networks = meta.get("networks")
    expected = set(getattr(cls, "_keras_attributes", ()))
    if not isinstance(networks, dict) or set(networks) != expected:
        raise ModelFolderError(
            f"{meta_file}: 'networks' must map {sorted(expected)} to file names; got {networks!r}."
        )
    for filename in networks.values():
        _check_file_name(path, filename, meta_file)
    return meta


def check_writable(path, force: bool = False) -> None:
    """Raise :class:`ModelFolderError` unless :func:`save` may write to ``path``.

    Never deletes or changes anything.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ModelFolderError(f"Cannot save to {path}: folder {path.parent} does not exist.")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise ModelFolderError(f"Cannot save to {path}: folder {path.parent} is not writable.")
    if not path.exists():
        return
    if not path.is_dir() or path.is_symlink():
        raise ModelFolderError(f"Cannot save to {path}: it is a file, not a folder.")
    entries = sorted(entry.name for entry in path.iterdir())
    if not entries:
        return
    try:
        ours = {META, ARRAYS, *read_metadata(path)["networks"].values()}
    except ModelFolderError:
        raise ModelFolderError(
            f"Cannot save to {path}: the folder holds other files. Choose a new folder."
        ) from None
    others = [name for name in entries if name not in ours]
    if others:
        raise ModelFolderError(
            f"Cannot replace {path}: it holds files anomaly-tutorial did not write "
            f"({', '.join(others)}). Move them away or choose a new folder."
        )
    if not force:
        raise ModelFolderError(
            f"{path} already holds a saved detector. Use force=True (CLI: --force) to replace it."
        )


def _qualified_name(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _package_version() -> str:
    from anomaly_tutorial import __version__

    return __version__


def _check_image_shape(shape, meta_file) -> None:
    if (
        not isinstance(shape, list)
        or len(shape) != 3
        or not all(isinstance(size, int) and not isinstance(size, bool) for size in shape)
        or min(shape[:2]) < 2
        or shape[2] not in (1, 3)
    ):
        raise ModelFolderError(
            f"{meta_file}: image_shape must be [height, width, channels] with channels 1 or 3; "
            f"got {shape!r}."
        )


def _check_file_name(folder: Path, filename, meta_file) -> None:
    if (
        not isinstance(filename, str)
        or not filename.endswith(".keras")
        or Path(filename).name != filename
        or "\\" in filename
        or "\0" in filename
    ):
        raise ModelFolderError(
            f"{meta_file}: network file {filename!r} must be a plain *.keras name inside {folder}."
        )
    file = folder / filename
    if file.is_symlink() or not file.is_file():
        raise ModelFolderError(f"{file}: missing, or not a regular file inside the folder.")


def _encode(value, arrays: dict):
    """``value`` as JSON: tuples, dicts, arrays and estimators are tagged, arrays set aside."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list):
        return [_encode(item, arrays) for item in value]
    if isinstance(value, tuple):
        return {"tuple": [_encode(item, arrays) for item in value]}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"dict": {key: _encode(item, arrays) for key, item in value.items()}}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        key = f"array_{len(arrays)}"
        arrays[key] = value
        return {"array": key}
    if ESTIMATORS.get(type(value).__name__) is type(value):
        params = value.get_params(deep=False)
        fitted = {key: item for key, item in vars(value).items() if key not in params}
        return {
            "estimator": type(value).__name__,
            "params": _encode(params, arrays),
            "fitted": _encode(fitted, arrays),
        }
    raise TypeError(f"Cannot save a {type(value).__name__} as plain data: {value!r:.80}")


def _decode(value, arrays: dict, where: str):
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list):
        return [_decode(item, arrays, where) for item in value]
    tag = sorted(value) if isinstance(value, dict) else None
    if tag == ["tuple"] and isinstance(value["tuple"], list):
        return tuple(_decode(item, arrays, where) for item in value["tuple"])
    if tag == ["dict"] and isinstance(value["dict"], dict):
        return {key: _decode(item, arrays, where) for key, item in value["dict"].items()}
    if tag == ["array"] and value["array"] in arrays:
        return arrays[value["array"]]
    if tag == ["estimator", "fitted", "params"] and value["estimator"] in ESTIMATORS:
        cls = ESTIMATORS[value["estimator"]]
        return _rebuild(cls, value["params"], value["fitted"], arrays, f"{where}.{cls.__name__}")
    raise ModelFolderError(f"{where}: unexpected saved value {value!r:.80}.")


def _rebuild(cls, params, fitted, arrays, where: str):
    """An instance of ``cls`` (from the fixed registry or ESTIMATORS) from saved plain data."""
    params, fitted = _decode(params, arrays, where), _decode(fitted, arrays, where)
    expected = set(cls._get_param_names())
    if not isinstance(params, dict) or set(params) != expected:
        raise ModelFolderError(f"{where}: the saved parameters do not match {cls.__name__}.")
    instance = cls(**params)
    try:
        if hasattr(instance, "_parameter_constraints"):
            instance._validate_params()
    except InvalidParameterError as error:
        raise ModelFolderError(f"{where}: {error}") from None
    if not isinstance(fitted, dict):
        raise ModelFolderError(f"{where}: fitted attributes must be a JSON object.")
    for key, item in fitted.items():
        if not key.isidentifier() or key.startswith("__") or key in expected:
            raise ModelFolderError(f"{where}: {key!r} is not a fitted attribute name.")
        setattr(instance, key, item)
    return instance


def _read_arrays(file: Path) -> dict:
    if file.is_symlink() or not file.is_file():
        raise ModelFolderError(f"{file}: missing, or not a regular file inside the folder.")
    try:
        with np.load(file, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:  # a damaged archive raises many types; none is a bug here
        raise ModelFolderError(f"{file}: not a readable array archive ({error}).") from None
    for key, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise ModelFolderError(f"{file}: array {key!r} is not numeric ({array.dtype}).")
    return arrays


def _read_keras(file: Path):
    import keras

    try:
        return keras.saving.load_model(file, compile=False, safe_mode=True)
    except Exception as error:  # a damaged file raises many types; none is a bug here
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelFolderError(f"{file}: not a readable Keras model ({message}).") from None


__all__ = ["ModelFolderError", "check_writable", "load", "read_metadata", "save"]
