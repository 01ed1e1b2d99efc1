"""The bad-input matrix: every mistake a user can make, one parametrised test per layer.

Each case ends in the project's own error (a ValueError) whose single line contains the
fragment listed, and changes nothing on disk. Layers: the folder loader, the command line and
the Python API (arrays, detectors). Crafted model folders: tests/test_model_folders.py.
"""

import json
import os
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from anomaly_tutorial import cli, datasets, persistence
from anomaly_tutorial.datasets import imagefiles
from anomaly_tutorial.detectors import make_detector
from anomaly_tutorial.errors import AnomalyTutorialError
from anomaly_tutorial.images import as_images

SIZE = 16


def _pixels(seed, size=(SIZE, SIZE), channels=None):
    shape = size if channels is None else (*size, channels)
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _write(path: Path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, pixels)


def _dataset_folder(root: Path, n_train=12) -> Path:
    """A tiny valid MVTec-layout folder: train/good, test/good, test/scratch with masks."""
    for index in range(n_train):
        _write(root / "train" / "good" / f"{index:03d}.png", _pixels(index))
    for index in range(2):
        _write(root / "test" / "good" / f"{index:03d}.png", _pixels(50 + index))
        _write(root / "test" / "scratch" / f"{index:03d}.png", _pixels(60 + index))
        mask = np.zeros((SIZE, SIZE), np.uint8)
        mask[2:6, 2:6] = 255
        _write(root / "ground_truth" / "scratch" / f"{index:03d}_mask.png", mask)
    return root


def _snapshot(root: Path) -> dict:
    return {
        path.relative_to(root): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
    }


def _deny(monkeypatch, target: Path):
    """Make ``target`` unreadable as far as the code can tell (tests run as root, too)."""
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != target and real(path, mode))


def _truncate(path: Path):
    path.write_bytes(path.read_bytes()[:40])


# --------------------------------------------------------------------------- loader layer

LOADER_CASES = {
    "missing folder": (lambda root, mp: root / "nowhere", "does not exist"),
    "file, not a folder": (lambda root, mp: _file(root / "x.txt"), "is not a folder"),
    "no train/good": (lambda root, mp: _moved(root / "train" / "good"), "missing train/good"),
    "empty train/good": (lambda root, mp: _emptied(root / "train" / "good"), "no images"),
    "unreadable train/good": (
        lambda root, mp: _denied(mp, root, root / "train" / "good"),
        "permission denied",
    ),
    "unreadable train": (lambda root, mp: _denied(mp, root, root / "train"), "permission denied"),
    "unlistable folder": (lambda root, mp: _unlistable(mp, root), "cannot list"),
    "unreadable image": (lambda root, mp: _unreadable_image(mp, root), "permission denied"),
    "non-image file": (
        lambda root, mp: _file(root / "train" / "good" / "notes.txt", root),
        "notes.txt: not an image file",
    ),
    "sub-folder in train/good": (
        lambda root, mp: _mkdir(root / "train" / "good" / "more", root),
        "unexpected sub-folder",
    ),
    "corrupt image": (
        lambda root, mp: _file(root / "train" / "good" / "bad.png", root, b"not a png"),
        "bad.png: cannot read this image file",
    ),
    "truncated image": (
        lambda root, mp: _then(_truncate(root / "train" / "good" / "001.png"), root),
        "001.png: cannot read",
    ),
    "empty image file": (
        lambda root, mp: _file(root / "test" / "good" / "zero.png", root, b""),
        "zero.png: cannot read",
    ),
    "one-pixel image": (
        lambda root, mp: _image(root / "train" / "good" / "dot.png", root, _pixels(0, (1, 1))),
        "unsupported image shape",
    ),
    "mixed sizes": (
        lambda root, mp: _image(root / "train" / "good" / "big.png", root, _pixels(0, (20, 16))),
        "mixed sizes",
    ),
    "mixed channels": (
        lambda root, mp: _image(
            root / "test" / "good" / "rgb.png", root, _pixels(0, (SIZE, SIZE), 3)
        ),
        "mixed grayscale and colour",
    ),
    "loose file in test/": (
        lambda root, mp: _image(root / "test" / "loose.png", root, _pixels(0)),
        "sub-folders",
    ),
    "test/ is a file": (lambda root, mp: _replaced_by_file(root / "test", root), "not a folder"),
    "ground_truth/ is a file": (
        lambda root, mp: _replaced_by_file(root / "ground_truth", root),
        "not a folder",
    ),
    "mask without image": (
        lambda root, mp: _image(root / "ground_truth" / "scratch" / "007_mask.png", root),
        "mask has no matching image",
    ),
    "defect image without mask": (
        lambda root, mp: _then((root / "ground_truth/scratch/001_mask.png").unlink(), root),
        "defect image has no mask",
    ),
    "mask of another size": (
        lambda root, mp: _image(
            root / "ground_truth" / "scratch" / "000_mask.png", root, _pixels(0, (8, 8))
        ),
        "mask is 8x8 pixels",
    ),
    "image above max_pixels": (
        lambda root, mp: (root, {"max_pixels": 100}),
        "more than max_pixels=100",
    ),
    "bad resize option": (lambda root, mp: (root, {"resize": (0, 5)}), "resize"),
    "bad color option": (lambda root, mp: (root, {"color": "grey"}), "color"),
    "FIFO named .png": (
        lambda root, mp: _fifo(root / "train" / "good" / "pipe.png", root),
        "pipe.png: is a FIFO (named pipe), not an image file",
    ),
    "read_images: missing file": (lambda root, mp: [root / "no.png"], "does not exist"),
    "read_images: text file": (lambda root, mp: [_file(root / "a.txt")], "not an image file"),
    "read_images: no paths": (lambda root, mp: [], "no paths"),
    "read_images: empty folder": (lambda root, mp: [_mkdir(root / "empty")], "no images"),
}


