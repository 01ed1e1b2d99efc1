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

import json
import os
from pathlib import Path

import numpy as np
import skimage.data

from anomaly_tutorial.datasets import bundled, defects
from anomaly_tutorial.datasets.bundled import MANIFEST, check_replaceable, owned_files
from anomaly_tutorial.datasets.dataset import GOOD, AnomalyDataset
from anomaly_tutorial.datasets.folder import load_folder, write_folder
from anomaly_tutorial.datasets.parts import select_part
from anomaly_tutorial.outputs import check_folder, new_files_in

#: Bump when the generated pixels change, so that caches of older versions are not reused.
GENERATOR_VERSION = 2
TEXTURE_CATEGORIES = ("brick", "grass", "gravel")

PATCH = 64
STRIDE = 8  # patch corners lie on an 8-pixel grid: overlapping, but never identical, patches
TRAIN_ROWS = (0, 288)  # training patches lie entirely inside these photo rows...
TEST_ROWS = (352, 512)  # ...test patches inside these: the 64 rows in between are never used
#: The test rows are cut in two parts with a 16-column gap, so that no pixel is in both:
#: ``dev`` is for choosing settings, ``test`` for reporting (notebook 00, README).
PART_COLUMNS = {"dev": (0, 248), "test": (264, 512)}
#: Each part has its own defect kinds: settings are chosen on the ``dev`` kinds and reported on
#: kinds they never saw. The five bold kinds and two subtle ones are for development; four
#: subtle kinds, designed before any detector was run on them, are held out for the test part.
PART_KINDS = {
    "dev": ("contamination", "crack", "hole", "scratch", "stain", "faint_line", "blur"),
    "test": ("faint_stain", "transplant", "smear", "speckle"),
}
N_TRAIN = 240
N_GOOD = {"dev": 60, "test": 60}
N_PER_DEFECT = {"dev": 20, "test": 25}
SEEDS = {"brick": 1, "grass": 2, "gravel": 3}  # one generator per category
NOTICEABLE = 26  # gray levels (~10 %): a change at least this large belongs to the mask


def _check_category(category):
    if category not in TEXTURE_CATEGORIES:
        raise ValueError(
            f"Unknown texture category {category!r}. Known: {', '.join(TEXTURE_CATEGORIES)}."
        )


def _origins(rng, rows, count, columns=(0, 512)):
    """``count`` distinct top-left corners of patches lying inside ``rows`` x ``columns``."""
    corners = [
        (row, col)
        for row in range(rows[0], rows[1] - PATCH + 1, STRIDE)
        for col in range(columns[0], columns[1] - PATCH + 1, STRIDE)
    ]
    chosen = rng.choice(len(corners), size=count, replace=False)
    return [corners[index] for index in chosen]


def _paint(kind, base, rng, materials):
    """Paint one defect of ``kind`` on ``base`` (uint8), redrawing until it is visible
    (``defects.VISIBILITY``)."""
    painter = defects.PAINTERS[kind]
    min_area, min_change, min_contrast = defects.VISIBILITY[kind]
    for _ in range(200):
        painted, coverage = painter(base / 255.0, rng, materials)
        result = np.round(np.clip(painted, 0, 1) * 255).astype(np.uint8)
        change = np.abs(result.astype(np.int16) - base)
        # Full coverage counts even where the new pixel happens to match the old one (a paper
        # scrap over a bright stone); elsewhere only a noticeable change does.
        mask = (coverage >= 0.5) | (change >= NOTICEABLE)
        needed = max(min_change, min_contrast * base.std())
        if mask.sum() >= min_area and change[mask].mean() >= needed:
            return result, mask
    raise RuntimeError(f"{kind} produced no visible defect in 200 attempts.")


def make_textures(category: str) -> tuple[AnomalyDataset, dict]:
    """Generate one category in memory: ``(dataset, origins)``.

    The dataset holds every test image of both parts; ``test_paths`` are the file names
    :func:`generate_textures` gives them (``test/<kind>/<part>_<nnn>.png``), which is how
    :func:`load_textures` tells the parts apart. ``origins`` maps each file name to the
    (row, col) photo corner of its patch. How the patches and defects are made: notebook 00
    and ``data/README.md``.
    """
    _check_category(category)
    rng = np.random.default_rng(SEEDS[category])
    photo = getattr(skimage.data, category)()
    materials = defects.Materials(foreign=skimage.data.text() / 255.0, photo=photo / 255.0)

    def crop(row, col):
        return photo[row : row + PATCH, col : col + PATCH]

    train_corners = _origins(rng, TRAIN_ROWS, N_TRAIN)
    origins = {f"train/{GOOD}/{index:03d}.png": c for index, c in enumerate(train_corners)}
    test, masks, names, paths = [], [], [], []
    for part, kinds in PART_KINDS.items():
        count = N_GOOD[part] + len(kinds) * N_PER_DEFECT[part]
        corners = iter(_origins(rng, TEST_ROWS, count, PART_COLUMNS[part]))
        for kind in (GOOD, *kinds):
            for number in range(N_GOOD[part] if kind == GOOD else N_PER_DEFECT[part]):
                corner = next(corners)
                if kind == GOOD:
                    image, mask = crop(*corner), np.zeros((PATCH, PATCH), bool)
                else:
                    image, mask = _paint(kind, crop(*corner), rng, materials)
                path = f"test/{kind}/{part}_{number:03d}.png"
                origins[path] = corner
                test.append(image)
                masks.append(mask)
                names.append(kind)
                paths.append(path)
    names = np.array(names)
    dataset = AnomalyDataset(
        name=category,
        train_images=np.array([crop(*corner) for corner in train_corners]),
        test_images=np.array(test),
        test_labels=(names != GOOD).astype(int),
        test_defects=names,
        test_masks=np.array(masks),
        test_paths=tuple(paths),
    )
    return dataset, origins


