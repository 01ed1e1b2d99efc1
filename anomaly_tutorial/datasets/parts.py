"""Development and test parts of every bundled task (notebook 00, README "Development and test
parts"): settings are chosen on ``"dev"``, every reported figure comes from ``"test"``. Both
share the training images; no test image is in both (``tests/test_parts.py`` checks it).
"""

import numpy as np

PARTS = ("dev", "test")
#: What ``part=`` accepts in the loaders: one part, or ``"all"`` for both together.
PART_CHOICES = (*PARTS, "all")
#: Shares of each class's images for the one-class protocols (digits, glyphs): fit, dev, test.
CLASS_SHARES = (0.5, 0.25, 0.25)


def check_part(part) -> str:
    """Return ``part`` if it is one of ``PART_CHOICES``, else raise a ValueError naming them."""
    if part not in PART_CHOICES:
        raise ValueError(f"part must be one of {', '.join(map(repr, PART_CHOICES))}; got {part!r}.")
    return part


def part_of_file(path) -> str:
    """The part a bundled test file belongs to, from its name: ``dev_007.png`` -> ``"dev"``."""
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    prefix = name.split("_", 1)[0]
    if prefix not in PARTS:
        raise ValueError(f"{path}: a bundled test file's name starts with 'dev_' or 'test_'.")
    return prefix


def select_part(dataset, part: str, parts=None):
    """Keep the test images of ``part`` (``"all"`` keeps every one).

    ``parts`` names each test image's part; by default it is read from the file names
    (:func:`part_of_file`), as the bundled textures are stored.
    """
    if check_part(part) == "all":
        return dataset
    if parts is None:
        parts = [part_of_file(path) for path in dataset.test_paths or ()]
    parts = np.asarray(parts)
    if parts.shape != (len(dataset.test_images),):
        raise ValueError(
            f"parts must name the part of each of the {len(dataset.test_images)} test images; "
            f"got shape {parts.shape}."
        )
    return dataset.select_test(np.flatnonzero(parts == part))


def class_slots(targets, random_state: int = 0) -> np.ndarray:
    """Assign every image of a labelled collection to ``"fit"``, ``"dev"`` or ``"test"``.

    Each class is shuffled on its own (with ``random_state`` and the class, so a slot does not
    depend on which other classes exist) and cut in ``CLASS_SHARES``. For the one-class
    protocol with class ``k`` as normal: fit on the ``"fit"`` images of ``k``; the dev part is
    the ``"dev"`` images of ``k`` plus the ``"fit"`` and ``"dev"`` images of the other classes;
    the test part is every ``"test"`` image (:func:`one_class_parts`).
    """
    targets = np.asarray(targets)
    slots = np.empty(len(targets), dtype=object)
    for label in np.unique(targets):
        index = np.flatnonzero(targets == label)
        rng = np.random.default_rng([random_state, int(label)])
        index = index[rng.permutation(len(index))]
        first = int(round(CLASS_SHARES[0] * len(index)))
        second = first + int(round(CLASS_SHARES[1] * len(index)))
        slots[index[:first]] = "fit"
        slots[index[first:second]] = "dev"
        slots[index[second:]] = "test"
    return slots.astype(str)


def one_class_parts(targets, normal, slots) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fit_index, test_index, test_parts)`` for the one-class protocol (see
    :func:`class_slots`): the test index covers both parts, in the collection's order."""
    targets, slots = np.asarray(targets), np.asarray(slots)
    is_normal = targets == normal
    fit_index = np.flatnonzero(is_normal & (slots == "fit"))
    in_dev = (slots == "dev") | (~is_normal & (slots == "fit"))
    test_index = np.flatnonzero(~(is_normal & (slots == "fit")))
    test_parts = np.where(in_dev[test_index], "dev", "test")
    return fit_index, test_index, test_parts
