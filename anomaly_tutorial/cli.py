"""The ``anomaly-tutorial`` command (also ``python -m anomaly_tutorial``), notebook 05.

    anomaly-tutorial benchmark [--quick] [--datasets ...] [--detectors ...] [--out reports]
    anomaly-tutorial train --detector NAME --data FOLDER --out MODEL_DIR
    anomaly-tutorial score --model MODEL_DIR PATH... [--out scores.csv] [--maps DIR]
    anomaly-tutorial make-data [--out DIR] [--force]

Mistakes (unknown names, missing or empty folders, wrong image sizes, a folder that is not a
saved model) end with a one-line error and exit code 2, never a traceback. Nothing that
exists is overwritten without ``--force``.
"""

import argparse
import csv
import sys
import time
from pathlib import Path

from anomaly_tutorial import runtime  # noqa: F401  (configures TensorFlow before Keras loads)

EXIT_USAGE = 2


class UsageError(Exception):
    """A mistake in what the user asked for; printed as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (and ``--help`` shows the usage)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv=None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return arguments.handler(arguments) or 0
    except (UsageError, ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"anomaly-tutorial {arguments.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("anomaly-tutorial: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    from anomaly_tutorial.benchmark import ALL_DETECTORS
    from anomaly_tutorial.datasets import DATASET_NAMES

    parser = _Parser(
        prog="anomaly-tutorial", description="Image anomaly detection, from the course."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    bench = commands.add_parser("benchmark", help="every detector on every bundled dataset")
    bench.add_argument("--quick", action="store_true", help="small data and few epochs")
    bench.add_argument(
        "--datasets",
        nargs="+",
        default=list(DATASET_NAMES),
        metavar="NAME",
        help=f"from: {', '.join(DATASET_NAMES)} (default: all)",
    )
    bench.add_argument(
        "--detectors",
        nargs="+",
        default=list(ALL_DETECTORS),
        metavar="NAME",
        help=f"from: {', '.join(ALL_DETECTORS)} (default: all)",
    )
    bench.add_argument("--out", type=Path, default=Path("reports"), help="default: reports/")
    bench.add_argument("--force", action="store_true", help="replace an earlier report")
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
    train.add_argument("--force", action="store_true", help="replace an earlier saved model")
    train.set_defaults(handler=_train)

    score = commands.add_parser("score", help="score images with a saved model, write a CSV")
    score.add_argument("--model", required=True, type=Path, help="a folder written by train")
    score.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="images or folders")
    score.add_argument("--out", type=Path, default=Path("scores.csv"), help="default: scores.csv")
    score.add_argument("--maps", type=Path, help="write anomaly-map overlays (PNG) here")
    score.add_argument("--force", action="store_true", help="replace existing output files")
    score.set_defaults(handler=_score)

    data = commands.add_parser("make-data", help="regenerate the bundled textures and glyphs")
    data.add_argument(
        "--out", type=Path, default=None, help="writes OUT/textures and OUT/glyphs (default: data/)"
    )
    data.add_argument("--force", action="store_true", help="replace existing generated data")
    data.set_defaults(handler=_make_data)
    return parser


def _say(message: str) -> None:
    # One line per step, flushed: readable in a terminal, a log file or CI alike.
    print(message, file=sys.stderr, flush=True)


def _benchmark(arguments) -> int:
    from anomaly_tutorial import benchmark, report, tables

    out = arguments.out
    if (out / report.REPORT).exists() and not arguments.force:
        raise UsageError(f"{out / report.REPORT} exists. Use --force to replace it.")
    runs = benchmark.run_benchmark(
        arguments.datasets, arguments.detectors, quick=arguments.quick, progress=_say
    )
    path = report.write_report(runs, out, quick=arguments.quick, force=arguments.force)
    print(tables.markdown_table(benchmark.rows(runs)))
    print(f"\nMeasured on {benchmark.machine_description()}.")
    print(f"Report: {path}")
    return 0


def _train(arguments) -> int:
    from anomaly_tutorial import datasets, metrics, persistence
    from anomaly_tutorial.detectors import SUPERVISED, make_detector

    if arguments.detector in SUPERVISED:
        raise UsageError(
            f"{arguments.detector} needs labelled anomalies, but train uses only "
            f"{arguments.data}/train/good. Train it in Python (notebook 02)."
        )
    if not 0.0 < arguments.false_alarm_rate < 1.0:
        raise UsageError(f"--false-alarm-rate must be in (0, 1); got {arguments.false_alarm_rate}")
    persistence.check_writable(arguments.out, arguments.force)
    dataset = datasets.load_folder(arguments.data)
    fit_images, validation_images = datasets.split_normal(dataset.train_images, 0.2)
    detector = make_detector(arguments.detector, quick=arguments.quick)
    _say(f"Training {arguments.detector} on {len(fit_images)} images of {arguments.data} ...")
    started = time.perf_counter()
    detector.fit(fit_images)
    seconds = time.perf_counter() - started
    validation_scores = metrics.anomaly_scores(detector, validation_images)
    threshold = metrics.threshold_normal_quantile(
        validation_scores, 1.0 - arguments.false_alarm_rate
    )
    persistence.save(detector, arguments.out, threshold=threshold, force=arguments.force)
    print(f"Trained {arguments.detector} on {len(fit_images)} images in {seconds:.1f} s.")
    print(
        f"Threshold {threshold:.6g}: flags {arguments.false_alarm_rate:.0%} of the "
        f"{len(validation_images)} held-out normal images (anomaly iff score > threshold)."
    )
    if len(dataset.test_images) and len(set(dataset.test_labels)) == 2:
        test_scores = metrics.anomaly_scores(detector, dataset.test_images)
        auroc = metrics.evaluate(dataset.test_labels, test_scores)["image_auroc"]
        print(f"Test set ({len(dataset.test_images)} images): image AUROC {auroc:.3f}.")
    print(f"Saved to {arguments.out}")
    return 0


def _score(arguments) -> int:
    from anomaly_tutorial import datasets, metrics, persistence

    meta = persistence.read_metadata(arguments.model)
    _refuse_existing(arguments.out, arguments.force)
    shape = meta.get("image_shape")
    color = None if shape is None else ("gray" if shape[2] == 1 else "rgb")
    images, paths = datasets.read_images(arguments.paths, color=color)
    if shape is not None and list(images.shape[1:3]) != shape[:2]:
        raise UsageError(
            f"the images are {images.shape[1]}x{images.shape[2]} but the model in "
            f"{arguments.model} was trained on {shape[0]}x{shape[1]}."
        )
    detector = persistence.load(arguments.model)
    scores = metrics.anomaly_scores(detector, images)
    threshold = meta.get("threshold")
    with open(arguments.out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "anomaly_score", "label"])
        for path, score in zip(paths, scores, strict=True):
            label = "" if threshold is None else ("anomaly" if score > threshold else "normal")
            writer.writerow([str(path), f"{score:.6g}", label])
    flagged = (
        "" if threshold is None else f", {int((scores > threshold).sum())} above the threshold"
    )
    print(f"Scored {len(scores)} images{flagged} -> {arguments.out}")
    if arguments.maps is not None:
        _write_maps(detector, images, paths, arguments.maps, arguments.force)
    return 0


def _write_maps(detector, images, paths, folder: Path, force: bool) -> None:
    if not hasattr(detector, "anomaly_map"):
        raise UsageError("this model has no anomaly maps; --maps needs a localising detector.")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from anomaly_tutorial import plots

    targets = [folder / f"{Path(path).stem}_map.png" for path in paths]
    for target in targets:
        _refuse_existing(target, force)
    folder.mkdir(parents=True, exist_ok=True)
    maps = detector.anomaly_map(images)
    for index, target in enumerate(targets):
        figure = plots.plot_anomaly_maps(images[index : index + 1], maps[index : index + 1])
        figure.savefig(target, dpi=100, bbox_inches="tight")
        plt.close(figure)
    print(f"Wrote {len(targets)} anomaly-map overlays to {folder}")


def _make_data(arguments) -> int:
    from anomaly_tutorial.datasets import glyphs, textures

    texture_folder = textures.default_data_folder()
    glyph_folder = glyphs.default_glyphs_folder()
    if arguments.out is not None:
        texture_folder, glyph_folder = arguments.out / "textures", arguments.out / "glyphs"
    textures.generate_textures(texture_folder, force=arguments.force)
    print(f"Wrote the texture data to {texture_folder}")
    glyphs.generate_glyphs(glyph_folder, force=arguments.force)
    print(f"Wrote the glyph data to {glyph_folder}")
    return 0


def _refuse_existing(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} exists. Use --force to replace it.")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name.")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
