"""The bundled texture-inspection data: generator, manifest and loader (notebook 00).

64x64 grayscale patches cut from scikit-image's ``brick``, ``grass`` and ``gravel`` photos
(CC0, shipped inside scikit-image, so nothing is downloaded). Training patches come from the
top of each photo and test patches from the bottom, with a gap of one patch between them, so
no test pixel was ever seen in training. Defects from :mod:`anomaly_tutorial.datasets.defects`
are painted on test patches; each comes with the mask of the pixels it changed.

Regenerate the committed ``data/textures`` with ``make data`` (``anomaly-tutorial make-data
--force``, which calls :func:`generate_textures`). ``manifest.json`` holds the SHA-256 of every
file's decoded pixels and the photo corner each patch was cut from.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import skimage.data

from anomaly_tutorial.datasets import defects
from anomaly_tutorial.datasets.dataset import GOOD, AnomalyDataset
from anomaly_tutorial.datasets.folder import load_folder, write_folder

#: Bump when the generated pixels change, so that caches of older versions are not reused.
GENERATOR_VERSION = 1
TEXTURE_CATEGORIES = ("brick", "grass", "gravel")
DATA_DIR = Path(__file__).resolve().parents[2] / "data"
MANIFEST = "manifest.json"

PATCH = 64
STRIDE = 8  # patch corners lie on an 8-pixel grid: overlapping, but never identical, patches
TRAIN_ROWS = (0, 288)  # patches lie entirely inside these photo rows...
TEST_ROWS = (352, 512)  # ...or these: the 64 rows in between are never used
N_TRAIN, N_TEST_GOOD, N_PER_DEFECT = 240, 80, 20
SEEDS = {"brick": 1, "grass": 2, "gravel": 3}  # one generator per category
NOTICEABLE = 26  # gray levels (~10 %): a change at least this large belongs to the mask
# A defect counts as visible when it covers MIN_AREA pixels and changes them, on average, by
# MIN_MEAN_CHANGE gray levels and by MIN_CONTRAST times the patch's own standard deviation
# (a busy texture like grass hides a change that a plain brick shows).
MIN_AREA, MIN_MEAN_CHANGE, MIN_CONTRAST = 60, 0.15 * 255, 1.4


def _check_category(category):
    if category not in TEXTURE_CATEGORIES:
        raise ValueError(
            f"Unknown texture category {category!r}. Known: {', '.join(TEXTURE_CATEGORIES)}."
        )


def _origins(rng, rows, count, width=512):
    """``count`` distinct top-left corners of patches lying inside ``rows`` of the photo."""
    corners = [
        (row, col)
        for row in range(rows[0], rows[1] - PATCH + 1, STRIDE)
        for col in range(0, width - PATCH + 1, STRIDE)
    ]
    chosen = rng.choice(len(corners), size=count, replace=False)
    return [corners[index] for index in chosen]


def _paint(painter, base, rng, foreign):
    """Paint one defect on ``base`` (uint8), redrawing until it is clearly visible."""
    for _ in range(100):
        painted, coverage = painter(base / 255.0, rng, foreign)
        result = np.round(np.clip(painted, 0, 1) * 255).astype(np.uint8)
        change = np.abs(result.astype(np.int16) - base)
        # Full coverage counts even where the new pixel happens to match the old one (a paper
        # scrap over a bright stone); elsewhere only a noticeable change does.
        mask = (coverage >= 0.5) | (change >= NOTICEABLE)
        needed = max(MIN_MEAN_CHANGE, MIN_CONTRAST * base.std())
        if mask.sum() >= MIN_AREA and change[mask].mean() >= needed:
            return result, mask
    raise RuntimeError(f"{painter.__name__} produced no visible defect in 100 attempts.")


def make_textures(category: str) -> tuple[AnomalyDataset, dict]:
    """Generate one category in memory: ``(dataset, origins)``, where ``origins`` maps
    ``"train"`` / ``"test"`` to the (row, col) photo corner of each patch, in dataset order.
    How the patches and defects are made: notebook 00 and ``data/README.md``.
    """
    _check_category(category)
    rng = np.random.default_rng(SEEDS[category])
    photo = getattr(skimage.data, category)()
    foreign = skimage.data.text() / 255.0  # handwriting on paper: the contamination material
    n_defects = len(defects.PAINTERS) * N_PER_DEFECT
    origins = {
        "train": _origins(rng, TRAIN_ROWS, N_TRAIN),
        "test": _origins(rng, TEST_ROWS, N_TEST_GOOD + n_defects),
    }

    def crop(row, col):
        return photo[row : row + PATCH, col : col + PATCH]

    test, masks = [crop(*corner) for corner in origins["test"][:N_TEST_GOOD]], []
    names = [GOOD] * N_TEST_GOOD
    corners = iter(origins["test"][N_TEST_GOOD:])
    for name, painter in sorted(defects.PAINTERS.items()):
        for _ in range(N_PER_DEFECT):
            image, mask = _paint(painter, crop(*next(corners)), rng, foreign)
            test.append(image)
            masks.append(mask)
            names.append(name)
    names = np.array(names)
    masks = np.concatenate([np.zeros((N_TEST_GOOD, PATCH, PATCH), bool), np.array(masks)])
    dataset = AnomalyDataset(
        name=category,
        train_images=np.array([crop(*corner) for corner in origins["train"]]),
        test_images=np.array(test),
        test_labels=(names != GOOD).astype(int),
        test_defects=names,
        test_masks=masks,
    )
    return dataset, origins


def pixel_hash(pixels: np.ndarray) -> str:
    """SHA-256 of decoded uint8 pixels (shape, then bytes): unlike a file hash, it does not
    change when another PNG encoder compresses the same pixels differently (data/README.md)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    return hashlib.sha256(str(pixels.shape).encode() + pixels.tobytes()).hexdigest()


