"""The detector registry: every method of the course under one stable name (notebook 00)::

    detector = make_detector("hog_ocsvm", quick=True)
    detector.fit(train_images).score_samples(test_images)  # higher = more normal

Each name is a module holding one class, imported on first use (``hog_ocsvm`` does not pay for
importing Keras).
"""

import importlib

from anomaly_tutorial.errors import InputError

#: Detectors fitted on normal images only (``fit(X)``).
ONE_CLASS = ("hog_ocsvm", "conv_autoencoder", "deep_svdd", "patch_knn")
#: Detectors that need labels (``fit(X, y)`` with y = 1 for anomalies).
SUPERVISED = ("labeled_regressor",)
_CLASSES = {
    "hog_ocsvm": "HOGOneClassSVM",
    "labeled_regressor": "LabeledRegressor",
    "conv_autoencoder": "ConvAutoencoder",
    "deep_svdd": "DeepSVDD",
    "patch_knn": "PatchKNN",
}


def detector_class(name: str) -> type:
    """The class registered as ``name`` (one of ``ONE_CLASS + SUPERVISED``)."""
    if name not in _CLASSES:
        raise InputError(f"Unknown detector {name!r}. Known detectors: {', '.join(_CLASSES)}.")
    module = importlib.import_module(f"{__name__}.{name}")
    return getattr(module, _CLASSES[name])


def detector_name(detector) -> str:
    """The registry name of ``detector``'s class; ValueError if it is not one of ours."""
    for name, class_name in _CLASSES.items():
        if type(detector).__name__ == class_name and detector_class(name) is type(detector):
            return name
    raise ValueError(f"{type(detector).__name__} is not a registered detector.")


def make_detector(
    name: str, preset: str | None = None, quick: bool = False, random_state: int = 0, **params
):
    """Build the detector registered as ``name``, unfitted: the class's defaults, updated with
    its named recipe ``PRESETS[preset]`` (``conv_autoencoder``), then with its ``QUICK_PARAMS``
    if ``quick`` (fast, for tests and CI), then with ``params``."""
    cls = detector_class(name)
    if preset is not None and preset not in cls.PRESETS:
        known = ", ".join(map(repr, cls.PRESETS)) or "none"
        raise InputError(f"Unknown preset {preset!r} for {name}. Known presets: {known}.")
    detector = cls(random_state=random_state, **(cls.PRESETS[preset] if preset else {}))
    return detector.set_params(**{**(cls.QUICK_PARAMS if quick else {}), **params})


def choose_preset(name: str, images) -> str | None:
    """The preset of ``name`` for the normal ``images``, by its class's rule (for
    ``conv_autoencoder``, :func:`~.conv_autoencoder.choose_preset`); None if it has none."""
    return detector_class(name).choose_preset(images)


__all__ = [
    "ONE_CLASS",
    "SUPERVISED",
    "choose_preset",
    "detector_class",
    "detector_name",
    "make_detector",
]
