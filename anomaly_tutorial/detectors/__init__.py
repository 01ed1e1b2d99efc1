"""The detector registry: every method of the course under one stable name (notebook 00).

>>> detector = make_detector("hog_ocsvm", quick=True)
>>> detector.fit(train_images).score_samples(test_images)   # higher = more normal

Modules are imported on first use, so that ``hog_ocsvm`` does not pay for importing Keras.
"""

import importlib

#: Detectors fitted on normal images only (``fit(X)``).
ONE_CLASS = ("hog_ocsvm", "conv_autoencoder", "deep_svdd")
#: Detectors that need labels (``fit(X, y)`` with y = 1 for anomalies).
SUPERVISED = ("labeled_regressor",)

_MODULES = {
    "hog_ocsvm": "anomaly_tutorial.detectors.hog_ocsvm",
    "labeled_regressor": "anomaly_tutorial.detectors.labeled",
    "conv_autoencoder": "anomaly_tutorial.detectors.autoencoder",
    "deep_svdd": "anomaly_tutorial.detectors.deep_svdd",
}


def make_detector(name: str, quick: bool = False, random_state: int = 0, **params):
    """Build the detector registered as ``name``, unfitted.

    ``quick=True`` picks a fast setting for tests and CI; ``params`` override constructor
    arguments (for a pipeline, ``step__param`` names work too).
    """
    if name not in _MODULES:
        known = ", ".join(sorted(_MODULES))
        raise ValueError(f"Unknown detector {name!r}. Known detectors: {known}.")
    module = importlib.import_module(_MODULES[name])
    return module.build(quick=quick, random_state=random_state, **params)


__all__ = ["ONE_CLASS", "SUPERVISED", "make_detector"]