def _file(path, result=None, data=b"x"):
    path.write_bytes(data)
    return result if result is not None else path


def _fifo(path, result):
    os.mkfifo(path)  # opening it would wait for a writer forever
    return result


def _image(path, root, pixels=None):
    _write(path, _pixels(0) if pixels is None else pixels)
    return root


def _mkdir(path, result=None):
    path.mkdir()
    return result if result is not None else path


def _then(_, result):
    return result


def _moved(folder):
    folder.rename(folder.with_name("normal"))
    return folder.parent.parent


def _emptied(folder):
    shutil.rmtree(folder)
    folder.mkdir()
    return folder.parent.parent


def _replaced_by_file(folder, root):
    shutil.rmtree(folder)
    folder.write_text("x")
    return root


def _denied(monkeypatch, root, folder):
    _deny(monkeypatch, folder)
    return root


def _unlistable(monkeypatch, root):
    real = Path.iterdir

    def iterdir(path):
        if path == root / "test":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    return root


def _unreadable_image(monkeypatch, root):
    real = os.open

    def open_(path, *args, **kwargs):
        if Path(path).name == "003.png":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    return root


@pytest.mark.parametrize("case", LOADER_CASES)
def test_loader_refuses_bad_input_with_one_line_naming_the_problem(case, tmp_path, monkeypatch):
    root = _dataset_folder(tmp_path / "parts")
    build, fragment = LOADER_CASES[case]
    target = build(root, monkeypatch)
    before = _snapshot(tmp_path)
    with pytest.raises(AnomalyTutorialError) as caught:
        if isinstance(target, list):
            datasets.read_images(target)
        else:
            path, options = target if isinstance(target, tuple) else (target, {})
            datasets.load_folder(path, **options)
    message = str(caught.value)
    assert fragment in message and "\n" not in message
    assert _snapshot(tmp_path) == before


def test_the_size_limit_is_read_from_the_header_without_decoding(tmp_path, monkeypatch):
    _write(tmp_path / "big.png", np.zeros((300, 400), np.uint8))
    monkeypatch.setattr(iio, "imread", lambda *args, **kwargs: pytest.fail("decoded"))
    with pytest.raises(datasets.DatasetError, match="400x300 pixels.*--max-pixels"):
        imagefiles.read_image(tmp_path / "big.png", max_pixels=1000)


