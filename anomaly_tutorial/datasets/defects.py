"""Synthetic surface defects painted onto texture patches (notebook 00 shows them).

Each painter takes a grayscale patch (H, W) with values in [0, 1], a NumPy ``Generator`` and a
piece of a foreign photo, and returns ``(defective_patch, coverage)``; ``coverage`` in [0, 1]
is how much of each pixel the defect covers. Position, size, orientation and shape are drawn
from the generator, so the same seed paints the same defects. The shapes imitate what an
inspector sees: a crack is a dark jagged thin line, a hole a dark blob with a soft rim, etc.
"""

import numpy as np


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


def scratch(patch, rng, foreign):
    """A thin bright line, nearly straight, where the surface layer was scraped off."""
    center, angle = _center(rng, 18), rng.uniform(0, np.pi)
    length, bow = rng.uniform(40, 64), rng.uniform(-4, 4)
    along = np.array([np.cos(angle), np.sin(angle)])
    across = np.array([-along[1], along[0]])
    t = np.linspace(-0.5, 0.5, 17)[:, np.newaxis]
    points = center + t * length * along + (1 - 4 * t**2) * bow * across
    coverage = _stroke(patch.shape, points, np.full(16, rng.uniform(0.8, 1.2)))
    brightness = rng.uniform(0.95, 1.0)
    return patch * (1 - coverage) + brightness * coverage, coverage


def crack(patch, rng, foreign):
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


def hole(patch, rng, foreign):
    """A dark pit, deepest in the middle, with a soft edge and a slightly raised bright lip."""
    radius = rng.uniform(6.5, 10.5)
    distance = _blob(patch.shape, rng, _center(rng, 14), radius, rng.uniform(0.7, 1), 0.1)
    coverage = np.clip(0.5 - distance / 2.5, 0.0, 1.0)
    depth = 0.03 + 0.17 * np.clip(1 + distance / radius, 0.0, 1.0)
    lip = 0.2 * np.exp(-(((distance - 2.0) / 1.2) ** 2))
    result = patch * (1 - coverage) + depth * coverage + lip * (1 - coverage)
    return np.clip(result, 0.0, 1.0), coverage


def stain(patch, rng, foreign):
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


def contamination(patch, rng, foreign):
    """A scrap of foreign material lying on the surface: a torn piece of a photo of
    handwriting on paper (``foreign``), with a sharp irregular outline and a faint shadow."""
    radius = rng.uniform(9, 14)
    center = _center(rng, 16)
    distance = _blob(patch.shape, rng, center, radius, rng.uniform(0.6, 1), 0.18)
    coverage = np.clip(0.5 - distance, 0.0, 1.0)
    shadow = np.clip(0.5 - _shifted(distance, 2) / 2, 0.0, 1.0) * (1 - coverage)
    row, col = rng.integers(0, np.array(foreign.shape) - np.array(patch.shape), size=2)
    material = foreign[row : row + patch.shape[0], col : col + patch.shape[1]]
    # Bright paper with dark ink, whatever the lighting of the source photo was.
    material = np.clip(1.0 * material / np.percentile(material, 90), 0.0, 1.0)
    result = patch * (1 - 0.45 * shadow) * (1 - coverage) + material * coverage
    return np.clip(result, 0.0, 1.0), coverage


def _shifted(array, pixels):
    """``array`` moved down and right by ``pixels`` (edge values repeated)."""
    padded = np.pad(array, ((pixels, 0), (pixels, 0)), mode="edge")
    return padded[: array.shape[0], : array.shape[1]]


#: Defect name -> painter, in the order the generator draws them.
PAINTERS = {
    "crack": crack,
    "hole": hole,
    "scratch": scratch,
    "stain": stain,
    "contamination": contamination,
}
