"""Synthetic anomalies made from normal images: labels without labelling (notebook 02).

CutPaste (Li et al., CVPR 2021, https://arxiv.org/abs/2104.04015) cuts a small rectangle out of
a normal image and pastes it back somewhere else in the same image. The result is a local
irregularity that keeps the texture's own colours and statistics, so a network trained to tell
``cutpaste(image)`` from ``image`` must learn to look for *breaks in the texture*, not for one
particular defect. The "scar" variant pastes a long thin, rotated strip, closer to scratches and
cracks.
"""

import numpy as np
import skimage.transform

from anomaly_tutorial.images import as_images

KINDS = ("patch", "scar")


def cutpaste(
    images,
    *,
    kind="patch",
    area_fraction=(0.02, 0.15),
    aspect_ratio=(0.3, 3.3),
    brightness_jitter=0.1,
    random_state=0,
):
    """Paste into each image a piece cut from elsewhere in it (notebook 02).

    ``kind="patch"``: a rectangle covering ``area_fraction`` of the image with height/width in
    ``aspect_ratio`` (the paper's ranges). ``kind="scar"``: a strip 1/32 to 1/8 of the image
    wide and 1/6 to 1/3 long, rotated by -45 to 45 degrees. The piece's brightness is scaled by
    up to ``1 ± brightness_jitter``. Returns ``(images, masks)``: float32 ``(n, H, W, C)`` and
    bool ``(n, H, W)`` marking the pasted pixels.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
    _check_range(area_fraction, "area_fraction", upper=1.0)
    _check_range(aspect_ratio, "aspect_ratio")
    if not 0.0 <= brightness_jitter < 1.0:
        raise ValueError(f"brightness_jitter must be in [0, 1); got {brightness_jitter!r}.")
    images = as_images(images, name="images")
    rng = np.random.default_rng(random_state)
    pasted = images.copy()
    masks = np.zeros(images.shape[:3], dtype=bool)
    for image, mask in zip(pasted, masks, strict=True):
        if kind == "patch":
            piece, shape = _rectangle(image, rng, area_fraction, aspect_ratio)
        else:
            piece, shape = _scar(image, rng)
        piece = piece * rng.uniform(1 - brightness_jitter, 1 + brightness_jitter)
        height, width = shape.shape
        top = rng.integers(0, image.shape[0] - height + 1)
        left = rng.integers(0, image.shape[1] - width + 1)
        target = image[top : top + height, left : left + width]
        target[shape] = np.clip(piece[shape], 0.0, 1.0)
        mask[top : top + height, left : left + width] = shape
    return pasted, masks


def with_cutpaste(normal_images, *, kind="patch", random_state=0, **options):
    """Normal images (label 0) followed by their CutPaste copies (label 1) (notebook 02).

    Returns ``(images, labels)``: the training set of a labelled detector, made without a
    single real anomaly. ``options`` go to :func:`cutpaste`.
    """
    normal = as_images(normal_images, name="normal_images")
    synthetic, _ = cutpaste(normal, kind=kind, random_state=random_state, **options)
    labels = np.repeat([0, 1], len(normal))
    return np.concatenate([normal, synthetic]), labels


def _rectangle(image, rng, area_fraction, aspect_ratio):
    image_height, image_width = image.shape[:2]
    area = rng.uniform(*area_fraction) * image_height * image_width
    # Log-uniform, so that tall and wide pieces are equally likely.
    aspect = np.exp(rng.uniform(np.log(aspect_ratio[0]), np.log(aspect_ratio[1])))
    height = int(np.clip(round(np.sqrt(area * aspect)), 1, image_height - 1))
    width = int(np.clip(round(np.sqrt(area / aspect)), 1, image_width - 1))
    top = rng.integers(0, image_height - height + 1)
    left = rng.integers(0, image_width - width + 1)
    piece = image[top : top + height, left : left + width]
    return piece, np.ones((height, width), dtype=bool)


def _scar(image, rng):
    image_height, image_width = image.shape[:2]
    side = min(image_height, image_width)
    width = max(1, round(rng.uniform(1 / 32, 1 / 8) * side))
    length = max(2, round(rng.uniform(1 / 6, 1 / 3) * side))
    top = rng.integers(0, image_height - length + 1)
    left = rng.integers(0, image_width - width + 1)
    strip = image[top : top + length, left : left + width]
    angle = rng.uniform(-45, 45)
    # order=0 keeps the strip's pixels as they are; the rotated box has empty corners, which the
    # rotated all-ones shape marks as not pasted.
    piece = skimage.transform.rotate(strip, angle, resize=True, order=0, mode="constant")
    shape = skimage.transform.rotate(
        np.ones(strip.shape[:2]), angle, resize=True, order=0, mode="constant"
    )
    height = min(piece.shape[0], image_height)
    width = min(piece.shape[1], image_width)
    return piece[:height, :width].astype(np.float32), shape[:height, :width] > 0.5


def _check_range(pair, name, upper=None):
    try:
        low, high = (float(value) for value in pair)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high); got {pair!r}.") from None
    if not 0 < low <= high or (upper is not None and high > upper):
        limit = "" if upper is None else f" <= {upper}"
        raise ValueError(f"{name} must satisfy 0 < low <= high{limit}; got {pair!r}.")
