"""Load and write datasets in the MVTec AD folder layout (notebooks 00 and 05).

::

    my_parts/
        train/good/*.png                      normal images to fit on
        test/good/*.png                       normal test images        (label 0)
        test/<defect>/*.png                   anomalous test images     (label 1)
        ground_truth/<defect>/<name>_mask.png pixel masks (optional; white = defect)

The bundled textures are loaded through this same code.
"""

import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from anomaly_tutorial.datasets.dataset import GOOD, AnomalyDataset
from anomaly_tutorial.datasets.imagefiles import (
    MAX_PIXELS,
    DatasetError,
    check_options,
    convert,
    list_images,
    read_image,
    resize_mask,
    stack,
    visible_entries,
)


def load_folder(path, *, resize=None, color=None, max_pixels=MAX_PIXELS) -> AnomalyDataset:
    """Load an MVTec-layout folder into an :class:`AnomalyDataset` (notebooks 00 and 05).

    The dataset is named after the folder. Only ``train/good`` is required; ``test/`` and
    ``ground_truth/`` are optional (without ``ground_truth/``, ``test_masks`` is None; normal
    test images get all-False masks). Files are read in natural order (``2.png`` before
    ``10.png``). Hidden files (names starting with ".") and ``Thumbs.db`` / ``desktop.ini`` are
    ignored; any other non-image file is an error. Grayscale images load as (H, W, 1), colour
    as (H, W, 3), alpha is dropped, 8- and 16-bit images are scaled to [0, 1].

    ``color="gray"`` or ``"rgb"`` converts every image; ``resize=(H, W)`` resizes every image
    (with anti-aliasing) and mask (nearest neighbour). Without them, mixed sizes or channel
    counts raise :class:`DatasetError`, as do a missing ``train/good``, empty folders,
    unreadable files, masks without an image, defect images without a mask, and masks whose
    size differs from their image. Images of more than ``max_pixels`` pixels are refused
    before they are decoded. Nothing is ever written into ``path``.
    """
    resize, color = check_options(resize, color)
    root = Path(path)
    train_files, test_groups = folder_files(root)
    mask_files = _match_masks(root / "ground_truth", test_groups)

    test_files = [file for _, files in test_groups for file in files]
    defects = [defect for defect, files in test_groups for _ in files]
    raw = [read_image(file, max_pixels) for file in train_files + test_files]
    images = stack([convert(image, resize, color) for image in raw], train_files + test_files)
    test_masks = None
    if mask_files is not None and test_files:
        test_masks = np.stack(
            [
                resize_mask(_read_mask(mask_files.get(file), image.shape[:2], max_pixels), resize)
                for file, image in zip(test_files, raw[len(train_files) :], strict=True)
            ]
        )
    return AnomalyDataset(
        name=root.resolve().name,
        train_images=images[: len(train_files)],
        test_images=images[len(train_files) :],
        test_labels=np.array([int(defect != GOOD) for defect in defects], dtype=np.int64),
        test_defects=np.array(defects, dtype=str),
        test_masks=test_masks,
        train_paths=tuple(str(file) for file in train_files),
        test_paths=tuple(str(file) for file in test_files),
    )


def folder_files(path) -> tuple[list[Path], list[tuple[str, list[Path]]]]:
    """The image files of an MVTec-layout folder, checked but not read (``anomaly-tutorial train``).

    Returns ``(train_files, test_groups)``: the files of ``train/good``, and ``(kind, files)``
    for each folder of ``test/``, ``"good"`` first. The command line streams them, batch by
    batch, instead of loading the folder; :func:`load_folder` starts from the same listing.
    """
    root = Path(path)
    if not root.exists():
        raise DatasetError(f"{root}: folder does not exist.")
    if not root.is_dir():
        raise DatasetError(f"{root}: is not a folder; expected an MVTec-layout dataset folder.")
    train_dir = root / "train" / "good"
    for folder in (root, root / "train", train_dir):
        if folder.is_dir() and not os.access(folder, os.R_OK | os.X_OK):
            raise DatasetError(f"{folder}: cannot be read (permission denied).")
    if not train_dir.is_dir():
        raise DatasetError(
            f"{root}: missing train/good/ folder. Put the normal training images in "
            f"{train_dir} (MVTec layout: train/good, test/<type>, ground_truth/<type>)."
        )
    return list_images(train_dir), _test_groups(root / "test")


