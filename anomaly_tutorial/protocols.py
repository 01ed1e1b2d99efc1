"""The one-class protocol of the Deep SVDD paper, for every one-class detector (notebook 04).

Ruff et al. (2018) evaluate one-class methods like this: for each class ``k``, train on images
of ``k`` only, test against held-out images of ``k`` and images of every other class, and
report the AUROC per class and its mean. Here it runs on the 8x8 digits and on the 28x28 glyphs,
on their test part by default (``part="dev"`` is where settings are chosen). Notebook 04 and
``benchmarks/bench_one_class.py`` (the README's tables) both call :func:`one_class_protocol`.
"""

import time

import numpy as np
from sklearn.metrics import roc_auc_score

from anomaly_tutorial import datasets, metrics
from anomaly_tutorial.detectors import ONE_CLASS, choose_preset, make_detector

CLASSES = tuple(range(10))
#: The labelled collections the protocol runs on, and their one-class loaders.
COLLECTIONS = {
    "digits": datasets.load_digits_one_class,
    "glyphs": datasets.load_glyphs_one_class,
}


def one_class_protocol(
    collection="digits",
    detector_names=ONE_CLASS,
    classes=CLASSES,
    *,
    part="test",
    quick: bool = False,
    random_state: int = 0,
    params=None,
    progress=None,
    n_train=None,
    n_test_per_type=None,
    fit=None,
    fit_seconds=None,
) -> list[dict]:
    """AUROC of each detector with each class of ``collection`` as the normal one (notebook 04).

    Returns one row per detector: ``{"detector": name, "0": auroc, ..., "mean": ...,
    "fit_seconds": mean fit time}``, ready for :func:`anomaly_tutorial.tables.show_table`.
    ``params`` maps a detector name to constructor overrides, e.g.
    ``{"deep_svdd": {"batch_norm": True}}``. ``progress(message)`` hears about each fit.
    ``n_train`` and ``n_test_per_type`` shrink each class's task with
    :meth:`~anomaly_tutorial.datasets.AnomalyDataset.subset` (quick mode, e.g.
    ``**benchmark.QUICK_SIZES``); None keeps every image.

    ``fit(detector, images)`` trains each detector and returns it fitted; the default is
    ``detector.fit(images)``. Notebook 04 passes ``store.fit`` (:class:`.trained.Store`), which
    loads a shipped network instead when one was trained with the same settings and images, and
    ``fit_seconds=store.fit_seconds``: ``fit_seconds(fitted)`` gives the training time to report,
    by default the seconds ``fit`` took here.
    """
    if collection not in COLLECTIONS:
        raise ValueError(f"collection must be one of {', '.join(COLLECTIONS)}; got {collection!r}.")
    detector_names, classes, params = tuple(detector_names), tuple(classes), dict(params or {})
    unknown = [name for name in (*detector_names, *params) if name not in ONE_CLASS]
    if unknown or not detector_names:
        raise ValueError(
            f"detector_names and params must name one-class detectors ({', '.join(ONE_CLASS)}); "
            f"got {', '.join(map(repr, unknown)) or 'none'}."
        )
    if not classes or any(k not in CLASSES for k in classes) or len(set(classes)) < len(classes):
        raise ValueError(f"classes must be distinct integers from 0 to 9; got {classes!r}.")
    say = progress or (lambda message: None)
    rows = {name: {"detector": name} for name in detector_names}
    seconds = {name: [] for name in detector_names}
    for normal in classes:
        data = COLLECTIONS[collection](normal, part=part, random_state=random_state)
        if n_train is not None or n_test_per_type is not None:
            data = data.subset(n_train, n_test_per_type, random_state=random_state)
        for name in detector_names:
            preset = choose_preset(name, data.train_images)  # the autoencoder's
            detector = make_detector(
                name, preset, quick=quick, random_state=random_state, **params.get(name, {})
            )
            started = time.perf_counter()
            detector = fit(detector, data.train_images) if fit else detector.fit(data.train_images)
            took = time.perf_counter() - started
            seconds[name].append(fit_seconds(detector) if fit_seconds else took)
            auroc = roc_auc_score(
                data.test_labels, metrics.anomaly_scores(detector, data.test_images)
            )
            rows[name][str(normal)] = float(auroc)
            say(f"{collection} {normal}, {name}: AUROC {auroc:.3f}, fit {seconds[name][-1]:.1f} s")
    for name, row in rows.items():
        row["mean"] = float(np.mean([row[str(normal)] for normal in classes]))
        row["fit_seconds"] = float(np.mean(seconds[name]))
    return list(rows.values())


__all__ = ["CLASSES", "COLLECTIONS", "one_class_protocol"]
