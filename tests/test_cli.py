"""The anomaly-tutorial command: happy paths as a user runs them, one threshold, safe outputs.

Every mistake that must end in one line is in the CLI bad-input matrix (test_bad_inputs.py).
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anomaly_tutorial import cli, datasets, outputs, persistence, report
from anomaly_tutorial.detectors import make_detector
from anomaly_tutorial.outputs import MANIFEST

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


def _cli(*words):
    return cli.main([str(word) for word in words])


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_train_then_score_from_the_command_line(parts, tmp_path):
    trained = _run(*"train --detector hog_ocsvm --out model --data".split(), parts, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "Threshold" in trained.stdout and (tmp_path / "model" / "detector.json").is_file()

    crack = next((parts / "test" / "crack").glob("*.png"))
    images = [parts / "test" / "good", crack]
    scored = _run("score", "--model", "model", *images, cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    rows = _rows(tmp_path / "scores.csv")
    assert len(rows) == 4
    assert {row["label"] for row in rows} <= {"normal", "anomaly"}
    assert all(np.isfinite(float(row["anomaly_score"])) for row in rows)


def test_predict_the_cli_labels_and_a_loaded_model_agree_image_by_image(parts, hog_model, tmp_path):
    dataset = datasets.load_folder(parts)
    in_python = make_detector("hog_ocsvm").fit(dataset.train_images)
    loaded = persistence.load(hog_model)
    assert loaded.offset_ == in_python.offset_
    folders = [parts / "test" / kind for kind in dataset.test_types]  # the loader's order
    assert _cli("score", "--model", hog_model, *folders, "--out", tmp_path / "s.csv") == 0
    rows = _rows(tmp_path / "s.csv")
    assert [Path(row["path"]) for row in rows] == [Path(path) for path in dataset.test_paths]
    cli_says = np.array([row["label"] == "anomaly" for row in rows])
    np.testing.assert_array_equal(cli_says, in_python.predict(dataset.test_images) == -1)
    np.testing.assert_array_equal(cli_says, loaded.predict(dataset.test_images) == -1)
    scores = np.array([float(row["anomaly_score"]) for row in rows])
    np.testing.assert_allclose(scores, -loaded.score_samples(dataset.test_images), rtol=1e-5)


def test_train_passes_the_false_alarm_rate_to_the_detector(parts, tmp_path):
    words = ["train", "--detector", "hog_ocsvm", "--data", parts, "--false-alarm-rate", "0.3"]
    assert _cli(*words, "--out", tmp_path / "m") == 0
    assert persistence.load(tmp_path / "m").false_alarm_rate == 0.3


def test_score_mirrors_the_input_folders_in_the_overlay_folder(
    parts, tmp_path, monkeypatch, capsys
):
    # In this process: test_train_then_score_from_the_command_line runs the real command.
    monkeypatch.chdir(tmp_path)
    assert _cli(*"train --detector conv_autoencoder --quick --out ae --data".split(), parts) == 0
    assert "preset 'texture' (conv_autoencoder.choose_preset)" in capsys.readouterr().out  # brick
    assert persistence.load(tmp_path / "ae").mask_rate == 0.25
    crack, good = parts / "test" / "crack", parts / "test" / "good"
    assert _cli("score", "--model", "ae", crack, good, "--maps", "maps") == 0
    maps = tmp_path / "maps"
    written = sorted(path.relative_to(maps).as_posix() for path in maps.rglob("*.png"))
    inputs = [file for folder in (crack, good) for file in folder.iterdir()]
    assert written == sorted(f"{file.parent.name}/{file.stem}_map.png" for file in inputs)
    assert len(written) == 6


SCALE = {"vmin": 0.0, "vmax": 6.0, "level": 3.0, "share": 0.01}


def test_an_overlay_is_titled_with_its_file_score_and_label():
    from anomaly_tutorial.scoring import ScoredImage

    image = np.random.default_rng(0).random((16, 16, 1)).astype(np.float32)
    row = ScoredImage("parts/test/crack/007.png", 2.5, -1, image=image, anomaly_map=image[..., 0])
    figure = report.overlay_figure(row, SCALE)
    assert figure.axes[0].get_title() == "crack/007.png\nscore 2.5: anomaly"
    assert outputs.figure_bytes(figure).startswith(b"\x89PNG")


def test_the_scoring_speed_printed_leaves_out_the_time_spent_drawing_overlays():
    # 62 images scored in 0.9 s once read 7 images/s, the 8 s of drawing their overlays counted in.
    run = report.ScoreRun(Path("scores.csv"), (8, 8, 1), Path("maps"), SCALE, images=62)
    run.flagged, run.seconds, run.drawing = 56, 8.6, 7.7
    scored, overlays = str(run).splitlines()
    assert scored == "Scored 62 images, 56 predicted anomalous -> scores.csv (0.9 s, 69 images/s)"
    assert overlays.startswith("Wrote 62 anomaly-map overlays to maps (7.7 s), all on one")


def test_every_overlay_of_a_run_has_the_colour_scale_of_the_model():
    # A normal image's faint map and a defect's strong one: the same value, the same colour.
    from anomaly_tutorial.scoring import ScoredImage

    class Model:  # what overlay_scale asks of a detector
        def map_threshold(self):
            return 3.0, 0.01

    scale = report.overlay_scale(Model())
    assert scale == {"vmin": 0.0, "vmax": 6.0, "level": 3.0, "share": 0.01}
    image = np.zeros((16, 16, 1), np.float32)
    for top in (0.75, 45.0):
        faint_or_strong = np.linspace(-1.0, top, 256, dtype=np.float32).reshape(16, 16)
        row = ScoredImage("good/1.png", top, 1, image=image, anomaly_map=faint_or_strong)
        figure = report.overlay_figure(row, scale)
        heat = figure.axes[1].get_images()[-1]  # the map drawn over the image
        assert heat.get_clim() == (0.0, 6.0)
        bar = next(axes for axes in figure.axes if axes.get_label() == "<colorbar>")
        assert "threshold level 3" in bar.get_ylabel()
        assert [line.get_ydata()[0] for line in bar.get_lines()] == [3.0]


@pytest.mark.parametrize(
    ("name", "reductions"),
    [("patch_knn", ("combined", "max", "mean")), ("conv_autoencoder", ("max", "mean"))],
)
def test_the_map_threshold_is_the_threshold_in_map_units(parts, name, reductions):
    from anomaly_tutorial.detectors.anomaly_maps import image_scores

    data = datasets.load_folder(parts)
    detector = make_detector(name, quick=True).fit(data.train_images)
    maps = detector.anomaly_map(data.test_images)
    for reduction in reductions:
        detector.set_params(reduction=reduction)
        detector.set_threshold(data.train_images)
        level, share = detector.map_threshold()
        hottest = image_scores(maps, "mean" if share == 1.0 else "max", share)
        flagged = detector.predict(data.test_images) == -1
        assert flagged[hottest > level].all()  # a spot above the level: always flagged
        if reduction != "combined":  # the image score is the map's alone: exactly the rule
            np.testing.assert_array_equal(flagged, hottest > level)


def test_benchmark_prints_a_table_and_writes_a_report(tmp_path, monkeypatch, capfd):
    words = "benchmark --quick --datasets faces --detectors hog_ocsvm --out reports".split()
    result = _run(*words, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| faces | hog_ocsvm |" in result.stdout
    assert "[1/1] hog_ocsvm on faces" in result.stderr
    report = (tmp_path / "reports" / "benchmark.md").read_text()
    assert "image_auroc" in report and "CPU cores" in report
    assert (tmp_path / "reports" / "image_auroc.png").is_file()
    assert (tmp_path / "reports" / MANIFEST).is_file()
    # The same numbers for programs (notebook 05 reads the committed one), with the load.
    results = json.loads((tmp_path / "reports" / "benchmark.json").read_text())
    assert [(row["dataset"], row["detector"]) for row in results["rows"]] == [
        ("faces", "hog_ocsvm")
    ]
    assert f"| faces | hog_ocsvm | {results['rows'][0]['image_auroc']:.3f} |" in result.stdout
    assert results["mode"] == "quick" and results["minutes"] >= 0
    assert set(results["load_average"]) == {"start", "end"} and results["per_kind"] == []
    monkeypatch.chdir(tmp_path)  # again, in this process: its own files are replaced
    assert _cli(*words, "--force", "--quiet") == 0
    assert capfd.readouterr().err == ""  # --quiet: no step lines, no bars


def test_make_data_generates_what_is_missing_and_keeps_the_rest(tmp_path, monkeypatch, capsys):
    from anomaly_tutorial.datasets import glyphs

    monkeypatch.setattr(glyphs, "PER_CLASS", 3)  # the real 4000 glyphs take 20 s
    data = tmp_path / "data"
    assert cli.main(["make-data", "--out", str(data)]) == 0
    assert f"Generating brick, grass, gravel into {data / 'textures'}" in capsys.readouterr().out
    textures = data / "textures"
    assert len(list((textures / "brick" / "train" / "good").glob("*.png"))) == 240
    assert len(list((data / "glyphs" / "7").glob("*.png"))) == 3
    brick = (textures / "brick" / "train" / "good" / "000.png").stat().st_ino
    shutil.rmtree(textures / "grass")
    shutil.rmtree(data / "glyphs")
    assert cli.main(["make-data", "--out", str(data)]) == 0
    out = capsys.readouterr().out
    assert f"Kept brick, gravel in {textures}" in out and "Generating grass into" in out
    assert f"Generating the glyphs into {data / 'glyphs'}" in out
    assert (textures / "brick" / "train" / "good" / "000.png").stat().st_ino == brick
    assert len(list((textures / "grass" / "train" / "good").glob("*.png"))) == 240
    assert len(list((data / "glyphs" / "7").glob("*.png"))) == 3
    assert cli.main(["make-data", "--out", str(data)]) == 0
    assert "Nothing is missing." in capsys.readouterr().out


def test_no_command_shows_help(capsys):
    assert cli.main([]) == cli.EXIT_USAGE
    assert "benchmark" in capsys.readouterr().out


def test_score_replaces_its_own_csv_with_force_but_never_a_users_file(parts, hog_model, tmp_path):
    good = parts / "test" / "good"
    assert _cli("score", "--model", hog_model, good, "--out", tmp_path / "s.csv") == 0
    assert _cli("score", "--model", hog_model, good, "--out", tmp_path / "s.csv") == 2
    assert _cli("score", "--model", hog_model, good, "--out", tmp_path / "s.csv", "--force") == 0
    (tmp_path / "s.csv").write_text("edited by hand")
    assert _cli("score", "--model", hog_model, good, "--out", tmp_path / "s.csv", "--force") == 2
    assert (tmp_path / "s.csv").read_text() == "edited by hand"


def test_a_failed_train_keeps_the_empty_out_folder_the_user_made(tmp_path):
    (tmp_path / "data" / "train" / "good").mkdir(parents=True)
    (tmp_path / "model").mkdir()
    code = _cli(
        "train", "--detector", "hog_ocsvm", "--data", tmp_path / "data", "--out", tmp_path / "model"
    )
    assert code == cli.EXIT_USAGE
    assert (tmp_path / "model").is_dir()


def test_an_unexpected_error_keeps_its_traceback(parts, tmp_path, monkeypatch):
    def bug(*args, **kwargs):
        raise ValueError("operands could not be broadcast together")  # as NumPy would

    monkeypatch.setattr(persistence, "save", bug)
    with pytest.raises(ValueError, match="broadcast"):
        _cli("train", "--detector", "hog_ocsvm", "--data", parts, "--out", tmp_path / "m")


def test_an_unexpected_error_shows_a_traceback_in_a_terminal(tmp_path):
    # A bug planted in the code (a ZeroDivisionError) must reach the terminal in full.
    code = (
        "import sys; from anomaly_tutorial import cli, persistence; "
        "persistence.read_metadata = lambda path: 1 / 0; sys.exit(cli.main())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "score", "--model", "m", "x.png"],
        cwd=tmp_path,
        env=QUICK_ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode not in (0, cli.EXIT_USAGE)
    assert "Traceback" in result.stderr


def test_train_takes_epochs_and_batch_size(parts, tmp_path):
    words = [
        "train",
        "--detector",
        "deep_svdd",
        "--quick",
        "--data",
        parts,
        "--out",
        tmp_path / "m",
    ]
    assert _cli(*words, "--epochs", "2", "--batch-size", "8") == 0
    loaded = persistence.load(tmp_path / "m")
    assert (loaded.epochs, loaded.batch_size) == (2, 8)
    assert len(loaded.history_["loss"]) == 2


def test_score_streams_and_a_failure_midway_leaves_no_csv_and_no_temporary_file(
    parts, hog_model, tmp_path, monkeypatch
):
    from anomaly_tutorial import batching

    monkeypatch.setattr(batching, "MAX_BATCH", 2)  # batches of two images: rows come in pieces
    images = tmp_path / "images"
    images.mkdir()
    for file in sorted((parts / "test" / "good").glob("*.png")):
        (images / file.name).write_bytes(file.read_bytes())
    assert _cli("score", "--model", hog_model, images, "--out", tmp_path / "s.csv") == 0
    assert len(_rows(tmp_path / "s.csv")) == 3
    (images / "zz_last.png").write_bytes(b"not a png")  # read in the last batch
    out = tmp_path / "out"
    out.mkdir()
    assert _cli("score", "--model", hog_model, images, "--out", out / "s.csv") == cli.EXIT_USAGE
    assert list(out.iterdir()) == []


def test_train_on_tiles_of_large_images_then_score_large_images(tmp_path):
    import imageio.v3 as iio
    import skimage.data

    photo = skimage.data.brick()  # 512 x 512
    for index, (row, col) in enumerate([(0, 0), (0, 200), (200, 0), (200, 200), (400, 400)]):
        folder = tmp_path / "big" / "train" / "good" if index < 4 else tmp_path / "new"
        folder.mkdir(parents=True, exist_ok=True)
        iio.imwrite(folder / f"{index}.png", photo[row : row + 96, col : col + 112])
    words = ["train", "--detector", "hog_ocsvm", "--tile", "32", "--out", tmp_path / "m"]
    assert _cli(*words, "--data", tmp_path / "big") == 0
    assert persistence.load(tmp_path / "m").image_shape_ == (32, 32, 1)
    result = _run("score", "--model", "m", "new", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 images larger than the model's 32x32 input were scored in tiles" in result.stdout
    assert [row["path"] for row in _rows(tmp_path / "scores.csv")] == [str(Path("new/4.png"))]
