"""Every detector on every bundled dataset: quality, fit time and scoring speed (notebook 05).

``anomaly-tutorial benchmark`` runs :func:`run_benchmark` and writes its report
(:mod:`anomaly_tutorial.report`), which the README's table and notebook 05 read. Every method is
scored on each dataset's *test part* (``datasets.parts``): for the textures, four defect kinds no
setting was chosen on. The defaults were chosen on the *development part*, which also supplies
the labelled anomalies that ``labeled_regressor`` needs; the one-class detectors fit on the
normal training images only.
"""

import os
import time
from dataclasses import dataclass, field

import numpy as np

from anomaly_tutorial import datasets, metrics
from anomaly_tutorial.datasets import AnomalyDataset
from anomaly_tutorial.detectors import ONE_CLASS, SUPERVISED, choose_preset, make_detector
from anomaly_tutorial.detectors.anomaly_maps import MapDetector
from anomaly_tutorial.runtime import machine_description

ALL_DETECTORS = ONE_CLASS + SUPERVISED
COLUMNS = (
    "dataset",
    "detector",
    "image_auroc",
    "average_precision",
    "best_f1",
    "pixel_auroc",
    "fit_seconds",
    "images_per_second",
    "auroc_vs_hog",
    "fit_time_vs_hog",
)
#: The baseline every row is compared with (the learner's starting point, notebook 01).
BASELINE = "hog_ocsvm"
#: Quick mode keeps this many training images and test images per defect type.
QUICK_SIZES = {"n_train": 60, "n_test_per_type": 10}
#: Images scored (cycling through the evaluation set) to measure throughput.
THROUGHPUT_IMAGES = 1024


@dataclass
class Run:
    """One detector on one dataset: the table row plus what the figures need."""

    row: dict
    labels: np.ndarray
    scores: np.ndarray
    per_kind: dict = field(default_factory=dict)  # image AUROC of each anomaly kind
    examples: dict = field(default_factory=dict)  # images, maps, masks, titles of a few anomalies


@dataclass
class Benchmark:
    """A whole benchmark: its runs, and the conditions they were measured in.

    Fit times and speeds are wall-clock, so the load average (:func:`load_average`) at the start
    and the end goes with them: the benchmark alone adds 1 to 2 (two threads).
    """

    runs: list[Run]
    quick: bool
    minutes: float
    load: dict  # {"start": ..., "end": ...}
    machine: str


def load_average() -> str | None:
    """The load average over 1, 5 and 15 minutes, e.g. ``"1.9, 2.4, 3.1"`` (None on Windows)."""
    if not hasattr(os, "getloadavg"):
        return None
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def benchmark_one(
    name: str, dev: AnomalyDataset, test: AnomalyDataset, *, quick=False, random_state=0
) -> Run:
    """Fit ``name`` (labelled anomalies from ``dev``, if it needs any) and measure its quality
    and speed on ``test``, the test part."""
    preset = choose_preset(name, test.train_images)  # the autoencoder's: texture or object
    detector = make_detector(name, preset, quick=quick, random_state=random_state)
    started = time.perf_counter()
    if name in SUPERVISED:
        from anomaly_tutorial.detectors import labeled_regressor  # imports Keras: when needed

        detector.fit(*labeled_regressor.training_set(dev, random_state=random_state))
    else:
        detector.fit(test.train_images)
    fit_seconds = time.perf_counter() - started
    scores = metrics.anomaly_scores(detector, test.test_images)
    masks, maps = test.test_masks, None
    if masks is not None and isinstance(detector, MapDetector):
        maps = detector.anomaly_map(test.test_images)
    row = {"dataset": test.name, "detector": name}
    row.update(metrics.evaluate(test.test_labels, scores, masks=masks, maps=maps))
    row["fit_seconds"] = fit_seconds
    row["images_per_second"] = throughput(detector, test.test_images)
    per_kind = metrics.per_defect_auroc(test.test_labels, scores, test.test_defects)
    examples = {}
    if maps is not None:
        first = example_indices(test)
        examples = {
            "images": test.test_images[first],
            "maps": maps[first],
            "masks": masks[first],
            "titles": test.test_defects[first],
        }
    return Run(row, test.test_labels, scores, per_kind, examples)


