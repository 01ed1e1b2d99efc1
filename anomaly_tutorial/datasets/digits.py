"""One-class handwritten digits: learn one digit, flag all the others (notebook 00)."""

import numbers

import numpy as np
from sklearn import datasets as sk_datasets

from anomaly_tutorial.datasets.dataset import GOOD, AnomalyDataset
from anomaly_tutorial.datasets.parts import check_part, class_slots, one_class_parts, select_part


def check_class(value, n_classes: int, name: str) -> int:
    """Return ``value`` if it is an integer in ``range(n_classes)``, else raise a ValueError."""
    is_integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not is_integer or value not in range(n_classes):
        raise ValueError(f"{name} must be an integer from 0 to {n_classes - 1}; got {value!r}.")
    return int(value)


def one_class_dataset(name, images, targets, normal, part, random_state, kind) -> AnomalyDataset:
    """The one-class task "``normal`` is normal, every other class is an anomaly" on a
    labelled collection, cut into fit / dev / test images by :func:`.parts.class_slots`;
    anomalies of class ``k`` get the defect name ``f"{kind}_{k}"``."""
    check_part(part)
    slots = class_slots(targets, random_state)
    fit_index, test_index, test_parts = one_class_parts(targets, normal, slots)
    is_normal = targets[test_index] == normal
    dataset = AnomalyDataset(
        name=name,
        train_images=images[fit_index],
        test_images=images[test_index],
        test_labels=(~is_normal).astype(np.int64),
        test_defects=np.where(is_normal, GOOD, [f"{kind}_{k}" for k in targets[test_index]]),
    )
    return select_part(dataset, part, test_parts)


def load_digits_one_class(normal_digit=0, part="test", random_state=0) -> AnomalyDataset:
    """scikit-learn's 8x8 digits as a one-class task (notebook 00).

    Each digit's images are cut at random into halves and quarters (``parts.class_slots``):
    train on the first half of ``normal_digit``; its test images (label 0, ``"good"``) and
    those of the nine other digits (label 1, defect ``"digit_<k>"``) are split into a ``"dev"``
    part for choosing settings and a ``"test"`` part for reporting (``part="all"``: both).
    Pixels are divided by 16 to lie in [0, 1]: float32 (n, 8, 8, 1). There are no masks.
    """
    normal_digit = check_class(normal_digit, 10, "normal_digit")
    digits = sk_datasets.load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    return one_class_dataset(
        "digits", images, digits.target, normal_digit, part, random_state, kind="digit"
    )
