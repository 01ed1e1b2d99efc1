"""The one-class digits protocol of the Deep SVDD paper, for every one-class detector (notebook 04).

Ruff et al. (2018) evaluate one-class methods like this: for each digit ``k``, train on images of
``k`` only, test against the held-out images of ``k`` and every image of the nine other digits,
and report the AUROC per digit and its mean. Notebook 04 and
``benchmarks/bench_digits_one_class.py`` (the README's table) both call :func:`one_class_digits`.
"""

import time

import numpy as np
from sklearn.metrics import roc_auc_score

from anomaly_tutorial import datasets, metrics
from anomaly_tutorial.detectors import ONE_CLASS, make_detector

DIGITS = tuple(range(10))


def one_class_digits(
    detector_names=ONE_CLASS,
    digits=DIGITS,
    *,
    quick: bool = False,
    random_state: int = 0,
    params=None,
    progress=None,
) -> list[dict]:
    """AUROC of each detector with each digit as the normal class (notebook 04).

    Returns one row per detector: ``{"detector": name, "0": auroc, ..., "mean": ...,
    "fit_seconds": mean fit time}``, ready for :func:`anomaly_tutorial.tables.show_table`.
    ``params`` maps a detector name to constructor overrides, e.g.
    ``{"deep_svdd": {"batch_norm": True}}``. ``progress(message)`` hears about each fit.
    """
    detector_names, digits, params = tuple(detector_names), tuple(digits), dict(params or {})
    unknown = [name for name in (*detector_names, *params) if name not in ONE_CLASS]
    if unknown or not detector_names:
        raise ValueError(
            f"detector_names and params must name one-class detectors ({', '.join(ONE_CLASS)}); "
            f"got {', '.join(map(repr, unknown)) or 'none'}."
        )
    if not digits or any(digit not in DIGITS for digit in digits) or len(set(digits)) < len(digits):
        raise ValueError(f"digits must be distinct integers from 0 to 9; got {digits!r}.")
    say = progress or (lambda message: None)
    rows = {name: {"detector": name} for name in detector_names}
    seconds = {name: [] for name in detector_names}
    for digit in digits:
        data = datasets.load_digits_one_class(normal_digit=digit, random_state=random_state)
        for name in detector_names:
            detector = make_detector(
                name, quick=quick, random_state=random_state, **params.get(name, {})
            )
            started = time.perf_counter()
            detector.fit(data.train_images)
            seconds[name].append(time.perf_counter() - started)
            auroc = roc_auc_score(
                data.test_labels, metrics.anomaly_scores(detector, data.test_images)
            )
            rows[name][str(digit)] = float(auroc)
            say(f"digit {digit}, {name}: AUROC {auroc:.3f}, fit {seconds[name][-1]:.1f} s")
    for name, row in rows.items():
        row["mean"] = float(np.mean([row[str(digit)] for digit in digits]))
        row["fit_seconds"] = float(np.mean(seconds[name]))
    return list(rows.values())


__all__ = ["DIGITS", "one_class_digits"]
