"""Crafted model folders: what a hostile or careless user could hand to ``persistence.load``.

Each case copies a real saved model, changes one thing and loads it. Every one must end in a
one-line :class:`ModelFolderError` naming the problem, without reading a file outside the folder,
running code from it, or changing any file. Then the save side: races with other programs and
the leftovers of a killed save.
"""

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from anomaly_tutorial import outputs, persistence
from anomaly_tutorial.detectors import make_detector
from anomaly_tutorial.errors import ModelFolderError

SIZE = 16


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Real saved models (the Keras ones quick and small) to craft bad folders from."""
    images = np.random.default_rng(0).random((12, SIZE, SIZE), dtype=np.float32)
    folder = tmp_path_factory.mktemp("models")
    for name, params in (
        ("hog_ocsvm", {}),
        ("conv_autoencoder", {"epochs": 1, "preset": "object"}),
        ("deep_svdd", {"epochs": 1}),
        ("patch_knn", {"bank_size": 200}),
    ):
        persistence.save(make_detector(name, quick=True, **params).fit(images), folder / name)
    return folder


def _snapshot(root: Path) -> dict:
    return {
        p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()
    }


def _meta(change):
    def edit(folder):
        meta = json.loads((folder / "detector.json").read_text())
        change(meta)
        (folder / "detector.json").write_text(json.dumps(meta))

    return edit


def _text(change):
    def edit(folder):
        (folder / "detector.json").write_text(change((folder / "detector.json").read_text()))

    return edit


def _arrays(change):
    """Rewrite arrays.npz with ``change(arrays)`` applied to its dict of arrays."""

    def edit(folder):
        with np.load(folder / "arrays.npz") as archive:
            arrays = {name: archive[name] for name in archive.files}
        change(arrays)
        (folder / "arrays.npz").unlink()
        np.savez(folder / "arrays.npz", **arrays)

    return edit


def _member_claiming(shape, folder):
    """An npz whose one member's header declares ``shape`` but holds a few bytes only."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    with zipfile.ZipFile(folder / "arrays.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("memory_bank_.npy", header.getvalue() + b"\0" * 64)


def _fifo(folder):
    (folder / "arrays.npz").unlink()
    os.mkfifo(folder / "arrays.npz")


def _symlinked_meta(target):
    def edit(folder):
        (folder / "detector.json").unlink()
        (folder / "detector.json").symlink_to(target(folder))

    return edit


def _hard_linked(folder):
    os.link(folder / "arrays.npz", folder.parent / "elsewhere.npz")


def _weights_of(other):
    def edit(folder):
        with np.load(folder.parent.parent / "models" / other / "arrays.npz") as theirs:
            weights = {k: theirs[k] for k in theirs.files if k.startswith("model_.")}
        _arrays(lambda arrays: [arrays.pop(k) for k in list(arrays) if "." in k] and None)(folder)
        _arrays(lambda arrays: arrays.update(weights))(folder)

    return edit


def _huge_code(folder):
    """A consistent folder (codes of the declared size) whose network would be enormous."""
    _meta(
        lambda m: (
            m["params"].update(latent_dim=20000, filters={"tuple": [1024]}),
            m["state"].update(latent_dim_=20000),
        )
    )(folder)
    _arrays(lambda arrays: arrays.update(codes_=np.zeros((2, 20000), np.float32)))(folder)


def _state(**changes):
    return _meta(lambda meta: meta["state"].update(changes))


def _params(**changes):
    return _meta(lambda meta: meta["params"].update(changes))


