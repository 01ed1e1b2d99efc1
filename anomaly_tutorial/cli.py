"""The ``anomaly-tutorial`` command (also ``python -m anomaly_tutorial``), notebook 05.

    anomaly-tutorial benchmark [--quick] [--datasets ...] [--detectors ...] [--out reports]
                               (writes OUT/benchmark.md, its figures and OUT/benchmark.json)
    anomaly-tutorial train --detector NAME --data FOLDER --out MODEL_DIR
                           [--epochs N] [--batch-size B] [--tile SIZE]
    anomaly-tutorial score --model MODEL_DIR PATH... [--out scores.csv] [--maps DIR]
    anomaly-tutorial make-data [--out DIR] [--force]
    anomaly-tutorial lab [--reset] [--no-start]

``train`` and ``score`` read the images in batches, so memory does not grow with their number;
images larger than the model's input are scored in tiles (``train --tile SIZE`` trains on tiles
of large images). In a terminal, long steps show progress bars on stderr; ``--quiet`` turns
them, and the step lines, off.

Mistakes (unknown names, missing or empty folders, wrong image sizes, a folder that is not a
saved model) end with a one-line error and exit code 2; any other error is a bug and keeps its
traceback. Every output is written under a temporary name and renamed, and ``--force``
replaces only files this program wrote (:mod:`anomaly_tutorial.outputs`).
"""

import argparse
import os
import sys
import time
from pathlib import Path

from anomaly_tutorial import runtime  # configures TensorFlow before Keras loads
from anomaly_tutorial.errors import AnomalyTutorialError, UsageError, printable

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (and ``--help`` shows the usage)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv=None) -> int:
    from anomaly_tutorial import progress

    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help()
        return EXIT_USAGE
    quiet = getattr(arguments, "quiet", False)
    arguments.say = (lambda message: None) if quiet else _say
    try:
        with progress.shown(not quiet):
            return arguments.handler(arguments) or 0
    except AnomalyTutorialError as error:  # the user's mistake; anything else is a bug
        return _error(arguments.command, str(error))
    except OSError as error:  # the system's refusal: a full disk, a read-only place, ...
        return _error(arguments.command, _system_error(error))
    except KeyboardInterrupt:
        print("anomaly-tutorial: interrupted", file=sys.stderr)
        return 130


