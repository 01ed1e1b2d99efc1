"""Save a fitted detector to a folder and load it back, as plain data (notebook 05).

A model folder holds ``detector.json`` (format, version, detector name, parameters, image shape,
fitted numbers and strings) and ``arrays.npz`` (fitted arrays and network weights). Loading
hands the detector only what passes its declared state (``_state_spec``, the types of
:mod:`anomaly_tutorial.detectors.state`); networks are rebuilt from the parameters and only
their weights are read. Nothing from the folder runs as code (no pickle, no Keras config), no
file outside it is read (links are refused), and sizes are checked before anything large is read.
"""

import io
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial import outputs
from anomaly_tutorial.detectors import detector_class, detector_name, state
from anomaly_tutorial.errors import ModelFolderError

FORMAT = "anomaly-tutorial-detector"
VERSION = 4
META, ARRAYS = "detector.json", "arrays.npz"
#: The largest image side a saved detector may declare (larger images are scored in tiles).
MAX_SIDE = 1024
#: The largest ``detector.json`` read, and the most bytes ``arrays.npz`` may take on disk and
#: unpacked: the course's largest model needs a few MB, and loading any folder stays under 1 GB
#: of memory, TensorFlow included (``benchmarks/bench_hostile_load.py``).
MAX_META_BYTES, MAX_ARRAYS_BYTES = 2**20, 128 * 2**20


