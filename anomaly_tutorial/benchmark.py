"""Every detector on every bundled dataset, with fit time and scoring speed (notebook 05).

``anomaly-tutorial benchmark`` and notebook 05 both call :func:`run_benchmark`, so the README's
table and the notebook's table come from the same code.

All methods are scored on the same *evaluation half* of each test set. The other half (split
per defect type) supplies the labelled anomalies that ``labeled_regressor`` needs; the one-class
detectors never see it. That is why these AUROCs can differ a little from notebooks 01–04,
which score the whole test set.
"""

import datetime
import os
import platform
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from anomaly_tutorial import datasets, metrics
from anomaly_tutorial.datasets import AnomalyDataset
from anomaly_tutorial.detectors import ONE_CLASS, SUPERVISED, make_detector

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
)
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
    examples: dict = field(default_factory=dict)  # images, maps, masks of a few anomalies


def evaluation_split(dataset: AnomalyDataset, random_state: int = 0):
    """Split the test set in two halves, stratified by defect type.

    Returns ``(labelled, evaluation)`` index arrays into the test set: ``labelled`` is for
    supervised training only, ``evaluation`` is where every method is scored.
    """
    rng = np.random.default_rng(random_state)
    labelled, evaluation = [], []
    for defect in np.unique(dataset.test_defects):
        index = rng.permutation(np.flatnonzero(dataset.test_defects == defect))
        half = len(index) // 2
        labelled.extend(index[:half])
        evaluation.extend(index[half:])
    return np.sort(labelled), np.sort(evaluation)


def benchmark_one(
    name: str, dataset: AnomalyDataset, *, quick: bool = False, random_state: int = 0
) -> Run:
    """Fit ``name`` on ``dataset`` and measure quality and speed on the evaluation half."""
    labelled, evaluation = evaluation_split(dataset, random_state)
    detector = make_detector(name, quick=quick, random_state=random_state)
    started = time.perf_counter()
    if name in SUPERVISED:
        from anomaly_tutorial.detectors import labeled_regressor  # imports Keras: when needed

        detector.fit(*labeled_regressor.training_set(dataset, labelled, random_state=random_state))
    else:
        detector.fit(dataset.train_images)
    fit_seconds = time.perf_counter() - started

    test_images = dataset.test_images[evaluation]
    test_labels = dataset.test_labels[evaluation]
    scores = metrics.anomaly_scores(detector, test_images)
    masks = None if dataset.test_masks is None else dataset.test_masks[evaluation]
    maps = None
    if masks is not None and hasattr(detector, "anomaly_map"):
        maps = detector.anomaly_map(test_images)
    row = {"dataset": dataset.name, "detector": name}
    row.update(metrics.evaluate(test_labels, scores, masks=masks, maps=maps))
    row["fit_seconds"] = fit_seconds
    row["images_per_second"] = throughput(detector, test_images)
    examples = {}
    if maps is not None:
        worst = np.flatnonzero(test_labels == 1)[:4]
        examples = {"images": test_images[worst], "maps": maps[worst], "masks": masks[worst]}
    return Run(row=row, labels=test_labels, scores=scores, examples=examples)


def throughput(detector, images: np.ndarray) -> float:
    """Images scored per second, on ``THROUGHPUT_IMAGES`` copies of ``images``, after a warm-up."""
    repeats = int(np.ceil(THROUGHPUT_IMAGES / len(images)))
    batch = np.concatenate([images] * repeats)[:THROUGHPUT_IMAGES]
    detector.score_samples(batch[:8])  # warm-up: graph tracing is not throughput
    started = time.perf_counter()
    detector.score_samples(batch)
    return len(batch) / (time.perf_counter() - started)


def load_benchmark_dataset(name: str, *, quick: bool = False, random_state: int = 0):
    """A bundled dataset by name, shrunk in quick mode."""
    dataset = datasets.load_dataset(name)
    return dataset.subset(**QUICK_SIZES, random_state=random_state) if quick else dataset


def run_benchmark(
    dataset_names=datasets.DATASET_NAMES,
    detector_names=ALL_DETECTORS,
    *,
    quick: bool = False,
    random_state: int = 0,
    progress=None,
) -> list[Run]:
    """Run every detector on every dataset. ``progress(message)`` hears about each step."""
    _check_names(dataset_names, datasets.DATASET_NAMES, "dataset")
    _check_names(detector_names, ALL_DETECTORS, "detector")
    say = progress or (lambda message: None)
    runs, total, started = [], len(dataset_names) * len(detector_names), time.perf_counter()
    for dataset_name in dataset_names:
        dataset = load_benchmark_dataset(dataset_name, quick=quick, random_state=random_state)
        for detector_name in detector_names:
            step = len(runs) + 1
            say(f"[{step}/{total}] {detector_name} on {dataset_name}: fitting ...")
            run = benchmark_one(detector_name, dataset, quick=quick, random_state=random_state)
            runs.append(run)
            say(
                f"[{step}/{total}] {detector_name} on {dataset_name}: image AUROC "
                f"{run.row['image_auroc']:.3f}, fit {run.row['fit_seconds']:.1f} s "
                f"(elapsed {time.perf_counter() - started:.0f} s)"
            )
    return runs


def _check_names(names, known, kind):
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ValueError(
            f"Unknown {kind} name(s): {', '.join(unknown) or '(none given)'}. "
            f"Choose from: {', '.join(known)}."
        )


def machine_description() -> str:
    """One line on where the figures were measured: CPU count, OS, Python, Keras, date."""
    import keras

    from anomaly_tutorial import runtime

    return (
        f"{os.cpu_count()} CPU cores ({platform.machine()}, {platform.system()}), "
        f"{runtime.THREADS} threads, Python {sys.version.split()[0]}, Keras {keras.__version__} "
        f"({keras.backend.backend()}), {datetime.date.today().isoformat()}"
    )


def rows(runs: list[Run]) -> list[dict]:
    """The table rows of ``runs``, in :data:`COLUMNS` order."""
    return [{column: run.row.get(column) for column in COLUMNS} for run in runs]