def _error(command: str, message: str) -> int:
    message = " ".join(printable(message).split())
    print(f"anomaly-tutorial {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _system_error(error: OSError) -> str:
    """An ``OSError`` in one line that names its path (a full disk, a read-only file system,
    permission denied, a name too long, ...)."""
    reason = error.strerror or str(error)
    paths = [path for path in (error.filename, error.filename2) if path is not None]
    if not paths:
        return f"{reason}."
    named = " -> ".join(printable(os.fsdecode(path)) for path in paths)
    return f"{named}: {reason}."


def _parser() -> argparse.ArgumentParser:
    from anomaly_tutorial.benchmark import ALL_DETECTORS
    from anomaly_tutorial.datasets import DATASET_NAMES

    parser = _Parser(
        prog="anomaly-tutorial", description="Image anomaly detection, from the course."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    bench = commands.add_parser("benchmark", help="every detector on every bundled dataset")
    bench.add_argument("--quick", action="store_true", help="small data and few epochs")
    for flag, names in (("--datasets", DATASET_NAMES), ("--detectors", ALL_DETECTORS)):
        bench.add_argument(
            flag, nargs="+", choices=names, default=list(names), metavar="NAME",
            help=f"from: {', '.join(names)} (default: all)",
        )  # fmt: skip
    bench.add_argument("--out", type=Path, default=Path("reports"), help="default: reports/")
    bench.add_argument("--force", action="store_true", help="replace an earlier report")
    _quiet_argument(bench)
    bench.set_defaults(handler=_benchmark)

    train = commands.add_parser("train", help="train on FOLDER/train/good and save the model")
    train.add_argument(
        "--detector",
        required=True,
        choices=ALL_DETECTORS,
        metavar="NAME",
        help=f"one of: {', '.join(ALL_DETECTORS)}",
    )
    train.add_argument("--data", required=True, type=Path, help="an MVTec-layout folder")
    train.add_argument("--out", required=True, type=Path, help="model folder to write")
    train.add_argument(
        "--false-alarm-rate",
        type=float,
        default=0.05,
        help="share of held-out normal images to flag (0.05)",
    )
    train.add_argument("--quick", action="store_true", help="fast setting (for trying out)")
    train.add_argument(
        "--epochs", type=_positive, help="training epochs (Keras detectors; default: its own)"
    )
    train.add_argument(
        "--batch-size", type=_positive, help="images per training step (Keras detectors)"
    )
    train.add_argument(
        "--tile",
        type=_positive,
        metavar="SIZE",
        help="train on overlapping SIZE x SIZE tiles of larger images (score tiles them too)",
    )
    _max_pixels_argument(train)
    train.add_argument("--force", action="store_true", help="replace an earlier saved model")
    _quiet_argument(train)
    train.set_defaults(handler=_train)

    score = commands.add_parser("score", help="score images with a saved model, write a CSV")
    score.add_argument("--model", required=True, type=Path, help="a folder written by train")
    score.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="images or folders")
    score.add_argument("--out", type=Path, default=Path("scores.csv"), help="default: scores.csv")
    score.add_argument("--maps", type=Path, help="write anomaly-map overlays (PNG) here")
    score.add_argument("--force", action="store_true", help="replace earlier output files")
    _max_pixels_argument(score)
    _quiet_argument(score)
    score.set_defaults(handler=_score)

    data = commands.add_parser(
        "make-data",
        help="generate the bundled textures and glyphs where they are missing (they take a "
        "minute); says where it writes",
    )
    data.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write OUT/textures and OUT/glyphs (default: data/ in a checkout of the course; "
        "for an installed package, the user cache: $ANOMALY_TUTORIAL_DATA, else "
        "~/.cache/anomaly_tutorial)",
    )
    data.add_argument(
        "--force",
        action="store_true",
        help="regenerate everything, replacing only the files the generator wrote",
    )
    data.set_defaults(handler=_make_data)

    lab = commands.add_parser(
        "lab",
        help="copy the notebooks (once) into workspace/ in a checkout, else into "
        "anomaly-tutorial-workspace/ here, and open them in JupyterLab",
    )
    lab.add_argument(
        "--reset",
        action="store_true",
        help="fresh copies of the committed notebooks; yours move to previous-* in that folder",
    )
    lab.add_argument("--no-start", action="store_true", help="prepare the copies only")
    lab.set_defaults(handler=_lab)
    return parser


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return int(text)


def _quiet_argument(parser) -> None:
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bars or step lines (for scripts)"
    )


def _max_pixels_argument(parser) -> None:
    from anomaly_tutorial.datasets.imagefiles import MAX_PIXELS

    parser.add_argument(
        "--max-pixels",
        type=_positive,
        default=MAX_PIXELS,
        help=f"refuse larger images before reading them (default {MAX_PIXELS} = 4096x4096)",
    )


def _say(message: str) -> None:
    # One line per step, flushed: readable in a terminal, a log file or CI alike.
    print(message, file=sys.stderr, flush=True)


def _benchmark(arguments) -> int:
    from anomaly_tutorial import benchmark, outputs, report, tables

    out = arguments.out
    files = report.report_files(out, arguments.datasets, arguments.detectors)
    outputs.check_targets(files, arguments.force)  # before the work, not after
    load = {"start": report.load_average()}
    started = time.perf_counter()
    runs = benchmark.run_benchmark(
        arguments.datasets, arguments.detectors, quick=arguments.quick, progress=arguments.say
    )
    minutes = (time.perf_counter() - started) / 60
    load["end"] = report.load_average()
    path = report.write_report(
        runs, out, quick=arguments.quick, force=arguments.force, minutes=minutes, load=load
    )
    print(tables.markdown_table(benchmark.rows(runs)))
    print(f"\nMeasured on {runtime.machine_description()}, in {minutes:.1f} min.")
    if load["end"] is not None:
        print(
            f"Load average (1, 5, 15 min): {load['start']} at the start, {load['end']} at the end"
        )
    print(f"Report: {printable(path)} (numbers: {printable(path.with_name(report.RESULTS))})")
    return 0