def _test_groups(test_dir: Path) -> list[tuple[str, list[Path]]]:
    if not test_dir.exists():
        return []
    if not test_dir.is_dir():
        raise DatasetError(f"{test_dir}: is not a folder.")
    groups = []
    for entry in visible_entries(test_dir):
        if not entry.is_dir():
            raise DatasetError(
                f"{entry}: test images belong in sub-folders, test/good/ for normal images and "
                "test/<defect name>/ for each kind of anomaly."
            )
        groups.append((entry.name, list_images(entry)))
    # "good" first, then the defects in name order: the order users expect in tables.
    return sorted(groups, key=lambda group: (group[0] != GOOD, group[0]))


def _match_masks(truth_dir: Path, test_groups) -> dict[Path, Path] | None:
    """Map each test image to its mask file; None when there is no ground_truth/ at all."""
    if not truth_dir.exists():
        return None
    if not truth_dir.is_dir():
        raise DatasetError(f"{truth_dir}: is not a folder.")
    images = {defect: files for defect, files in test_groups}
    masks = {}
    for folder in visible_entries(truth_dir):
        defect = folder.name
        if not folder.is_dir():
            raise DatasetError(f"{folder}: masks belong in ground_truth/<defect name>/ folders.")
        by_stem = {file.stem: file for file in images.get(defect, [])}
        for mask in list_images(folder):
            stem = mask.stem.removesuffix("_mask")
            if stem not in by_stem:
                raise DatasetError(
                    f"{mask}: mask has no matching image test/{defect}/{stem}.* in "
                    f"{truth_dir.parent}."
                )
            masks[by_stem[stem]] = mask
    for defect, files in test_groups:
        if defect == GOOD:
            continue  # normal images without a mask have no defect pixels
        for file in files:
            if file not in masks:
                raise DatasetError(
                    f"{file}: defect image has no mask; expected "
                    f"{truth_dir / defect / (file.stem + '_mask.png')} (or remove "
                    f"{truth_dir} to load the folder without masks)."
                )
    return masks


def _read_mask(path: Path | None, image_size, max_pixels: int) -> np.ndarray:
    if path is None:
        return np.zeros(image_size, dtype=bool)
    mask = read_image(path, max_pixels).max(axis=-1) > 0.5
    if mask.shape != tuple(image_size):
        raise DatasetError(
            f"{path}: mask is {mask.shape[0]}x{mask.shape[1]} pixels but its image is "
            f"{image_size[0]}x{image_size[1]}."
        )
    return mask


def write_folder(dataset: AnomalyDataset, path) -> Path:
    """Write ``dataset`` as a new MVTec-layout folder of PNG files and return its path.

    Test images keep the file names of ``dataset.test_paths`` when it has them (so a folder
    loaded and written again keeps its names), otherwise files are numbered per folder
    (``000.png``); training images are numbered. Masks go to
    ``ground_truth/<defect>/<name>_mask.png`` (0/255) when the dataset has masks. A folder
    that already holds ``train/``, ``test/`` or ``ground_truth/`` is refused: this never
    writes over images. Notebook 05 uses it to write a demo folder; the texture generator
    writes the bundled data with it.
    """
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root}: exists and is not a folder.")
    existing = [part for part in ("train", "test", "ground_truth") if (root / part).exists()]
    if existing:
        raise DatasetError(
            f"{root}: already holds {', '.join(existing)}/; write into a new folder."
        )
    _write_group(root / "train" / GOOD, dataset.train_images, _numbered(len(dataset.train_images)))
    for defect in (GOOD, *dataset.defect_types):
        index = np.flatnonzero(dataset.test_defects == defect)
        names = _test_names(dataset.test_paths, index)
        _write_group(root / "test" / defect, dataset.test_images[index], names)
        if dataset.test_masks is not None and defect != GOOD:
            folder = root / "ground_truth" / defect
            folder.mkdir(parents=True, exist_ok=True)
            for name, mask in zip(names, dataset.test_masks[index], strict=True):
                iio.imwrite(folder / f"{name}_mask.png", mask.astype(np.uint8) * 255)
    return root


def _numbered(count: int) -> list[str]:
    width = max(3, len(str(count - 1)))
    return [f"{number:0{width}d}" for number in range(count)]


def _test_names(paths, index) -> list[str]:
    """The stems of ``paths`` at ``index`` if there are paths and the stems are distinct."""
    if paths is not None:
        stems = [Path(paths[i]).stem for i in index]
        if len(set(stems)) == len(stems):
            return stems
    return _numbered(len(index))


def _write_group(folder: Path, images: np.ndarray, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in zip(names, images, strict=True):
        pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
        iio.imwrite(folder / f"{name}.png", pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