def _manifest_entries(category, dataset, origins):
    """Manifest entries keyed by the path of each image and mask inside ``category``."""
    entries = {}
    images = [*dataset.train_images, *dataset.test_images]
    masks = [None] * len(dataset.train_images) + list(dataset.test_masks)
    for (path, corner), image, mask in zip(origins.items(), images, masks, strict=True):
        entries[f"{category}/{path}"] = {
            "sha256": bundled.pixel_hash(np.round(image[..., 0] * 255).astype(np.uint8)),
            "origin": list(corner),
        }
        if mask is not None and mask.any():
            _, kind, name = path.split("/")
            mask_path = f"{category}/ground_truth/{kind}/{Path(name).stem}_mask.png"
            entries[mask_path] = {"sha256": bundled.pixel_hash(mask.astype(np.uint8) * 255)}
    return entries


def generate_textures(out_dir, *, categories=TEXTURE_CATEGORIES, force=False) -> dict:
    """Write the texture categories into ``out_dir/<category>/`` (MVTec layout) plus
    ``out_dir/manifest.json`` and return the manifest (``make data``; ``data/README.md``).

    An existing category folder is refused unless ``force=True``, and even then replaced only if
    everything in it is what this generator wrote, with the same pixels (:func:`check_output`
    names what is not). Written into a temporary folder and moved in at the end, so a failure
    changes nothing.
    """
    out = Path(out_dir)
    manifest_path = out / MANIFEST
    check_output(out, categories, force)
    previous = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    owned = {category: owned_files(manifest_path, f"{category}/") for category in categories}
    files = {
        path: entry
        for path, entry in previous.get("files", {}).items()
        if path.split("/")[0] not in categories
    }
    with new_files_in(out) as staging:
        for category in categories:
            dataset, origins = make_textures(category)
            write_folder(dataset, staging / category)
            files.update(_manifest_entries(category, dataset, origins))
        manifest = bundled.write_manifest(
            staging / MANIFEST,
            GENERATOR_VERSION,
            dict(sorted(files.items())),
            origin="(row, col) of the patch's top-left corner in skimage.data.<category>()",
        )
        for category in categories:
            bundled.replace_generated(staging / category, out / category, owned[category])
        os.replace(staging / MANIFEST, manifest_path)
    return manifest


def check_output(out_dir, categories=TEXTURE_CATEGORIES, force=False) -> None:
    """Raise unless :func:`generate_textures` may write ``categories`` into ``out_dir``
    (``FileExistsError`` naming what would be lost, or an ``OutputError``); nothing changes."""
    for category in categories:
        _check_category(category)
    out = Path(out_dir)
    check_folder(out)
    for category in categories:
        check_replaceable(out / category, owned_files(out / MANIFEST, f"{category}/"), force)


def default_data_folder() -> Path:
    """Where ``make data`` writes: the repository's ``data/textures`` in a checkout, else the
    user cache (an installed package has no repository)."""
    return bundled.default_folder("textures", GENERATOR_VERSION)


def texture_folder(category: str) -> Path:
    """The folder holding ``category``: the repository's ``data/textures/<category>``, or, for
    an installed package without it, a cache folder generated on first use (notebook 00)."""
    _check_category(category)
    return bundled.generated_folder(
        "textures",
        GENERATOR_VERSION,
        ready=lambda folder: (folder / "train" / GOOD).is_dir(),
        generate=lambda staging: write_folder(make_textures(category)[0], staging),
        name=category,
    )


def load_textures(category: str, part: str = "test") -> AnomalyDataset:
    """Load a texture category (``"brick"``, ``"grass"``, ``"gravel"``) with
    :func:`load_folder`, the loader you would point at your own images (notebook 00).

    ``part`` picks the test images: ``"test"`` (the default) holds the good patches of the test
    columns and the held-out defect kinds, the figures we report; ``"dev"`` holds the other
    good patches and the development kinds, where settings are chosen; ``"all"`` keeps both.
    The training images are the same for every part.
    """
    return select_part(load_folder(texture_folder(category)), part)