def _train(arguments) -> int:
    from anomaly_tutorial import datasets, persistence, streaming, tiling

    detector = _new_detector(arguments)
    persistence.check_writable(arguments.out, arguments.force)  # before the work, not after
    train_files, test_groups = datasets.folder_files(arguments.data)
    files = datasets.image_source(train_files, max_pixels=arguments.max_pixels)
    what, model, seen = f"{len(files)} images", detector, files
    if arguments.tile:
        model, seen = tiling.Tiled(detector, arguments.tile), tiling.Tiles(files, arguments.tile)
        what += f" ({len(seen)} tiles of {arguments.tile}x{arguments.tile})"
    if arguments.detector == "conv_autoencoder":  # its preset, chosen from the normal images
        from anomaly_tutorial.detectors import conv_autoencoder

        preset = conv_autoencoder.choose_preset(seen)
        detector.set_params(**conv_autoencoder.PRESETS[preset])
        what += f", preset {preset!r} (conv_autoencoder.choose_preset)"
    arguments.say(f"Training {arguments.detector} on {what} of {arguments.data} ...")
    started = time.perf_counter()
    streaming.Streamed(model).fit(files)
    seconds = time.perf_counter() - started
    persistence.save(detector, arguments.out, force=arguments.force)
    print(
        f"Trained {arguments.detector} on {what} in {seconds:.1f} s "
        f"({detector.validation_fraction:.0%} of the images held out to set the threshold).\n"
        f"Threshold offset_ = {detector.offset_:.6g}: predict flags "
        f"{arguments.false_alarm_rate:.0%} of the held-out normal images."
    )
    _test_auroc(detector, test_groups, arguments.max_pixels)
    print(f"Saved to {printable(arguments.out)}")
    return 0


def _new_detector(arguments):
    """The detector ``train`` fits, from ``--detector``, ``--quick``, ``--false-alarm-rate``,
    ``--epochs`` and ``--batch-size``."""
    from anomaly_tutorial.detectors import SUPERVISED, make_detector

    if arguments.detector in SUPERVISED:
        raise UsageError(
            f"{arguments.detector} needs labelled anomalies, but train uses only "
            f"{arguments.data}/train/good. Train it in Python (notebook 02)."
        )
    if not 0.0 <= arguments.false_alarm_rate < 1.0:
        raise UsageError(f"--false-alarm-rate must be in [0, 1); got {arguments.false_alarm_rate}")
    detector = make_detector(
        arguments.detector, quick=arguments.quick, false_alarm_rate=arguments.false_alarm_rate
    )
    options = {"epochs": arguments.epochs, "batch_size": arguments.batch_size}
    options = {name: value for name, value in options.items() if value is not None}
    unknown = [name for name in options if name not in detector.get_params()]
    if unknown:
        flags = " and ".join(f"--{name.replace('_', '-')}" for name in unknown)
        raise UsageError(
            f"{flags} apply to the Keras detectors only; {arguments.detector} is not trained "
            "in epochs or batches."
        )
    return detector.set_params(**options)


def _test_auroc(detector, test_groups, max_pixels) -> None:
    """Print the image AUROC on every image under ``test/``, if it has both kinds."""
    from anomaly_tutorial import metrics, streaming, tiling

    labels = [int(kind != "good") for kind, files in test_groups for _ in files]
    if len(set(labels)) == 2:
        test_files = [file for _, files in test_groups for file in files]
        tiled = streaming.Streamed(tiling.Tiled(detector), max_pixels=max_pixels)
        auroc = metrics.evaluate(labels, metrics.anomaly_scores(tiled, test_files))
        print(f"Test set ({len(labels)} images): image AUROC {auroc['image_auroc']:.3f}.")


