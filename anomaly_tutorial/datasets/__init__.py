"""Datasets of the course, all returned as :class:`AnomalyDataset` (notebook 00).

- ``load_textures(category)``: brick, grass, gravel inspection patches with defect masks;
- ``load_digits_one_class(normal_digit)``: one handwritten 8x8 digit is normal;
- ``load_glyphs_one_class(normal_class)``: one 28x28 digit drawn from many fonts is normal;
- ``load_faces()``: faces are normal, background crops are anomalies;
- ``load_folder(path)``: your own images in the MVTec AD layout;
- ``image_source(path_or_array)``: images read lazily, batch by batch, for folders of any size
  (``ImageFiles``), or an array: what ``streaming.Streamed`` reads (notebook 05);
- ``load_dataset(name)``: any of the bundled ones by name, see ``DATASET_NAMES``.

Every bundled loader takes ``part="test"`` (report here), ``"dev"`` (choose settings here) or
``"all"``; see :mod:`anomaly_tutorial.datasets.parts`.
"""

from anomaly_tutorial.datasets.dataset import AnomalyDataset
from anomaly_tutorial.datasets.digits import load_digits_one_class
from anomaly_tutorial.datasets.faces import load_faces
from anomaly_tutorial.datasets.folder import folder_files, load_folder, write_folder
from anomaly_tutorial.datasets.glyphs import load_glyphs_one_class
from anomaly_tutorial.datasets.imagefiles import IMAGE_EXTENSIONS, DatasetError, read_images
from anomaly_tutorial.datasets.parts import PART_CHOICES, PARTS, select_part
from anomaly_tutorial.datasets.source import ImageFiles, ImageSource, image_source
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
    "IMAGE_EXTENSIONS",
    "PARTS",
    "PART_CHOICES",
    "TEXTURE_CATEGORIES",
    "AnomalyDataset",
    "DatasetError",
    "ImageFiles",
    "ImageSource",
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
