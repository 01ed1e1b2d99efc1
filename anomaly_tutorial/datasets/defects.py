"""Synthetic surface defects painted onto texture patches (notebook 00 shows them).

Each painter takes a grayscale patch (H, W) with values in [0, 1], a NumPy ``Generator`` and
the :class:`Materials` it may paint with, and returns ``(defective_patch, coverage)``;
``coverage`` in [0, 1] is how much of each pixel the defect covers. Position, size, orientation
and shape are drawn from the generator, so the same seed paints the same defects. The shapes
imitate what an inspector sees: a crack is a dark jagged thin line, a hole a dark blob with a
soft rim, etc.

The first five kinds are bold: high-contrast marks. The other six are subtler, closer to what
slips past an inspection: a faint line, a local loss of grain, a low-contrast stain, a piece of
the same surface at the wrong scale and angle, a wiped streak, a cluster of specks.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage import transform


@dataclass(frozen=True)
class Materials:
    """What painters may paint with: ``foreign`` (a photo of handwriting on paper) and
    ``photo`` (the whole photo the patches are cut from), both float in [0, 1]."""

    foreign: np.ndarray
    photo: np.ndarray


def _grid(shape):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.stack([rows, cols], axis=-1).astype(np.float64)


def _stroke(shape, points, half_widths):
    """Anti-aliased coverage of a polyline whose segment i has half-width half_widths[i]."""
    pixels = _grid(shape)
    edge = np.full(shape, np.inf)
    for start, end, half_width in zip(points[:-1], points[1:], half_widths, strict=True):
        direction = end - start
        length2 = max(float(direction @ direction), 1e-9)
        along = np.clip(((pixels - start) @ direction) / length2, 0.0, 1.0)
        nearest = start + along[..., np.newaxis] * direction
        distance = np.linalg.norm(pixels - nearest, axis=-1)
        edge = np.minimum(edge, distance - half_width)
    return np.clip(0.5 - edge, 0.0, 1.0)


def _blob(shape, rng, center, radius, aspect, roughness):
    """Signed distance (pixels, negative inside) to an irregular ellipse-like outline."""
    offset = _grid(shape) - center
    angle = rng.uniform(0, np.pi)
    cos, sin = np.cos(angle), np.sin(angle)
    along = offset[..., 0] * cos + offset[..., 1] * sin
    across = (-offset[..., 0] * sin + offset[..., 1] * cos) / aspect
    rho, phi = np.hypot(along, across), np.arctan2(across, along)
    outline = np.ones(shape)
    for order in range(2, 6):  # low-order wobbles make the outline organic, not a circle
        outline += rng.uniform(0, roughness) * np.cos(order * phi + rng.uniform(0, 2 * np.pi))
    return rho - radius * outline


def _center(rng, margin, size=64):
    return rng.uniform(margin, size - margin, size=2)


def scratch(patch, rng, materials):
    """A thin bright line, nearly straight, where the surface layer was scraped off."""
    coverage = _bowed_line(patch.shape, rng, (40, 64), 4, (0.8, 1.2))
    brightness = rng.uniform(0.95, 1.0)
    return patch * (1 - coverage) + brightness * coverage, coverage


def crack(patch, rng, materials):
    """A dark, jagged, thin line that widens in the middle, sometimes with a branch."""
    widest = rng.uniform(1.1, 1.8)

    def walk(start, heading, steps):
        points, direction = [start], heading
        for _ in range(steps):
            # Mean-reverting turns: jagged locally, but the crack keeps its course.
            direction = heading + 0.5 * (direction - heading) + rng.normal(0, 0.55)
            step = rng.uniform(2.5, 5.0)
            points.append(points[-1] + step * np.array([np.cos(direction), np.sin(direction)]))
        return np.array(points)

    heading = rng.uniform(0, 2 * np.pi)
    steps = int(rng.integers(10, 16))
    start = _center(rng, 16) - 20 * np.array([np.cos(heading), np.sin(heading)])
    main = walk(start, heading, steps)
    taper = 1 - 0.65 * np.abs(np.linspace(-1, 1, steps))
    coverage = _stroke(patch.shape, main, widest * taper)
    if rng.random() < 0.6:
        fork = main[int(rng.integers(3, steps - 2))]
        branch = walk(fork, heading + rng.choice([-1, 1]) * rng.uniform(0.5, 1.1), 5)
        coverage = np.maximum(coverage, _stroke(patch.shape, branch, np.linspace(0.8, 0.45, 5)))
    return patch * (1 - coverage) + 0.12 * patch * coverage, coverage


def hole(patch, rng, materials):
    """A dark pit, deepest in the middle, with a soft edge and a slightly raised bright lip."""
    radius = rng.uniform(6.5, 10.5)
    distance = _blob(patch.shape, rng, _center(rng, 14), radius, rng.uniform(0.7, 1), 0.1)
    coverage = np.clip(0.5 - distance / 2.5, 0.0, 1.0)
    depth = 0.03 + 0.17 * np.clip(1 + distance / radius, 0.0, 1.0)
    lip = 0.2 * np.exp(-(((distance - 2.0) / 1.2) ** 2))
    result = patch * (1 - coverage) + depth * coverage + lip * (1 - coverage)
    return np.clip(result, 0.0, 1.0), coverage


def stain(patch, rng, materials):
    """A smooth darker (oil) or lighter (bleached) area with soft edges and the darker tide
    line that a drying liquid leaves at its rim."""
    radius = rng.uniform(10, 18)
    distance = _blob(patch.shape, rng, _center(rng, 14), radius, rng.uniform(0.6, 1), 0.12)
    softness = rng.uniform(2.0, 3.5)
    coverage = 1 / (1 + np.exp(np.clip(distance / softness, -50, 50)))
    tide_line = 1 - 0.35 * np.exp(-((distance / 1.5) ** 2))
    if rng.random() < 0.5:  # a stain multiplies: dark grains stay dark, bright ones dim
        stained = patch * (1 - rng.uniform(0.5, 0.75) * coverage)
    else:
        stained = patch + (1 - patch) * rng.uniform(0.5, 0.75) * coverage
    return stained * tide_line, np.maximum(coverage, 1 - tide_line)


def contamination(patch, rng, materials):
    """A scrap of foreign material lying on the surface: a torn piece of a photo of
    handwriting on paper (``materials.foreign``), with a sharp irregular outline and a faint
    shadow."""
    foreign = materials.foreign
    radius = rng.uniform(9, 14)
    center = _center(rng, 16)
    distance = _blob(patch.shape, rng, center, radius, rng.uniform(0.6, 1), 0.18)
    coverage = np.clip(0.5 - distance, 0.0, 1.0)
    below_right = ndimage.shift(distance, 2, order=0, mode="nearest")  # edge values repeated
    shadow = np.clip(0.5 - below_right / 2, 0.0, 1.0) * (1 - coverage)
    row, col = rng.integers(0, np.array(foreign.shape) - np.array(patch.shape), size=2)
    material = foreign[row : row + patch.shape[0], col : col + patch.shape[1]]
    # Bright paper with dark ink, whatever the lighting of the source photo was.
    material = np.clip(1.0 * material / np.percentile(material, 90), 0.0, 1.0)
    result = patch * (1 - 0.45 * shadow) * (1 - coverage) + material * coverage
    return np.clip(result, 0.0, 1.0), coverage


def _bowed_line(shape, rng, length_range, max_bow, half_width_range):
    """Coverage of a long, nearly straight line through the middle part of the patch."""
    center, angle = _center(rng, 18), rng.uniform(0, np.pi)
    length, bow = rng.uniform(*length_range), rng.uniform(-max_bow, max_bow)
    along = np.array([np.cos(angle), np.sin(angle)])
    across = np.array([-along[1], along[0]])
    t = np.linspace(-0.5, 0.5, 17)[:, np.newaxis]
    points = center + t * length * along + (1 - 4 * t**2) * bow * across
    return _stroke(shape, points, np.full(16, rng.uniform(*half_width_range)))


def _soft_blob(shape, rng, radius_range, margin, edge, aspect=(0.6, 1.0)):
    """Coverage of an irregular blob whose edge fades over about ``edge`` pixels."""
    radius = rng.uniform(*radius_range)
    distance = _blob(shape, rng, _center(rng, margin), radius, rng.uniform(*aspect), 0.12)
    return np.clip(0.5 - distance / edge, 0.0, 1.0)


def faint_line(patch, rng, materials):
    """A long, thin line only a little darker or lighter than the surface (a hairline)."""
    coverage = _bowed_line(patch.shape, rng, (44, 64), 6, (0.6, 0.9))
    shift = rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.35)
    return np.clip(patch + shift * coverage, 0.0, 1.0), coverage


def blur(patch, rng, materials):
    """A patch of surface that lost its grain: the texture is blurred out in a soft blob."""
    coverage = _soft_blob(patch.shape, rng, (9, 15), 14, 2.0)
    blurred = ndimage.gaussian_filter(patch, rng.uniform(2.0, 3.0), mode="reflect")
    return patch * (1 - coverage) + blurred * coverage, coverage


def faint_stain(patch, rng, materials):
    """A large, smooth, low-contrast stain: no tide line, the texture shows through."""
    coverage = _soft_blob(patch.shape, rng, (11, 18), 14, rng.uniform(4.0, 7.0))
    # Just strong enough for the surface: a busy texture needs more to show a stain.
    strength = np.clip(rng.uniform(1.2, 2.0) * patch.std() / max(patch.mean(), 0.1), 0.1, 0.6)
    if rng.random() < 0.5:
        return patch * (1 - strength * coverage), coverage
    return patch + (1 - patch) * strength * coverage, coverage


def transplant(patch, rng, materials):
    """A piece of the same surface from elsewhere in the photo, at twice the scale and turned:
    right material, wrong grain."""
    coverage = _soft_blob(patch.shape, rng, (10, 16), 16, 1.5)
    zoom = rng.uniform(1.8, 2.5)
    side = int(round(patch.shape[0] / zoom))
    photo = materials.photo
    row, col = rng.integers(0, np.array(photo.shape) - side, size=2)
    piece = transform.resize(photo[row : row + side, col : col + side], patch.shape, order=1)
    piece = np.rot90(piece, k=int(rng.integers(1, 4)))
    # Same mean brightness as the patch: the grain differs, not the colour.
    piece = piece - piece.mean() + patch.mean()
    return np.clip(patch * (1 - coverage) + piece * coverage, 0.0, 1.0), coverage


def smear(patch, rng, materials):
    """A wipe: in an elongated region the texture is dragged along one direction."""
    coverage = _soft_blob(patch.shape, rng, (10, 14), 16, 2.5, aspect=(0.35, 0.5))
    length = int(rng.integers(20, 33))
    kernel = np.zeros((length, length))
    kernel[length // 2, :] = 1.0
    kernel = ndimage.rotate(kernel, rng.uniform(0, 180), reshape=False, order=1)
    dragged = ndimage.convolve(patch, kernel / kernel.sum(), mode="reflect")
    dragged = dragged + rng.choice([-1.0, 1.0]) * rng.uniform(0.12, 0.2)
    return np.clip(patch * (1 - coverage) + dragged * coverage, 0.0, 1.0), coverage


def speckle(patch, rng, materials):
    """A cluster of 10 to 17 small bright (dust) or dark (pitting) specks."""
    center, spread = _center(rng, 14), rng.uniform(5, 9)
    pixels = _grid(patch.shape)
    coverage = np.zeros(patch.shape)
    for point in center + rng.normal(0, spread, size=(int(rng.integers(10, 18)), 2)):
        distance = np.linalg.norm(pixels - point, axis=-1)
        coverage = np.maximum(coverage, np.clip(rng.uniform(1.5, 2.3) - distance, 0.0, 1.0))
    # Dust on a dark spot, pitting on a bright one: specks contrast with what lies under them.
    under = np.average(patch, weights=coverage + 1e-9)
    value = 0.95 if under < 0.5 else 0.05
    return patch * (1 - coverage) + value * coverage, coverage


#: Defect name -> painter.
PAINTERS = {
    painter.__name__: painter
    for painter in (crack, hole, scratch, stain, contamination)  # bold
    + (faint_line, blur, faint_stain, transplant, smear, speckle)  # subtle
}

#: How a painted defect proves it is visible, per kind: at least ``area`` pixels in its mask,
#: changed on average by at least ``change`` gray levels (of 255) and by at least ``contrast``
#: times the patch's own standard deviation (busy grass hides what plain brick shows). Bold
#: kinds must stand out strongly; subtle kinds only as much as a person still sees at a glance
#: over an area (a stain), along a line (a hairline) or in the grain (blur, smear, transplant).
VISIBILITY = {
    "crack": (60, 38, 1.4),
    "hole": (60, 38, 1.4),
    "scratch": (60, 38, 1.4),
    "stain": (60, 38, 1.4),
    "contamination": (60, 38, 1.4),
    "faint_line": (40, 20, 0.8),
    "blur": (150, 8, 0.45),
    "faint_stain": (250, 15, 1.0),
    "transplant": (200, 12, 0.6),
    "smear": (120, 15, 0.9),
    "speckle": (30, 60, 2.0),
}
