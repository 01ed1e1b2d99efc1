"""The anomaly-tutorial command: happy paths as a user runs them, and every mistake as one line."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
from skimage import io

from anomaly_tutorial import cli, datasets

QUICK_ENV = dict(os.environ, ANOMALY_TUTORIAL_QUICK="1")


def _run(*arguments, cwd):
    return subprocess.run(
        [sys.executable, "-m", "anomaly_tutorial", *map(str, arguments)],
        cwd=cwd,
        env=QUICK_ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """A small MVTec-layout folder cut from the brick data, as a user would have."""
    folder = tmp_path_factory.mktemp("data") / "parts"
    small = datasets.load_textures("brick", "dev").subset(n_train=40, n_test_per_type=3)
    datasets.write_folder(small, folder)
    return folder


@pytest.fixture(scope="module")
def hog_model(parts, tmp_path_factory):
    model = tmp_path_factory.mktemp("models") / "hog"
    assert _train(parts, model) == 0
    return model


def _one_line_error(capsys, code, *words):
    captured = capsys.readouterr()
    assert code == cli.EXIT_USAGE
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_train_then_score_from_the_command_line(parts, tmp_path):
    trained = _run(*"train --detector hog_ocsvm --out model --data".split(), parts, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "Threshold" in trained.stdout and (tmp_path / "model" / "detector.json").is_file()

    crack = next((parts / "test" / "crack").glob("*.png"))
    images = [parts / "test" / "good", crack]
    scored = _run("score", "--model", "model", *images, cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    with open(tmp_path / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert {row["label"] for row in rows} <= {"normal", "anomaly"}
    assert all(float(row["anomaly_score"]) == float(row["anomaly_score"]) for row in rows)


def test_score_writes_anomaly_map_overlays_for_a_localising_detector(parts, tmp_path):
    words = "train --detector conv_autoencoder --quick --out ae --data".split()
    trained = _run(*words, parts, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    crack = parts / "test" / "crack"
    scored = _run("score", "--model", "ae", crack, "--maps", "maps", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    assert sorted(path.name for path in (tmp_path / "maps").iterdir()) == [
        f"{path.stem}_map.png" for path in sorted(crack.iterdir())
    ]


def test_benchmark_prints_a_table_and_writes_a_report(tmp_path):
    words = "benchmark --quick --datasets faces --detectors hog_ocsvm --out reports".split()
    result = _run(*words, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| faces | hog_ocsvm |" in result.stdout
    assert "[1/1] hog_ocsvm on faces" in result.stderr
    report = (tmp_path / "reports" / "benchmark.md").read_text()
    assert "image_auroc" in report and "CPU cores" in report
    assert (tmp_path / "reports" / "image_auroc.png").is_file()


def test_make_data_writes_textures_and_glyphs_and_refuses_to_overwrite(tmp_path, monkeypatch):
    from anomaly_tutorial.datasets import glyphs

    monkeypatch.setattr(glyphs, "PER_CLASS", 3)  # the real 4000 glyphs take 20 s
    assert cli.main(["make-data", "--out", str(tmp_path / "data")]) == 0
    textures = tmp_path / "data" / "textures"
    assert len(list((textures / "brick" / "train" / "good").glob("*.png"))) == 240
    assert len(list((tmp_path / "data" / "glyphs" / "7").glob("*.png"))) == 3
    assert cli.main(["make-data", "--out", str(tmp_path / "data")]) == cli.EXIT_USAGE


def _cli(*words):
    return cli.main([str(word) for word in words])


def _train(data, out, detector="hog_ocsvm"):
    return _cli("train", "--detector", detector, "--data", data, "--out", out)


def _score(model, *paths, out, extra=()):
    return _cli("score", "--model", model, *paths, "--out", out, *extra)


def test_no_command_shows_help(capsys):
    assert cli.main([]) == cli.EXIT_USAGE
    assert "benchmark" in capsys.readouterr().out


def test_unknown_detector_is_one_line(capsys, parts, tmp_path):
    with pytest.raises(SystemExit) as stop:
        _train(parts, tmp_path / "m", detector="svm")
    _one_line_error(capsys, stop.value.code, "svm")


def test_train_on_a_missing_folder_names_it(capsys, tmp_path):
    _one_line_error(capsys, _train(tmp_path / "nowhere", tmp_path / "m"), "nowhere")


def test_train_on_an_empty_folder_says_train_good_is_missing(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    _one_line_error(capsys, _train(tmp_path / "empty", tmp_path / "m"), "train")


def test_train_refuses_the_supervised_detector(capsys, parts, tmp_path):
    code = _train(parts, tmp_path / "m", detector="labeled_regressor")
    _one_line_error(capsys, code, "labelled")


def test_train_does_not_replace_a_model_without_force(capsys, parts, hog_model):
    before = (hog_model / "detector.json").read_bytes()
    _one_line_error(capsys, _train(parts, hog_model), "--force")
    assert (hog_model / "detector.json").read_bytes() == before


def test_score_rejects_images_of_the_wrong_size(capsys, hog_model, tmp_path):
    io.imsave(tmp_path / "small.png", np.zeros((32, 32), dtype=np.uint8), check_contrast=False)
    code = _score(hog_model, tmp_path / "small.png", out=tmp_path / "s.csv")
    _one_line_error(capsys, code, "32x32", "64x64")
    assert not (tmp_path / "s.csv").exists()


def test_score_rejects_a_folder_that_is_not_a_model(capsys, parts, tmp_path):
    code = _score(parts, parts / "test" / "good", out=tmp_path / "s.csv")
    _one_line_error(capsys, code, "not a saved anomaly-tutorial detector")


def test_score_rejects_an_empty_image_folder(capsys, hog_model, tmp_path):
    (tmp_path / "nothing").mkdir()
    code = _score(hog_model, tmp_path / "nothing", out=tmp_path / "s.csv")
    _one_line_error(capsys, code, "nothing")


def test_score_does_not_overwrite_an_existing_csv_without_force(capsys, parts, hog_model, tmp_path):
    (tmp_path / "s.csv").write_text("mine")
    good = parts / "test" / "good"
    _one_line_error(capsys, _score(hog_model, good, out=tmp_path / "s.csv"), "--force")
    assert (tmp_path / "s.csv").read_text() == "mine"
    assert _score(hog_model, good, out=tmp_path / "s.csv", extra=["--force"]) == 0
    assert (tmp_path / "s.csv").read_text().startswith("path,anomaly_score,label")


def test_maps_need_a_localising_detector(capsys, parts, hog_model, tmp_path):
    maps = ["--maps", tmp_path / "maps"]
    code = _score(hog_model, parts / "test" / "good", out=tmp_path / "s.csv", extra=maps)
    _one_line_error(capsys, code, "anomaly maps")


def test_benchmark_rejects_unknown_dataset_names(capsys, tmp_path):
    code = _cli("benchmark", "--quick", "--datasets", "mnist", "--out", tmp_path / "r")
    _one_line_error(capsys, code, "mnist")


def test_benchmark_does_not_replace_a_report_without_force(capsys, tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "benchmark.md").write_text("mine")
    code = _cli("benchmark", "--quick", "--datasets", "faces", "--out", tmp_path / "r")
    _one_line_error(capsys, code, "--force")
    assert (tmp_path / "r" / "benchmark.md").read_text() == "mine"
