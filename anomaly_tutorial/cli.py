"""The ``anomaly-tutorial`` command (also ``python -m anomaly_tutorial``), notebook 05.

Subcommands ``benchmark``, ``train``, ``score``, ``make-data`` and ``lab``, each a thin handler
over the package (``--help`` lists their options). A mistake of the user's (unknown names,
missing folders, wrong image sizes, a folder that is not a saved model) or a refusal of the
system (a full disk) ends with a one-line error and exit code 2; any other error is a bug and
keeps its traceback. Progress bars and step lines go to stderr; ``--quiet`` turns them off.
"""

import argparse
import sys
from functools import partial
from pathlib import Path

from anomaly_tutorial import runtime  # noqa: F401 (configures TensorFlow before Keras loads)
from anomaly_tutorial.errors import AnomalyTutorialError, UsageError, printable, system_error

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
    # One line per step, flushed: readable in a terminal, a log file or CI alike.
    arguments.say = (lambda message: None) if quiet else partial(print, file=sys.stderr, flush=True)
    try:
        with progress.shown(not quiet):
            return arguments.handler(arguments) or 0
    except (AnomalyTutorialError, OSError) as error:  # the user's or the system's; else a bug
        message = system_error(error) if isinstance(error, OSError) else str(error)
        message = " ".join(printable(message).split())
        print(f"anomaly-tutorial {arguments.command}: error: {message}", file=sys.stderr)
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


def _benchmark(arguments) -> int:
    from anomaly_tutorial import report

    print(
        report.benchmark_report(
            arguments.datasets, arguments.detectors, arguments.out, quick=arguments.quick,
            force=arguments.force, progress=arguments.say,
        )
    )  # fmt: skip
    return 0


def _train(arguments) -> int:
    from anomaly_tutorial import training

    training.train_folder(
        _new_detector(arguments), arguments.data, arguments.out, tile=arguments.tile,
        max_pixels=arguments.max_pixels, force=arguments.force, say=arguments.say,
    )  # fmt: skip
    return 0


def _new_detector(arguments):
    """The detector ``train`` fits, from its options."""
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


def _score(arguments) -> int:
    from anomaly_tutorial import persistence, report, scoring

    detector, maps = persistence.load(arguments.model), arguments.maps
    rows = scoring.score_folder(  # lists and checks the files; reads them as rows are written
        detector, arguments.paths, maps=maps is not None, max_pixels=arguments.max_pixels
    )
    run = report.write_score_run(
        rows, detector, arguments.out, inputs=arguments.paths, maps=maps, force=arguments.force
    )
    print(run)
    return 0


def _make_data(arguments) -> int:
    from anomaly_tutorial.datasets import generate

    generate.make_missing(arguments.out, force=arguments.force)
    return 0


def _lab(arguments) -> int:
    import subprocess

    from anomaly_tutorial import workspace

    folder = workspace.default_folder()
    print(workspace.describe(workspace.prepare(folder, reset=arguments.reset), folder))
    if arguments.no_start:
        return 0
    # 127.0.0.1 keeps the server off the network; Jupyter's token stays on (it prints the URL).
    command = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--notebook-dir={folder}"]
    return subprocess.call([*command, f"--LabApp.default_url=/lab/tree/{workspace.FIRST_NOTEBOOK}"])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