def _score(arguments) -> int:
    from anomaly_tutorial import persistence, report, scoring

    detector = persistence.load(arguments.model)
    maps = arguments.maps
    rows = scoring.score_folder(  # lists and checks the files; reads them as rows are written
        detector, arguments.paths, maps=maps is not None, max_pixels=arguments.max_pixels
    )
    run = report.write_score_run(
        rows, detector, arguments.out, inputs=arguments.paths, maps=maps, force=arguments.force
    )
    print(run)
    return 0


def _make_data(arguments) -> int:
    from anomaly_tutorial.datasets import bundled, glyphs, textures

    if arguments.out is not None:
        texture_folder, glyph_folder = arguments.out / "textures", arguments.out / "glyphs"
    else:  # where the loaders look: data/ in a checkout, else the user cache
        texture_folder = textures.default_data_folder()
        glyph_folder = glyphs.default_glyphs_folder()
    # What is missing, or everything with --force; the same tests as the loaders' (a category
    # with its training images, the glyphs with their manifest). The rest is kept as it is.
    categories = [
        category
        for category in textures.TEXTURE_CATEGORIES
        if arguments.force or not (texture_folder / category / "train" / "good").is_dir()
    ]
    make_glyphs = arguments.force or not (glyph_folder / bundled.MANIFEST).is_file()
    kept = [category for category in textures.TEXTURE_CATEGORIES if category not in categories]
    if kept:
        print(f"Kept {', '.join(kept)} in {printable(texture_folder)} (--force regenerates).")
    if not make_glyphs:
        print(f"Kept the glyphs in {printable(glyph_folder)} (--force regenerates).")
    if arguments.out is None and not bundled.in_checkout():
        print(
            f"An installed package: the user cache is where missing data is generated. The "
            f"notebooks read the data installed with the package ({printable(bundled.DATA_DIR)}) "
            "first."
        )
    if not categories and not make_glyphs:
        print("Nothing is missing.")
        return 0
    manifests = texture_folder / bundled.MANIFEST, glyph_folder / bundled.MANIFEST
    try:  # both checked before either is written: a refusal changes nothing
        if categories:
            textures.check_output(texture_folder, categories, force=arguments.force)
        if make_glyphs:
            glyphs.check_output(glyph_folder, force=arguments.force)
    except FileExistsError as error:  # the generators' refusal to replace files
        raise UsageError(str(error)) from None
    before = [bundled.previous_files(manifest) for manifest in manifests]
    written = ""
    if categories:
        print(f"Generating {', '.join(categories)} into {printable(texture_folder)} ...")
        after = textures.generate_textures(
            texture_folder, categories=categories, force=arguments.force
        )
        changed = bundled.changes(before[0], after["files"])
        print(f"Wrote the texture data to {printable(texture_folder)}: {changed}.")
        written = f" The texture data in {texture_folder} was written ({changed})."
    if not make_glyphs:
        return 0
    print(f"Generating the glyphs into {printable(glyph_folder)} ...")
    try:
        after = glyphs.generate_glyphs(glyph_folder, force=arguments.force)["files"]
    except (AnomalyTutorialError, OSError) as error:
        what = str(error) if isinstance(error, AnomalyTutorialError) else _system_error(error)
        raise UsageError(f"{what} The glyph data was not changed.{written}") from error
    changed = bundled.changes(before[1], after)
    print(f"Wrote the glyph data to {printable(glyph_folder)}: {changed}.")
    return 0


def _lab(arguments) -> int:
    import subprocess

    from anomaly_tutorial import workspace

    folder = workspace.default_folder()
    print(workspace.describe(workspace.prepare(folder, reset=arguments.reset), folder))
    if arguments.no_start:
        return 0
    # 127.0.0.1 keeps the server off the network; Jupyter's token stays on (it prints the URL).
    return subprocess.call(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--ip=127.0.0.1",
            f"--notebook-dir={folder}",
            f"--LabApp.default_url=/lab/tree/{workspace.FIRST_NOTEBOOK}",
        ]
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