CASES = {
    # detector.json
    "garbage JSON": ("hog_ocsvm", _text(lambda text: "{not json"), "cannot be read as JSON"),
    "JSON nested 100,000 deep": ("hog_ocsvm", _text(lambda t: "[" * 100_000 + "]" * 100_000), "cannot be read as JSON"),
    "an integer of 5,000 digits": ("hog_ocsvm", _text(lambda t: t.replace('"offset_": ', '"offset_": ' + "9" * 5000 + ", \"x\": ")), "cannot be read as JSON"),
    "not ours": ("hog_ocsvm", _meta(lambda m: m.update(format="pickle")), "not an anomaly-tutorial detector description"),
    "format 2 (a .keras network)": ("hog_ocsvm", _meta(lambda m: m.update(version=2)), "older version of anomaly-tutorial (format 2)"),
    "version 3.0": ("hog_ocsvm", _meta(lambda m: m.update(version=3.0)), "format version 3.0"),
    "version true": ("hog_ocsvm", _meta(lambda m: m.update(version=True)), "format version True"),
    "version 99": ("hog_ocsvm", _meta(lambda m: m.update(version=99)), "format version 99"),
    "detector a list": ("hog_ocsvm", _meta(lambda m: m.update(detector=["hog_ocsvm"])), "unknown detector ['hog_ocsvm']"),
    "detector os.system": ("hog_ocsvm", _meta(lambda m: m.update(detector="os.system")), "unknown detector 'os.system'"),
    "parameters of another class": ("hog_ocsvm", _meta(lambda m: m.update(detector="deep_svdd")), "saved parameters do not match DeepSVDD"),
    "a parameter of the wrong type": ("hog_ocsvm", _params(nu="high"), "'nu' parameter of HOGOneClassSVM"),
    "image_shape 5": ("hog_ocsvm", _meta(lambda m: m.update(image_shape=5)), "image_shape must be"),
    "image_shape 4000x4000": ("patch_knn", _meta(lambda m: m.update(image_shape=[4000, 4000, 1])), "sides from 2 to 1024"),
    "another image_shape": ("conv_autoencoder", _meta(lambda m: m.update(image_shape=[32, 32, 1])), "error_mean_: shape must be (32, 32)"),
    "filters 20000 wide": ("deep_svdd", _params(filters={"tuple": [20000]}), "'filters' parameter of DeepSVDD"),
    "a 20000-number code": ("conv_autoencoder", lambda f: _huge_code(f), "weights, more than"),
    "scales [1e6]": ("patch_knn", _params(scales={"tuple": [1e6]}), "'scales' parameter of PatchKNN"),
    # the state in detector.json
    "offset_ 'high'": ("hog_ocsvm", _state(offset_="high"), "offset_ must be a finite number"),
    "offset_ missing": ("hog_ocsvm", _meta(lambda m: m["state"].pop("offset_")), "expected the attributes"),
    "a method name as attribute": ("hog_ocsvm", _state(score_samples=1), "expected the attributes"),
    "a dunder attribute": ("hog_ocsvm", _state(__class__="x"), "expected the attributes"),
    "a negative radius": ("deep_svdd", _state(radius_=-1.0), "radius_ must be in [0.0, inf]"),
    "a code size of 0": ("conv_autoencoder", _state(latent_dim_=0), "latent_dim_"),
    "a history of strings": ("deep_svdd", _state(history_={"loss": ["x"]}), "history_['loss'] must be a finite number"),
    # arrays.npz
    "arrays missing": ("hog_ocsvm", lambda f: (f / "arrays.npz").unlink(), "is missing (no arrays.npz)"),
    "arrays truncated": ("hog_ocsvm", lambda f: (f / "arrays.npz").write_bytes((f / "arrays.npz").read_bytes()[:99]), "not a readable array archive"),
    "an object array": ("hog_ocsvm", _arrays(lambda a: a.update(dual_coef_=np.array([{"a": 1}], dtype=object))), "not numeric"),
    "support vectors with 3 columns": ("hog_ocsvm", _arrays(lambda a: a.update(support_vectors_=a["support_vectors_"][:, :3])), "support_vectors_: shape must be"),
    "fewer dual coefficients than support vectors": ("hog_ocsvm", _arrays(lambda a: a.update(dual_coef_=a["dual_coef_"][:-1])), "dual_coef_: shape must be"),
    "a NaN dual coefficient": ("hog_ocsvm", _arrays(lambda a: a["dual_coef_"].__setitem__(0, np.nan)), "NaN or infinite"),
    "float32 support vectors": ("hog_ocsvm", _arrays(lambda a: a.update(support_vectors_=a["support_vectors_"].astype(np.float32))), "dtype must be float64"),
    "an array also in the JSON": ("hog_ocsvm", _state(dual_coef_=1.0), "both in the JSON file and in the arrays"),
    "a member declaring 81 million numbers": ("patch_knn", lambda f: _member_claiming((9000, 9000), f), "more numbers than a model holds"),
    "a bank of the wrong width": ("patch_knn", _arrays(lambda a: a.update(memory_bank_=a["memory_bank_"][:, :-1])), "memory_bank_: shape must be"),
    "codes of the wrong size": ("conv_autoencoder", _arrays(lambda a: a.update(codes_=a["codes_"][:, :-1])), "codes_: shape must be"),
    # network weights
    "another model's weights": ("conv_autoencoder", _weights_of("deep_svdd"), "do not fit the network"),
    "a weight missing": ("deep_svdd", _arrays(lambda a: a.pop("model_.1")), "numbered 0 to"),
    "a NaN weight": ("deep_svdd", _arrays(lambda a: a["model_.0"].__setitem__((0, 0, 0, 0), np.nan)), "NaN or infinite"),
    "weights of an unknown network": ("deep_svdd", _arrays(lambda a: a.update({"other_.0": np.zeros(2)})), "expected the weights of ['model_']"),
    # files
    "a FIFO for arrays.npz": ("hog_ocsvm", _fifo, "not a regular file"),
    "detector.json linked to another model's": ("hog_ocsvm", _symlinked_meta(lambda f: f.parent.parent / "models" / "deep_svdd" / "detector.json"), "not symbolic links"),
    "detector.json linked to /etc/passwd": ("hog_ocsvm", _symlinked_meta(lambda f: Path("/etc/passwd")), "not symbolic links"),
    "arrays.npz hard-linked": ("hog_ocsvm", _hard_linked, "hard links"),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_a_crafted_model_folder_gets_one_line_naming_the_problem(case, saved, tmp_path):
    model, change, fragment = CASES[case]
    shutil.copytree(saved, tmp_path / "models")
    folder = shutil.copytree(saved / model, tmp_path / "copy" / model)
    change(folder)
    before = _snapshot(tmp_path)
    with pytest.raises(ModelFolderError) as caught:
        persistence.load(folder)
    message = str(caught.value)
    assert fragment in message and "\n" not in message, message
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("x" * 5000, "File name too long"),
        ("nowhere", "No such file or directory"),
        ("detector.json", "is not a folder"),
    ],
)
def test_a_path_that_is_no_model_folder_gets_one_line(saved, path, fragment):
    with pytest.raises(ModelFolderError, match=fragment):
        persistence.load(saved / "hog_ocsvm" / path if path == "detector.json" else Path(path))


