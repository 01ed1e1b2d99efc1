"""Datasets of the course, all returned as :class:`AnomalyDataset` (notebook 00).

- ``load_textures(category)``: brick, grass, gravel inspection patches with defect masks;
- ``load_digits_one_class(normal_digit)``: one handwritten digit is normal;
- ``load_faces()``: faces are normal, background crops are anomalies;
- ``load_folder(path)``: your own images in the MVTec AD layout;
- ``load_dataset(name)``: any of the bundled ones by name, see ``DATASET_NAMES``.
"""

from anomaly_tutorial.datasets.dataset import AnomalyDataset, split_normal
from anomaly_tutorial.datasets.digits import load_digits_one_class
from anomaly_tutorial.datasets.faces import load_faces
from anomaly_tutorial.datasets.folder import load_folder, write_folder
from anomaly_tutorial.datasets.imagefiles import IMAGE_EXTENSIONS, DatasetError, read_images
from anomaly_tutorial.datasets.textures import (
    TEXTURE_CATEGORIES,
    generate_textures,
    load_textures,
    texture_folder,
)

DATASET_NAMES = (*TEXTURE_CATEGORIES, "digits", "faces")


def load_dataset(name: str) -> AnomalyDataset:
    """Load a bundled dataset by name (one of ``DATASET_NAMES``) with default settings."""
    if name in TEXTURE_CATEGORIES:
        return load_textures(name)
    if name == "digits":
        return load_digits_one_class()
    if name == "faces":
        return load_faces()
    raise ValueError(f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASET_NAMES)}.")


__all__ = [
    "DATASET_NAMES",
    "IMAGE_EXTENSIONS",
    "TEXTURE_CATEGORIES",
    "AnomalyDataset",
    "DatasetError",
    "generate_textures",
    "load_dataset",
    "load_digits_one_class",
    "load_faces",
    "load_folder",
    "load_textures",
    "read_images",
    "split_normal",
    "texture_folder",
    "write_folder",
]
