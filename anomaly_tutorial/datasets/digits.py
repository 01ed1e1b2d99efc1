"""One-class handwritten digits: learn one digit, flag all the others (notebook 00)."""

import numbers

import numpy as np
from sklearn import datasets as sk_datasets

from anomaly_tutorial.datasets.dataset import GOOD, AnomalyDataset, check_fraction, split_indices


def load_digits_one_class(normal_digit=0, train_fraction=0.5, random_state=0) -> AnomalyDataset:
    """scikit-learn's 8x8 digits as a one-class task (notebook 00).

    Train on a random ``train_fraction`` of the images of ``normal_digit``; test on the rest of
    that digit (label 0, ``"good"``) plus every image of the other nine digits (label 1, defect
    ``"digit_<k>"``). Pixels are divided by 16 to lie in [0, 1]: float32 (n, 8, 8, 1). There
    are no masks. Test images keep the order of ``sklearn.datasets.load_digits``.
    """
    is_integer = isinstance(normal_digit, numbers.Integral) and not isinstance(normal_digit, bool)
    if not is_integer or normal_digit not in range(10):
        raise ValueError(f"normal_digit must be an integer from 0 to 9; got {normal_digit!r}.")
    digits = sk_datasets.load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    target = digits.target
    check_fraction(train_fraction, "train_fraction")
    train_index, held_out = split_indices(
        np.flatnonzero(target == normal_digit), train_fraction, random_state
    )
    test_index = np.sort(np.concatenate([held_out, np.flatnonzero(target != normal_digit)]))
    is_normal = target[test_index] == normal_digit
    return AnomalyDataset(
        name="digits",
        train_images=images[train_index],
        test_images=images[test_index],
        test_labels=(~is_normal).astype(np.int64),
        test_defects=np.where(is_normal, GOOD, [f"digit_{k}" for k in target[test_index]]),
    )