def test_an_unreadable_file_gets_one_line(saved, monkeypatch):
    # Tests may run as root, which no file mode stops: the refusal is simulated.
    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(ModelFolderError, match="detector.json: cannot open it .Permission denied"):
        persistence.load(saved / "hog_ocsvm")


def test_a_network_file_in_the_folder_is_never_read(saved, tmp_path, monkeypatch):
    """Keras's safe mode still builds exported Keras functions from a .keras config, which is
    why no architecture is ever read: a leftover model_.keras is ignored."""
    import keras

    folder = shutil.copytree(saved / "deep_svdd", tmp_path / "model")
    (folder / "model_.keras").write_bytes(b"PK anything")
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: pytest.fail("read .keras"))
    assert np.isfinite(persistence.load(folder).score_samples(np.zeros((1, SIZE, SIZE)))).all()


# ------------------------------------------------------------------ saving, with others around


def test_a_file_created_at_the_target_while_saving_is_kept(saved, tmp_path, monkeypatch):
    detector = persistence.load(saved / "hog_ocsvm")
    target = tmp_path / "model"
    real_savez = np.savez

    def savez_then_someone_writes(*args, **kwargs):
        real_savez(*args, **kwargs)
        target.write_text("mine")

    monkeypatch.setattr(np, "savez", savez_then_someone_writes)
    with pytest.raises(ModelFolderError, match="another program created it while saving"):
        persistence.save(detector, target)
    assert target.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging left


def test_files_appearing_in_a_replaced_model_are_kept(saved, tmp_path, monkeypatch):
    detector = persistence.load(saved / "hog_ocsvm")
    target = shutil.copytree(saved / "hog_ocsvm", tmp_path / "model")
    before = _snapshot(target)
    real_savez = np.savez

    def savez_then_someone_writes(*args, **kwargs):
        real_savez(*args, **kwargs)
        (target / "notes.txt").write_text("mine")

    monkeypatch.setattr(np, "savez", savez_then_someone_writes)
    with pytest.raises(ModelFolderError, match="other files appeared in it while saving"):
        persistence.save(detector, target, force=True)
    assert _snapshot(target) == {**before, target / "notes.txt": b"mine"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_the_next_save_removes_what_a_killed_save_left(saved, tmp_path):
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    ours = shutil.copytree(saved / "hog_ocsvm", tmp_path / f"{outputs.PREFIX}{dead}.abc")
    running = shutil.copytree(saved / "hog_ocsvm", tmp_path / f"{outputs.PREFIX}{os.getpid()}.y")
    users = shutil.copytree(saved / "hog_ocsvm", tmp_path / f"saving-{dead}-x")
    persistence.save(persistence.load(saved / "hog_ocsvm"), tmp_path / "model")
    assert not ours.exists() and running.exists() and users.exists()


def test_a_model_moved_aside_by_a_save_killed_midway_is_put_back(saved, tmp_path):
    # A save replacing "model" moves it aside, then renames the new one in: killed in between,
    # it leaves no "model", only the earlier one under a temporary name.
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    before = _snapshot(shutil.copytree(saved / "hog_ocsvm", tmp_path / "model"))
    aside = tmp_path / f"{outputs.PREFIX}{dead}.abc{outputs.ASIDE}model"
    (tmp_path / "model").rename(aside)
    detector = persistence.load(saved / "hog_ocsvm")
    with pytest.raises(ModelFolderError, match="force"):  # back, so not replaced without force
        persistence.save(detector, tmp_path / "model")
    assert {p.relative_to(tmp_path / "model") for p in _snapshot(tmp_path / "model")} == {
        p.relative_to(tmp_path / "model") for p in before
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    # Killed after the new one took the name: the earlier one is what force=True replaced.
    copy = shutil.copytree(tmp_path / "model", aside)
    persistence.save(detector, tmp_path / "model", force=True)
    assert not copy.exists() and (tmp_path / "model" / "detector.json").is_file()


def test_a_saved_folder_follows_the_umask(saved, tmp_path):
    mask = os.umask(0o027)
    try:
        path = persistence.save(persistence.load(saved / "hog_ocsvm"), tmp_path / "model")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o750
    assert (path / "detector.json").stat().st_mode & 0o777 == 0o640