def _manifest_entries(category, dataset, origins):
    """Manifest entries keyed by the paths ``write_folder`` gives each image and mask."""
    entries = {}
    train = zip(dataset.train_images, origins["train"], strict=True)
    for index, (image, corner) in enumerate(train):
        entries[f"{category}/train/{GOOD}/{index:03d}.png"] = {
            "sha256": pixel_hash(_to_uint8(image)),
            "origin": list(corner),
        }
    for defect in (GOOD, *dataset.defect_types):
        for number, index in enumerate(np.flatnonzero(dataset.test_defects == defect)):
            entries[f"{category}/test/{defect}/{number:03d}.png"] = {
                "sha256": pixel_hash(_to_uint8(dataset.test_images[index])),
                "origin": list(origins["test"][index]),
            }
            if defect != GOOD:
                mask = dataset.test_masks[index].astype(np.uint8) * 255
                name = f"{category}/ground_truth/{defect}/{number:03d}_mask.png"
                entries[name] = {"sha256": pixel_hash(mask)}
    return entries


def _to_uint8(image):
    return np.round(image[..., 0] * 255).astype(np.uint8)


def generate_textures(out_dir, *, categories=TEXTURE_CATEGORIES, force=False) -> dict:
    """Write the texture categories into ``out_dir/<category>/`` (MVTec layout) plus
    ``out_dir/manifest.json``, and return the manifest. Takes a few seconds. ``make data``
    calls it; notebook 00 and ``data/README.md`` describe the result.

    An existing non-empty ``out_dir`` is refused unless ``force=True``, which replaces the
    generated categories (and keeps other categories' manifest entries).
    """
    for category in categories:
        _check_category(category)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(
            f"{out}: folder exists and is not empty; pass force=True (or --force) to "
            "regenerate the textures into it."
        )
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    previous = out / MANIFEST
    if previous.exists():
        old = json.loads(previous.read_text())
        kept = old.get("files", {}).items()
        files = {path: entry for path, entry in kept if path.split("/")[0] not in categories}
    for category in categories:
        dataset, origins = make_textures(category)
        write_folder(dataset, out / category, force=force)
        files.update(_manifest_entries(category, dataset, origins))
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "pixel_hash": "sha256 of str(shape) + raw bytes of the decoded uint8 pixel array",
        "origin": "(row, col) of the patch's top-left corner in skimage.data.<category>()",
        "files": dict(sorted(files.items())),
    }
    _write_manifest(previous, manifest)
    return manifest


def _write_manifest(path, manifest):
    # One file per line keeps `git diff` of a regenerated manifest readable.
    files = manifest["files"].items()
    lines = [f"  {json.dumps(name)}: {json.dumps(entry)}" for name, entry in files]
    header = {key: value for key, value in manifest.items() if key != "files"}
    text = json.dumps(header, indent=1)[:-2] + ',\n "files": {\n' + ",\n".join(lines) + "\n }\n}\n"
    path.write_text(text)


def default_data_folder() -> Path:
    """Where ``make data`` writes: the repository's ``data/textures`` in a checkout, else the
    user cache (an installed package has no repository)."""
    if (DATA_DIR.parent / "pyproject.toml").is_file():
        return DATA_DIR / "textures"
    return _cache_dir()


def _cache_dir() -> Path:
    base = os.environ.get("ANOMALY_TUTORIAL_DATA") or Path.home() / ".cache" / "anomaly_tutorial"
    return Path(base) / f"textures-v{GENERATOR_VERSION}"


def texture_folder(category: str) -> Path:
    """The folder holding ``category``: the repository's ``data/textures/<category>``, or, for
    an installed package without it, a cache folder generated on first use (notebook 00)."""
    _check_category(category)
    bundled = DATA_DIR / "textures" / category
    if (bundled / "train" / GOOD).is_dir():
        return bundled
    cached = _cache_dir() / category
    if not (cached / "train" / GOOD).is_dir():
        cached.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".generating-", dir=cached.parent))
        try:
            generate_textures(staging, categories=(category,))
            # A rename is atomic: a parallel process sees the whole folder or none of it.
            os.rename(staging / category, cached)
        except OSError:
            if not (cached / "train" / GOOD).is_dir():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return cached


def load_textures(category: str) -> AnomalyDataset:
    """Load a texture category (``"brick"``, ``"grass"``, ``"gravel"``) with
    :func:`load_folder`, the loader you would point at your own images (notebook 00)."""
    return load_folder(texture_folder(category))