def example_indices(test: AnomalyDataset) -> list[int]:
    """The first test image of each anomaly kind: the images of the map figures."""
    return [int(np.flatnonzero(test.test_defects == kind)[0]) for kind in test.defect_types]


def throughput(detector, images: np.ndarray) -> float:
    """Images scored per second, on ``THROUGHPUT_IMAGES`` copies of ``images``, after a warm-up."""
    repeats = int(np.ceil(THROUGHPUT_IMAGES / len(images)))
    batch = np.concatenate([images] * repeats)[:THROUGHPUT_IMAGES]
    detector.score_samples(batch[:8])  # warm-up: graph tracing is not throughput
    started = time.perf_counter()
    detector.score_samples(batch)
    return len(batch) / (time.perf_counter() - started)


def load_benchmark_parts(name: str, *, quick: bool = False, random_state: int = 0):
    """``(dev, test)``: the parts of a bundled dataset, shrunk in quick mode."""
    parts = [datasets.load_dataset(name, part) for part in ("dev", "test")]
    if quick:
        parts = [part.subset(**QUICK_SIZES, random_state=random_state) for part in parts]
    return tuple(parts)


def run_benchmark(
    dataset_names=datasets.DATASET_NAMES,
    detector_names=ALL_DETECTORS,
    *,
    quick: bool = False,
    random_state: int = 0,
    progress=None,
) -> Benchmark:
    """Run every detector on every dataset. ``progress(message)`` hears about each step."""
    _check_names(dataset_names, datasets.DATASET_NAMES, "dataset")
    _check_names(detector_names, ALL_DETECTORS, "detector")
    say = progress or (lambda message: None)
    load = {"start": load_average()}
    runs, total, started = [], len(dataset_names) * len(detector_names), time.perf_counter()
    for dataset_name in dataset_names:
        dev, test = load_benchmark_parts(dataset_name, quick=quick, random_state=random_state)
        dataset_runs = []
        for detector_name in detector_names:
            step = (
                f"[{len(runs) + len(dataset_runs) + 1}/{total}] {detector_name} on {dataset_name}"
            )
            say(f"{step}: fitting ...")
            run = benchmark_one(detector_name, dev, test, quick=quick, random_state=random_state)
            dataset_runs.append(run)
            say(
                f"{step}: image AUROC {run.row['image_auroc']:.3f}, fit "
                f"{run.row['fit_seconds']:.1f} s (elapsed {time.perf_counter() - started:.0f} s)"
            )
        _compare_with_baseline(dataset_runs)
        runs += dataset_runs
    minutes = (time.perf_counter() - started) / 60
    load["end"] = load_average()
    return Benchmark(runs, quick, minutes, load, machine_description())


def _compare_with_baseline(runs: list[Run]) -> None:
    """Add each row's image AUROC and fit time relative to the baseline's, from this run."""
    baseline = next((run.row for run in runs if run.row["detector"] == BASELINE), None)
    if baseline is None:
        return
    for run in runs:
        run.row["auroc_vs_hog"] = run.row["image_auroc"] / baseline["image_auroc"]
        run.row["fit_time_vs_hog"] = run.row["fit_seconds"] / max(baseline["fit_seconds"], 1e-3)


def per_kind_rows(runs: list[Run]) -> list[dict]:
    """One row per texture and detector with the image AUROC of each held-out defect kind."""
    return [
        {"dataset": run.row["dataset"], "detector": run.row["detector"], **run.per_kind}
        for run in runs
        if run.row["dataset"] in datasets.TEXTURE_CATEGORIES
    ]


def _check_names(names, known, kind):
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ValueError(
            f"Unknown {kind} name(s): {', '.join(unknown) or '(none given)'}. "
            f"Choose from: {', '.join(known)}."
        )


def rows(runs: list[Run]) -> list[dict]:
    """The table rows of ``runs``, in :data:`COLUMNS` order."""
    return [{column: run.row.get(column) for column in COLUMNS} for run in runs]
