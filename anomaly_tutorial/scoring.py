"""Score image files with a fitted detector, batch by batch: one row per image (notebook 05).

:func:`score_folder` reads a batch of files, scores it, yields its rows and forgets it, so memory
stays flat however many images there are; ``anomaly-tutorial score`` writes the rows as they come
(:func:`anomaly_tutorial.report.write_score_run`).
"""

from dataclasses import dataclass

import numpy as np
from sklearn.utils import gen_batches
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial import progress, tiling
from anomaly_tutorial.datasets.imagefiles import MAX_PIXELS
from anomaly_tutorial.datasets.source import ImageFiles
from anomaly_tutorial.detectors.anomaly_maps import MapDetector
from anomaly_tutorial.errors import DatasetError, InputError
from anomaly_tutorial.images import is_larger


@dataclass(frozen=True)
class ScoredImage:
    """One row of :func:`score_folder`: ``anomaly_score`` is ``-score_samples``, ``label`` what
    ``predict`` says (+1 normal, -1 anomaly), ``tiled`` whether the image was larger than the
    detector's input; ``image`` and its ``anomaly_map`` ``(H, W)`` come with ``maps=True``."""

    path: str
    anomaly_score: float
    label: int
    tiled: bool = False
    image: np.ndarray | None = None
    anomaly_map: np.ndarray | None = None


def score_folder(detector, paths, *, batch_size=None, maps=False, max_pixels=MAX_PIXELS, verbose=0):
    """A :class:`ScoredImage` for every image file in ``paths``, in order, batch by batch.

    Parameters
    ----------
    detector : fitted detector
        Any detector of :mod:`anomaly_tutorial.detectors`.
    paths : str, Path or list of them
        Image files and folders (a folder means its images, in natural order).
    batch_size : int or None, default=None
        Images read and scored at a time; ``None`` picks a batch of at most 32 MB.
    maps : bool, default=False
        Also return each image and its anomaly map (the detector must have maps); keep only
        the rows you need.
    max_pixels : int, default=4096*4096
        Refuse larger images before decoding them.
    verbose : int, default=0
        1 shows a progress bar on stderr (see :mod:`anomaly_tutorial.progress`).

    Images of the detector's input size are scored in batches, larger ones in tiles
    (:class:`~anomaly_tutorial.tiling.Tiled`); smaller ones are an error. The detector, the
    options and the files are checked at once; images are read as rows are asked for.

    Examples
    --------
    >>> import tempfile, numpy as np, imageio.v3 as iio
    >>> from anomaly_tutorial.detectors import make_detector
    >>> rng = np.random.default_rng(0)
    >>> detector = make_detector("hog_ocsvm").fit(rng.random((20, 16, 16)))
    >>> folder = tempfile.mkdtemp()
    >>> iio.imwrite(f"{folder}/a.png", rng.integers(0, 255, (16, 16), dtype=np.uint8))
    >>> iio.imwrite(f"{folder}/b.png", rng.integers(0, 255, (40, 48), dtype=np.uint8))
    >>> [(row.path[-5:], row.label in (1, -1), row.tiled) for row in score_folder(detector, folder)]
    [('a.png', True, False), ('b.png', True, True)]
    """
    check_is_fitted(detector)
    if maps and not isinstance(detector, MapDetector):
        raise InputError(
            f"the {type(detector).__name__} model has no anomaly maps; maps (--maps) need a "
            "localising detector such as conv_autoencoder."
        )
    channels = detector.image_shape_[2]
    files = ImageFiles(paths, color="gray" if channels == 1 else "rgb", max_pixels=max_pixels)
    return _rows(tiling.Tiled(detector), files, batch_size or files.batch_size(), maps, verbose)


def _rows(model, files, size, maps, verbose):
    bar = progress.bar(total=len(files), description="Scoring", unit="image", verbose=verbose)
    with bar:
        for chunk in gen_batches(len(files), size):
            indices = range(chunk.start, chunk.stop)
            for row in _score_batch(model, files, indices, maps):
                yield row
                bar.update()


def _score_batch(model, files, indices, maps):
    images = {index: files.read_one(index) for index in indices}
    fitted, by_size, results = tuple(model.image_shape_[:2]), {}, {}
    for index, image in images.items():
        if image.shape[:2] != fitted and not is_larger(image[np.newaxis], fitted):
            raise DatasetError(
                f"{files.paths[index]}: the images are {image.shape[0]}x{image.shape[1]} but "
                f"the model was trained on {fitted[0]}x{fitted[1]}; larger images are scored "
                "in tiles, smaller ones must be resized first."
            )
        by_size.setdefault(image.shape, []).append(index)
    for group in by_size.values():  # images of one size go through the model together
        scores, group_maps = _scores_and_maps(model, np.stack([images[i] for i in group]), maps)
        for position, index in enumerate(group):
            results[index] = scores[position], None if group_maps is None else group_maps[position]
    for index, image in images.items():
        score, one_map = results[index]
        yield ScoredImage(
            path=files.paths[index],
            anomaly_score=float(-score),
            label=int(model.labels_from_scores(score)),
            tiled=image.shape[:2] != fitted,
            image=image if maps else None,
            anomaly_map=one_map,
        )


def _scores_and_maps(model, images, maps):
    if not maps:
        return model.score_samples(images), None
    image_maps = model.anomaly_map(images)
    if model.maps_give_scores():  # one pass through the network, not two
        return model.scores_from_maps(image_maps), image_maps
    return model.score_samples(images), image_maps


__all__ = ["ScoredImage", "score_folder"]