def save(detector, path, *, force: bool = False) -> Path:
    """Save a fitted ``detector`` to the folder ``path`` (new or empty) and return it.

    ``force=True`` replaces a model folder saved here, never one holding other files. The folder
    is written beside ``path`` and renamed into place (:func:`outputs.replace_folder`), so a
    failure, or another program writing there meanwhile, leaves what was there.
    """
    check_is_fitted(detector)
    path = Path(path)
    check_writable(path, force)
    import keras  # after anomaly_tutorial.runtime has configured the backend

    from anomaly_tutorial import __version__

    values, weights = detector._get_state()
    arrays = {name: value for name, value in values.items() if isinstance(value, np.ndarray)}
    for network, network_weights in weights.items():
        arrays.update({f"{network}.{i}": weight for i, weight in enumerate(network_weights)})
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "detector": detector_name(detector),
        "image_shape": [int(size) for size in detector.image_shape_],
        "params": _encode(detector.get_params(deep=False)),
        "state": _encode({k: v for k, v in values.items() if not isinstance(v, np.ndarray)}),
        "versions": {"keras": keras.__version__, "anomaly_tutorial": __version__},
    }
    with outputs.new_files_in(path.parent) as staging:
        check_writable(path, force)  # again: a killed save's earlier model may be back there
        try:
            folder = staging / "model"
            folder.mkdir()
            (folder / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
            np.savez(folder / ARRAYS, **arrays)
            outputs.replace_folder(folder, path, lambda old: _check_only_ours(old, path))
        except FileExistsError as error:
            kept = (
                f"; the model it replaced is kept in {error.filename2}" if error.filename2 else ""
            )
            raise ModelFolderError(
                f"Cannot save to {path}: another program created it while saving{kept}."
            ) from None
        except OSError as error:
            raise ModelFolderError(f"Cannot save to {path}: {error.strerror or error}.") from None
    return path


def _check_only_ours(folder: Path, path: Path) -> None:
    """Raise unless ``folder`` (``path`` moved aside to be replaced) holds only our files."""
    if not {entry.name for entry in folder.iterdir()} <= {META, ARRAYS}:
        raise ModelFolderError(f"Cannot replace {path}: other files appeared in it while saving.")


def load(path):
    """Load a detector written by :func:`save`; every problem is a :class:`ModelFolderError`."""
    path = Path(path)
    meta = read_metadata(path)
    meta_file = path / META
    cls = detector_class(meta["detector"])
    try:  # scikit-learn's InvalidParameterError is both a ValueError and a TypeError
        detector = cls._from_params(_decode(meta["params"]))
    except (ValueError, TypeError) as error:
        raise ModelFolderError(f"{meta_file}: {_first_line(error)}") from None
    detector.image_shape_ = tuple(meta["image_shape"])
    arrays = _read_arrays(path / ARRAYS)
    values = {**meta["state"], **{k: v for k, v in arrays.items() if "." not in k}}
    weights = {}
    for name, array in arrays.items():
        if "." in name:
            network, index = name.rsplit(".", 1)
            weights.setdefault(network, {})[index] = array
    try:
        spec = detector._state_spec()
        if not set(meta["state"]).isdisjoint(arrays):
            raise state.StateError("an attribute is both in the JSON file and in the arrays")
        values = state.check(values, spec, "its fitted")
        networks = detector._networks
        if set(weights) != set(networks):
            raise state.StateError(
                f"expected the weights of {list(networks)}; got {sorted(weights)}"
            )
        weights = {name: _in_order(parts, name) for name, parts in weights.items()}
        detector._set_state(values, weights)
    except (state.StateError, ValueError, TypeError) as error:
        raise ModelFolderError(f"{path}: {_first_line(error)}") from None
    try:  # one blank image through the whole detector: do the parts belong together?
        scores = detector.score_samples(np.zeros((1, *detector.image_shape_), dtype=np.float32))
        if np.shape(scores) != (1,) or not np.all(np.isfinite(scores)):
            raise ValueError(f"one blank image gave the scores {scores!r:.80}")
    except Exception as error:  # a mismatch fails deep in NumPy or Keras, with any type
        raise ModelFolderError(
            f"{path}: its files do not fit together ({type(error).__name__}: "
            f"{_first_line(error):.200}); was it edited, or mixed with another model's files?"
        ) from None
    return detector


def read_metadata(path) -> dict:
    """``detector.json`` of a model folder, with its format, version, detector name and image
    shape checked, and its parameters and state JSON objects."""
    path = Path(path)
    meta_file = path / META
    try:
        if not stat.S_ISDIR(os.stat(path).st_mode):
            raise ModelFolderError(f"{path} is not a folder; expected a saved detector folder.")
    except OSError as error:
        raise ModelFolderError(f"{path}: cannot read it ({error.strerror}).") from None
    text = _read_file(meta_file, MAX_META_BYTES, missing="is not a saved anomaly-tutorial detector")
    try:
        meta = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        message = f"{meta_file} cannot be read as JSON: {_first_line(error)}"
        raise ModelFolderError(message) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFolderError(f"{meta_file} is not an anomaly-tutorial detector description.")
    version = meta.get("version")
    if type(version) is int and 1 <= version < VERSION:
        raise ModelFolderError(
            f"{meta_file} was saved by an older version of anomaly-tutorial (format {version}); "
            "train the model again to use it."
        )
    if type(version) is not int or version != VERSION:
        raise ModelFolderError(
            f"{meta_file} has format version {version!r:.40}; this library reads {VERSION}."
        )
    name = meta.get("detector")
    try:
        detector_class(name if isinstance(name, str) else "")
    except ValueError:
        raise ModelFolderError(f"{meta_file}: unknown detector {name!r:.60}.") from None
    shape = meta.get("image_shape")
    if (
        not isinstance(shape, list)
        or len(shape) != 3
        or not all(type(size) is int for size in shape)
        or not 2 <= min(shape[:2]) <= max(shape[:2]) <= MAX_SIDE
        or shape[2] not in (1, 3)
    ):
        raise ModelFolderError(
            f"{meta_file}: image_shape must be [height, width, channels], with sides from 2 to "
            f"{MAX_SIDE} and 1 or 3 channels; got {shape!r:.80}."
        )
    for key in ("params", "state"):
        if not isinstance(meta.get(key), dict):
            raise ModelFolderError(f"{meta_file}: {key!r} must be a JSON object.")
    return meta


def check_writable(path, force: bool = False) -> None:
    """Raise :class:`ModelFolderError` unless :func:`save` may write to ``path``; changes
    nothing."""
    path = Path(path)
    try:
        parent = os.stat(path.parent)
    except FileNotFoundError:
        raise ModelFolderError(
            f"Cannot save to {path}: folder {path.parent} does not exist."
        ) from None
    except OSError as error:
        message = f"Cannot save to {path}: folder {path.parent}: {error.strerror}."
        raise ModelFolderError(message) from None
    if not stat.S_ISDIR(parent.st_mode):
        raise ModelFolderError(f"Cannot save to {path}: {path.parent} is not a folder.")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise ModelFolderError(f"Cannot save to {path}: folder {path.parent} is not writable.")
    if not os.path.lexists(path):
        return
    if path.is_symlink():
        raise ModelFolderError(f"Cannot save to {path}: it is a symbolic link, not a folder.")
    if not path.is_dir():
        raise ModelFolderError(f"Cannot save to {path}: it is a file, not a folder.")
    entries = sorted(entry.name for entry in path.iterdir())
    if not entries:
        return
    try:
        read_metadata(path)
    except ModelFolderError:
        raise ModelFolderError(
            f"Cannot save to {path}: the folder holds other files. Choose a new folder."
        ) from None
    others = sorted(set(entries) - {META, ARRAYS})
    if others:
        raise ModelFolderError(
            f"Cannot replace {path}: it holds files anomaly-tutorial did not write "
            f"({', '.join(others)}). Move them away or choose a new folder."
        )
    if not force:
        raise ModelFolderError(
            f"{path} already holds a saved detector. Use force=True (CLI: --force) to replace it."
        )


def _first_line(error) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _encode(value):
    """``value`` as JSON: tuples tagged, NumPy scalars as Python's."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, type(None) | bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, tuple):
        return {"tuple": [_encode(item) for item in value]}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _encode(item) for key, item in value.items()}
    raise TypeError(f"Cannot save a {type(value).__name__} as plain data: {value!r:.80}")


def _decode(value):
    """The inverse of :func:`_encode`."""
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"tuple"} and isinstance(value["tuple"], list):
            return tuple(_decode(item) for item in value["tuple"])
        return {key: _decode(item) for key, item in value.items()}
    return value


def _read_file(file: Path, max_bytes: int, missing: str = "is missing") -> bytes:
    """The bytes of ``file``: a regular file with one name, inside its folder, not too large.
    Opened without following links or blocking (a FIFO), then checked on the open file itself,
    so that nothing can be swapped in between."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(file, flags)
    except FileNotFoundError:
        raise ModelFolderError(f"{file.parent} {missing} (no {file.name}).") from None
    except OSError as error:
        raise ModelFolderError(
            f"{file}: cannot open it ({error.strerror}); a model folder holds regular files "
            "only, not symbolic links."
        ) from None
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ModelFolderError(f"{file}: not a regular file.")
        if info.st_nlink != 1:
            raise ModelFolderError(f"{file}: has other names (hard links); refusing to read it.")
        if info.st_size > max_bytes:
            raise ModelFolderError(f"{file}: {info.st_size:,} bytes is larger than a model file.")
        return stream.read(max_bytes + 1)[:max_bytes]


def _read_arrays(file: Path) -> dict:
    """The arrays of ``arrays.npz``, each checked from its headers before it is unpacked:
    numeric, named as we name them, and at most :data:`MAX_ARRAYS_BYTES` unpacked in all."""
    data = _read_file(file, MAX_ARRAYS_BYTES)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total, headers = 0, {}
            for member in archive.infolist():
                name = member.filename.removesuffix(".npy")
                if not name.replace("_", "a").replace(".", "a").isalnum() or name in headers:
                    raise ValueError(f"unexpected member {member.filename!r:.60}")
                with archive.open(member) as stream:
                    version = np.lib.format.read_magic(stream)
                    if version not in ((1, 0), (2, 0)):
                        raise ValueError(f"array {name!r} has .npy format {version}")
                    read_header = getattr(np.lib.format, f"read_array_header_{version[0]}_0")
                    shape, _, dtype = read_header(stream)
                if dtype.kind not in "biuf" or dtype.hasobject:
                    raise ValueError(f"array {name!r} is not numeric ({dtype})")
                total += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                if total > MAX_ARRAYS_BYTES or member.file_size > MAX_ARRAYS_BYTES:
                    raise ValueError("its arrays hold more numbers than a model holds")
                headers[name] = member.filename
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {name: archive[name] for name in headers}
    except ModelFolderError:
        raise
    except Exception as error:  # a damaged archive raises many types; none is a bug here
        message = f"{file}: not a readable array archive ({_first_line(error)})."
        raise ModelFolderError(message) from None


def _in_order(parts: dict, network: str) -> list:
    if sorted(parts, key=lambda index: (len(index), index)) != [str(i) for i in range(len(parts))]:
        raise state.StateError(f"the weights of {network} must be numbered 0 to {len(parts) - 1}")
    return [parts[str(i)] for i in range(len(parts))]


__all__ = ["ModelFolderError", "check_writable", "load", "read_metadata", "save"]
