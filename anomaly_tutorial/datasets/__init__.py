"""Datasets of the course, all returned as :class:`AnomalyDataset` (notebook 00).

Bundled: ``load_textures`` (brick, grass, gravel patches with defect masks),
``load_digits_one_class``, ``load_glyphs_one_class`` and ``load_faces``, or any of them by name
with ``load_dataset``; each takes ``part="test"`` (report here), ``"dev"`` (choose settings
here) or ``"all"`` (:mod:`.parts`). Your own images: ``load_folder`` (MVTec layout),
``read_images``, and ``image_source`` to read them batch by batch (notebook 05).
"""

from anomaly_tutorial.datasets.dataset import AnomalyDataset
from anomaly_tutorial.datasets.digits import load_digits_one_class
from anomaly_tutorial.datasets.faces import load_faces
from anomaly_tutorial.datasets.folder import folder_files, load_folder, write_folder
from anomaly_tutorial.datasets.glyphs import load_glyphs_one_class
from anomaly_tutorial.datasets.imagefiles import DatasetError, read_images
from anomaly_tutorial.datasets.parts import select_part
from anomaly_tutorial.datasets.source import ImageFiles, image_source
from anomaly_tutorial.datasets.textures import (
    TEXTURE_CATEGORIES,
    generate_textures,
    load_textures,
    texture_folder,
)

DATASET_NAMES = (*TEXTURE_CATEGORIES, "digits", "glyphs", "faces")


def load_dataset(name: str, part: str = "test") -> AnomalyDataset:
    """Load a bundled dataset by name (one of ``DATASET_NAMES``) with default settings; for
    digits and glyphs, class 0 is the normal one."""
    if name in TEXTURE_CATEGORIES:
        return load_textures(name, part)
    if name == "digits":
        return load_digits_one_class(part=part)
    if name == "glyphs":
        return load_glyphs_one_class(part=part)
    if name == "faces":
        return load_faces(part=part)
    raise ValueError(f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASET_NAMES)}.")


__all__ = [
    "DATASET_NAMES",
    "TEXTURE_CATEGORIES",
    "AnomalyDataset",
    "DatasetError",
    "ImageFiles",
    "folder_files",
    "generate_textures",
    "image_source",
    "load_dataset",
    "load_digits_one_class",
    "load_faces",
    "load_folder",
    "load_glyphs_one_class",
    "load_textures",
    "read_images",
    "select_part",
    "texture_folder",
    "write_folder",
]
