"""Do the shipped networks give the same scores under two sets of library versions?

``make test-oldest`` runs this twice: ``save FILE`` in the course's venv (the newest versions)
loads every model folder in data/trained, scores the same seeded images with each and writes
images and scores to FILE; ``compare FILE`` in the oldest-versions venv loads the same folders,
scores the images from FILE and fails when any score differs by more than the tolerance.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from anomaly_tutorial import persistence
from anomaly_tutorial.trained import TRAINED_DIR

#: Scores may differ by this much, relative to the score's size (floor 1), between versions.
TOLERANCE = 1e-5
IMAGES_PER_MODEL = 6


def _folders() -> list[Path]:
    folders = sorted(path.parent for path in TRAINED_DIR.glob("*/*/" + persistence.META))
    if not folders:
        sys.exit(f"{TRAINED_DIR}: no model folders found")
    return folders


def _images(shape, seed) -> np.ndarray:
    """Seeded noise plus one blank and one constant image, in [0, 1]."""
    rng = np.random.default_rng(seed)
    noise = rng.random((IMAGES_PER_MODEL - 2, *shape), dtype=np.float32)
    flat = np.stack([np.zeros(shape, np.float32), np.full(shape, 0.5, np.float32)])
    return np.concatenate([noise, flat])


def save(path: Path) -> None:
    arrays = {}
    for seed, folder in enumerate(_folders()):
        key = folder.relative_to(TRAINED_DIR).as_posix()
        detector = persistence.load(folder)
        images = _images(detector.image_shape_, seed)
        arrays[f"{key}:images"] = images
        arrays[f"{key}:scores"] = detector.score_samples(images)
    np.savez(path, **arrays)
    print(f"{path}: scores of {len(arrays) // 2} shipped models")


def compare(path: Path) -> None:
    with np.load(path, allow_pickle=False) as saved:
        reference = dict(saved)
    keys = sorted({name.rsplit(":", 1)[0] for name in reference})
    mine = [folder.relative_to(TRAINED_DIR).as_posix() for folder in _folders()]
    if keys != mine:
        sys.exit(f"{path}: holds other models than {TRAINED_DIR} ({len(keys)} vs {len(mine)})")
    worst, worst_key = 0.0, None
    for key in keys:
        scores = persistence.load(TRAINED_DIR / key).score_samples(reference[f"{key}:images"])
        expected = reference[f"{key}:scores"]
        difference = np.max(np.abs(scores - expected) / np.maximum(np.abs(expected), 1.0))
        if not np.isfinite(difference):
            sys.exit(f"{key}: scores {scores} against {expected} from {path}")
        if difference > worst:
            worst, worst_key = difference, key
    print(f"{len(keys)} shipped models: largest relative difference {worst:.2e} ({worst_key})")
    if worst > TOLERANCE:
        sys.exit(f"{worst_key}: scores differ by {worst:.2e} (> {TOLERANCE:g}) from {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["save", "compare"])
    parser.add_argument("file", type=Path, help="the .npz of images and scores")
    args = parser.parse_args()
    (save if args.action == "save" else compare)(args.file)


if __name__ == "__main__":
    main()
