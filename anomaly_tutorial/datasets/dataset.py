"""The dataset object every loader returns (notebook 00)."""

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from anomaly_tutorial import images as image_contract

GOOD = "good"


@dataclass(frozen=True, eq=False)
class AnomalyDataset:
    """Train and test images of one anomaly-detection task (notebook 00).

    ``train_images`` (n, H, W, C) float32 normal images; ``test_images`` (m, H, W, C);
    ``test_labels`` (m,) 0 normal / 1 anomaly; ``test_defects`` (m,) ``"good"`` or the defect
    name; ``test_masks`` (m, H, W) bool defect pixels, or None when unknown;
    ``train_paths`` / ``test_paths`` the source files, or None. The arrays are checked (and
    converted to these dtypes) on construction, so a dataset is always consistent.
    """

    name: str
    train_images: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    test_defects: np.ndarray
    test_masks: np.ndarray | None = None
    train_paths: tuple[str, ...] | None = None
    test_paths: tuple[str, ...] | None = None

    def __post_init__(self):
        train = image_contract.as_images(self.train_images, name="train_images")
        height, width, channels = image_contract.image_shape(train)
        test = np.asarray(self.test_images)
        if test.ndim == 4 and len(test) == 0 and test.shape[1:] == train.shape[1:]:
            test = test.astype(np.float32)
        else:
            test = image_contract.as_images(test, name="test_images")
            if test.shape[1:] != train.shape[1:]:
                raise ValueError(
                    f"test_images have shape {test.shape[1:]} per image but train_images have "
                    f"{train.shape[1:]}; both must share (H, W, C)."
                )
        n_test = len(test)
        labels = np.asarray(self.test_labels).reshape(-1)
        if len(labels) != n_test or not np.isin(labels, (0, 1)).all():
            raise ValueError(
                f"test_labels must hold {n_test} values, each 0 (normal) or 1 (anomaly); "
                f"got {len(labels)} values {np.unique(labels)[:5]}."
            )
        defects = np.asarray(self.test_defects, dtype=str).reshape(-1)
        if len(defects) != n_test:
            raise ValueError(f"test_defects must hold {n_test} names; got {len(defects)}.")
        if np.any((defects == GOOD) != (labels == 0)):
            raise ValueError(f'test_defects must be "{GOOD}" exactly where test_labels is 0.')
        masks = self.test_masks
        if masks is not None:
            masks = np.asarray(masks)
            if masks.shape != (n_test, height, width) or masks.dtype != bool:
                raise ValueError(
                    f"test_masks must be bool with shape {(n_test, height, width)}; "
                    f"got {masks.dtype} {masks.shape}."
                )
        for field, count in (("train_paths", len(train)), ("test_paths", n_test)):
            paths = getattr(self, field)
            if paths is not None:
                paths = tuple(str(path) for path in paths)
                if len(paths) != count:
                    raise ValueError(f"{field} must hold {count} paths; got {len(paths)}.")
                object.__setattr__(self, field, paths)
        object.__setattr__(self, "name", str(self.name))
        object.__setattr__(self, "train_images", train)
        object.__setattr__(self, "test_images", test)
        object.__setattr__(self, "test_labels", labels.astype(np.int64))
        object.__setattr__(self, "test_defects", defects)
        object.__setattr__(self, "test_masks", masks)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of every image."""
        return image_contract.image_shape(self.train_images)

    @property
    def defect_types(self) -> tuple[str, ...]:
        """Sorted defect names in the test set, without ``"good"``."""
        return tuple(sorted(set(self.test_defects.tolist()) - {GOOD}))

    @property
    def test_types(self) -> tuple[str, ...]:
        """``"good"`` (if present) followed by the defect types: the order tables use."""
        good = (GOOD,) if np.any(self.test_defects == GOOD) else ()
        return good + self.defect_types

    def describe(self) -> list[dict]:
        """One row per split and type with its image count, for ``tables.show_table``."""
        rows = [{"split": "train", "type": GOOD, "label": 0, "images": len(self.train_images)}]
        counts = Counter(self.test_defects.tolist())
        for defect in self.test_types:
            label = 0 if defect == GOOD else 1
            row = {"split": "test", "type": defect, "label": label, "images": counts[defect]}
            rows.append(row)
        return rows

    def __repr__(self) -> str:
        height, width, channels = self.image_shape
        counts = Counter(self.test_defects.tolist())
        test = ", ".join(f"{name} {counts[name]}" for name in self.test_types)
        masks = "with masks" if self.test_masks is not None else "no masks"
        return (
            f"AnomalyDataset({self.name!r}, images {height}x{width}x{channels}, "
            f"train {len(self.train_images)}, test {len(self.test_images)} ({test}), {masks})"
        )

    def select_test(self, index) -> "AnomalyDataset":
        """The same training images with only the test images at ``index`` (in that order)."""
        return self._select(slice(None), np.asarray(index, dtype=np.int64))

    def subset(self, n_train=None, n_test_per_type=None, random_state=0) -> "AnomalyDataset":
        """A smaller dataset: ``n_train`` random training images and at most
        ``n_test_per_type`` test images of each type (good and every defect), keeping the
        original order. None keeps everything. Used for quick runs (tests, ``benchmark --quick``).
        """
        rng = np.random.default_rng(random_state)
        train_index = _choose(rng, np.arange(len(self.train_images)), n_train, "n_train")
        groups = [np.flatnonzero(self.test_defects == defect) for defect in self.test_types]
        picked = [_choose(rng, group, n_test_per_type, "n_test_per_type") for group in groups]
        return self._select(train_index, np.sort(np.concatenate([np.zeros(0, np.int64), *picked])))

    def _select(self, train, test) -> "AnomalyDataset":
        def pick(paths, index):
            return None if paths is None else tuple(np.asarray(paths)[index])

        return replace(
            self,
            train_images=self.train_images[train],
            test_images=self.test_images[test],
            test_labels=self.test_labels[test],
            test_defects=self.test_defects[test],
            test_masks=None if self.test_masks is None else self.test_masks[test],
            train_paths=pick(self.train_paths, train),
            test_paths=pick(self.test_paths, test),
        )


def _choose(rng, index, count, name):
    if count is None:
        return index
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise ValueError(f"{name} must be a positive integer or None; got {count!r}.")
    if count >= len(index):
        return index
    return np.sort(rng.choice(index, size=count, replace=False))