# --------------------------------------------------------------------------- CLI layer


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A hog_ocsvm and a (quick, small) conv_autoencoder model, trained on a tiny folder."""
    root = _dataset_folder(tmp_path_factory.mktemp("data") / "parts")
    folder = tmp_path_factory.mktemp("models")
    for name in ("hog_ocsvm", "conv_autoencoder"):
        words = ["train", "--detector", name, "--quick", "--data", root, "--out", folder / name]
        assert cli.main([str(word) for word in words]) == 0
    return folder


CLI_CASES = {
    "unknown detector": (["train", "--detector", "svm", "--data", "{data}", "--out", "m"], "svm"),
    "train: missing data": (["train", "--detector", "hog_ocsvm", "--data", "no", "--out", "m"], "does not exist"),
    "train: no train/good": (["train", "--detector", "hog_ocsvm", "--data", ".", "--out", "m"], "missing train/good"),
    "train: supervised detector": (["train", "--detector", "labeled_regressor", "--data", "{data}", "--out", "m"], "needs labelled anomalies"),
    "train: false alarm rate": (["train", "--detector", "hog_ocsvm", "--data", "{data}", "--out", "m", "--false-alarm-rate", "1.5"], "--false-alarm-rate must be in [0, 1)"),
    "train: max pixels 0": (["train", "--detector", "hog_ocsvm", "--data", "{data}", "--out", "m", "--max-pixels", "0"], "positive integer"),
    "train: image above --max-pixels": (["train", "--detector", "hog_ocsvm", "--data", "{data}", "--out", "m", "--max-pixels", "100"], "more than max_pixels=100"),
    "train: too few images": (["train", "--detector", "hog_ocsvm", "--data", "{one}", "--out", "m"], "Cannot hold out"),
    "train: model exists": (["train", "--detector", "hog_ocsvm", "--data", "{data}", "--out", "{hog}"], "Use force=True (CLI: --force)"),
    "train: out folder with a user's files": (["train", "--detector", "hog_ocsvm", "--data", "{data}", "--out", "{data}", "--force"], "holds other files"),
    "train: model folder with a user's file": (["train", "--detector", "hog_ocsvm", "--data", "{data}", "--out", "{hog_notes}", "--force"], "did not write (notes.txt)"),
    "train: out parent missing": (["train", "--detector", "hog_ocsvm", "--data", "{data}", "--out", "a/b/m"], "does not exist"),
    "train: out is a file": (["train", "--detector", "hog_ocsvm", "--data", "{data}", "--out", "{file}"], "is a file"),
    "train: out parent read-only": (["train", "--detector", "hog_ocsvm", "--data", "{data}", "--out", "{readonly}/m"], "is not writable"),
    "train: unreadable train/good": (["train", "--detector", "hog_ocsvm", "--data", "{unreadable}", "--out", "m"], "permission denied"),
    "train: --epochs for hog_ocsvm": (["train", "--detector", "hog_ocsvm", "--data", "{data}", "--out", "m", "--epochs", "3"], "--epochs apply to the Keras detectors only"),
    "train: --batch-size 0": (["train", "--detector", "conv_autoencoder", "--data", "{data}", "--out", "m", "--batch-size", "0"], "positive integer"),
    "train: --tile larger than the images": (["train", "--detector", "hog_ocsvm", "--data", "{data}", "--out", "m", "--tile", "64"], "does not fit in the 16x16 images"),
    "score: not a model": (["score", "--model", "{data}", "{good}"], "not a saved anomaly-tutorial detector"),
    "score: model saved by version 1": (["score", "--model", "{old}", "{good}"], "older version"),
    "score: model without its arrays": (["score", "--model", "{unfinished}", "{good}"], "is missing (no arrays.npz)"),
    "score: missing image": (["score", "--model", "{hog}", "no.png"], "does not exist"),
    "score: empty folder": (["score", "--model", "{hog}", "{empty}"], "contains no images"),
    "score: corrupt image": (["score", "--model", "{hog}", "{corrupt}"], "cannot read this image"),
    "score: wrong image size": (["score", "--model", "{hog}", "{small}"], "the images are 8x8 but"),
    "score: csv exists": (["score", "--model", "{hog}", "{good}", "--out", "{file}"], "Use --force"),
    "score: a user's csv with --force": (["score", "--model", "{hog}", "{good}", "--out", "{file}", "--force"], "not written by anomaly-tutorial"),
    "score: out is a folder": (["score", "--model", "{hog}", "{good}", "--out", "{empty}"], "is a folder"),
    "score: maps without maps": (["score", "--model", "{hog}", "{good}", "--maps", "maps"], "has no anomaly maps"),
    "score: maps name clash": (["score", "--model", "{ae}", "{a_000}", "{b_000}", "--maps", "maps"], "would both write"),
    "score: non-UTF-8 file name": (["score", "--model", "{hog}", "{latin1}"], "not valid UTF-8"),
    "score: a FIFO named .png": (["score", "--model", "{hog}", "{fifo}"], "pipe.png: is a FIFO (named pipe)"),
    "score: --out inside an input folder": (["score", "--model", "{hog}", "{good}", "--out", "{good}/s.csv"], "would land inside the input"),
    "score: --maps inside an input folder": (["score", "--model", "{ae}", "{good}", "--maps", "{good}/maps"], "--maps"),
    "score: --out onto an input image": (["score", "--model", "{hog}", "{a_000}", "--out", "{a_000}", "--force"], "would land inside the input"),
    "score: a path over 4096 characters": (["score", "--model", "{hog}", "{long}.png"], "File name too long"),
    "score: --out over 4096 characters": (["score", "--model", "{hog}", "{good}", "--out", "{long}.csv"], "File name too long"),
    "benchmark: unknown dataset": (["benchmark", "--quick", "--datasets", "mnist", "--out", "r"], "mnist"),
    "benchmark: report exists": (["benchmark", "--quick", "--datasets", "faces", "--out", "{report}"], "Use --force"),
    "benchmark: a user's figure": (["benchmark", "--quick", "--datasets", "faces", "--detectors", "hog_ocsvm", "--out", "{figure}", "--force"], "roc_faces.png exists and was not written"),
    "benchmark: out is a file": (["benchmark", "--quick", "--datasets", "faces", "--out", "{file}"], "is a file, not a folder"),
    "make-data: generator refuses": (["make-data", "--out", "{data}"], "already exists; pass force=True"),
    "make-data: out is a file": (["make-data", "--out", "{file}"], "mine.csv is a file, not a folder"),
}  # fmt: skip


def _cli_places(tmp_path: Path, models: Path, monkeypatch) -> dict:
    """Every folder and file a CLI case can name, made on demand in ``tmp_path``."""
    data = _dataset_folder(tmp_path / "data")
    one = _dataset_folder(tmp_path / "one", n_train=1)
    places = {"data": data, "one": one, "good": data / "test" / "good"}
    for name in ("hog", "old", "hog_notes"):
        places[name] = shutil.copytree(models / "hog_ocsvm", tmp_path / name)
    places["unfinished"] = shutil.copytree(models / "conv_autoencoder", tmp_path / "unfinished")
    places["ae"] = models / "conv_autoencoder"
    (places["hog_notes"] / "notes.txt").write_text("mine")
    _edit_meta(places["old"], lambda meta: meta.update(version=1, threshold=0.5))
    (places["unfinished"] / "arrays.npz").unlink()
    places["file"] = _file(tmp_path / "mine.csv")
    places["empty"] = _mkdir(tmp_path / "empty")
    places["corrupt"] = _file(tmp_path / "corrupt.png", data=b"garbage")
    places["small"] = _image(tmp_path / "small.png", tmp_path / "small.png", _pixels(0, (8, 8)))
    for folder in ("a", "b"):
        places[f"{folder}_000"] = shutil.copy(data / "test/good/000.png", _mkdir(tmp_path / folder))
    latin1 = os.fsdecode(b"caf\xe9.png")  # not UTF-8: Python keeps it as a surrogate escape
    places["latin1"] = shutil.copy(data / "test/good/000.png", tmp_path / latin1)
    places["fifo"] = _fifo(tmp_path / "pipe.png", tmp_path / "pipe.png")
    places["long"] = "/".join(["d" * 200] * 25)  # 5024 characters: more than PATH_MAX
    places["report"] = _mkdir(tmp_path / "report")
    _file(places["report"] / "benchmark.md")
    places["figure"] = _mkdir(tmp_path / "figure")
    _file(places["figure"] / "roc_faces.png")
    places["readonly"] = _mkdir(tmp_path / "readonly")
    places["unreadable"] = _dataset_folder(tmp_path / "unreadable")
    real_access = os.access
    denied = {places["readonly"], places["unreadable"] / "train" / "good"}
    monkeypatch.setattr(
        os, "access", lambda p, mode: Path(p) not in denied and real_access(p, mode)
    )

    def refuse(out, **options):
        raise FileExistsError(f"{out}/brick: already exists; pass force=True (or --force) ...")

    from anomaly_tutorial.datasets import textures

    monkeypatch.setattr(textures, "generate_textures", refuse)
    return places


def _edit_meta(folder: Path, change):
    meta = json.loads((folder / persistence.META).read_text())
    change(meta)
    (folder / persistence.META).write_text(json.dumps(meta))


@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_refuses_bad_input_with_one_line_and_exit_code_2(
    case, models, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    places = _cli_places(tmp_path, models, monkeypatch)
    words, fragment = CLI_CASES[case]
    arguments = [word.format(**places) for word in words]
    before = _snapshot(tmp_path)
    try:
        code = cli.main(arguments)
    except SystemExit as stop:  # argparse's own one-line usage errors
        code = stop.code
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == cli.EXIT_USAGE
    assert len(errors) == 1 and err.endswith(errors[0]) and "Traceback" not in err, err
    assert fragment in errors[0], err
    assert _snapshot(tmp_path) == before  # nothing written, nothing deleted


# --------------------------------------------------------------------------- Python API layer


def _fitted_hog():
    return make_detector("hog_ocsvm").fit(np.random.default_rng(0).random((12, SIZE, SIZE)))


API_CASES = {
    "2-D array": (lambda s, t: as_images(np.zeros((4, 4))), "(n, H, W)"),
    "one RGB image": (lambda s, t: as_images(np.zeros((8, 8, 3))), "X[None]"),
    "object array": (lambda s, t: as_images(np.array([None, 1], dtype=object)), "dtype=object"),
    "NaN": (lambda s, t: as_images(np.full((2, 4, 4), np.nan)), "NaN"),
    "values above 1": (lambda s, t: as_images(np.full((2, 4, 4), 255.0)), "[0, 1]"),
    "bool images": (lambda s, t: as_images(np.zeros((2, 4, 4), bool)), "dtype bool"),
    "no images": (lambda s, t: as_images(np.zeros((0, 4, 4))), "no images"),
    "two channels": (lambda s, t: as_images(np.zeros((2, 4, 4, 2))), "channels"),
    "1x1 images": (lambda s, t: as_images(np.zeros((2, 1, 1))), "at least 2x2"),
    "ragged list": (lambda s, t: as_images([np.zeros((4, 4)), np.zeros((5, 4))]), "X is a ragged list"),
    "ragged list to fit": (lambda s, t: make_detector("hog_ocsvm").fit([[[0.0] * 8] * 8] * 4 + [[[0.0] * 8] * 9]), "X is a ragged list"),
    "complex images": (lambda s, t: as_images(np.zeros((2, 4, 4), complex)), "X has complex values"),
    "a path to score_samples": (lambda s, t: _fitted_hog().score_samples("folder"), "X is a path ('folder'), not an array"),
    "fit on one image": (
        lambda s, t: make_detector("hog_ocsvm").fit(np.zeros((1, 8, 8))),
        "Cannot hold out validation_fraction=0.2 of 1 image",
    ),
    "score another size": (lambda s, t: _fitted_hog().score_samples(np.zeros((2, 8, 8))), "fitted on 16x16"),
    "labelled without y": (lambda s, t: make_detector("labeled_regressor").fit(np.zeros((8, 8, 8))), "requires y"),
    "labelled with one class": (lambda s, t: make_detector("labeled_regressor").fit(np.zeros((8, 8, 8)), np.zeros(8)), "both classes"),
    "labelled with y of another length": (lambda s, t: make_detector("labeled_regressor").fit(np.zeros((8, 8, 8)), [0, 1] * 2), "one label per image"),
    "labelled with y = 2": (lambda s, t: make_detector("labeled_regressor").fit(np.zeros((4, 8, 8)), [0, 1, 2, 1]), "only 0 (normal) and 1"),
    "epochs=2.7": (lambda s, t: make_detector("deep_svdd", epochs=2.7).fit(np.zeros((4, 8, 8))), "'epochs' parameter of DeepSVDD must be an int"),
    "latent_dim=None for Deep SVDD": (lambda s, t: make_detector("deep_svdd", latent_dim=None).fit(np.zeros((4, 8, 8))), "'latent_dim' parameter"),
    "filters=()": (lambda s, t: make_detector("conv_autoencoder", filters=()).fit(np.zeros((4, 8, 8))), "non-empty tuple of positive ints"),
    "unknown parameter": (lambda s, t: make_detector("hog_ocsvm", nb_epoch=3), "Valid parameters are"),
    "unknown detector": (lambda s, t: make_detector("svm"), "Unknown detector 'svm'"),
    "set_threshold with rate 1": (lambda s, t: _fitted_hog().set_threshold(np.zeros((2, SIZE, SIZE)), 1.0), "false_alarm_rate"),
}  # fmt: skip


@pytest.mark.parametrize("case", API_CASES)
def test_python_api_refuses_bad_input_with_one_line(case, tmp_path):
    run, fragment = API_CASES[case]
    with pytest.raises(ValueError) as caught:  # the project's own errors, or scikit-learn's
        run(None, tmp_path)
    message = str(caught.value)
    assert fragment in message and "\n" not in message, message
