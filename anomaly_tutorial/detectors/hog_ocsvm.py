"""``hog_ocsvm``: HOG features -> StandardScaler -> OneClassSVM (notebook 01).

This is the learner's starting point, built as a plain scikit-learn ``Pipeline``: it already has
``score_samples`` (higher = more normal), ``decision_function`` (``score_samples - offset_`` of
the SVM) and ``predict`` (+1 / -1), exactly the outlier API every other detector copies.
"""

from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from anomaly_tutorial.features import HOGFeatures

#: Short names accepted by ``make_detector("hog_ocsvm", nu=0.05)``, mapped to pipeline params.
_SHORT_NAMES = {
    "nu": "oneclasssvm__nu",
    "gamma": "oneclasssvm__gamma",
    "kernel": "oneclasssvm__kernel",
    "orientations": "hogfeatures__orientations",
    "pixels_per_cell": "hogfeatures__pixels_per_cell",
    "cells_per_block": "hogfeatures__cells_per_block",
}


def build(quick: bool = False, random_state: int = 0, **params) -> Pipeline:
    """The ``hog_ocsvm`` detector, unfitted.

    ``quick`` and ``random_state`` change nothing: the pipeline is fast and deterministic as it
    is. ``nu`` bounds the fraction of training images left outside the boundary (default 0.1).
    """
    del quick, random_state  # accepted for the registry's uniform signature
    pipeline = make_pipeline(HOGFeatures(), StandardScaler(), OneClassSVM(nu=0.1, gamma="scale"))
    valid = set(pipeline.get_params())
    resolved = {}
    for name, value in params.items():
        key = _SHORT_NAMES.get(name, name)
        if key not in valid:
            known = ", ".join(sorted(_SHORT_NAMES))
            raise ValueError(
                f"hog_ocsvm has no parameter {name!r}. Use one of {known}, or a pipeline "
                f"parameter such as 'oneclasssvm__tol'."
            )
        resolved[key] = value
    return pipeline.set_params(**resolved)
