"""Glyphs: 28x28 images of the digits 0-9 drawn from many fonts, as a one-class task (notebook 00).

At the size of the classic handwritten-digit benchmarks (the course's other object tasks are
8x8 digits and 25x25 faces), but made from the 22 fonts inside matplotlib, so nothing is
downloaded. Committed under ``data/glyphs/<digit>/<nnn>.png`` with a manifest of pixel hashes.
"""

import functools
from pathlib import Path

import imageio.v3 as iio
import matplotlib
import numpy as np
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath
from scipy import ndimage
from skimage.draw import polygon

from anomaly_tutorial.datasets import bundled
from anomaly_tutorial.datasets.bundled import MANIFEST, check_replaceable, owned_files
from anomaly_tutorial.datasets.digits import check_class, one_class_dataset
from anomaly_tutorial.datasets.imagefiles import read_images
from anomaly_tutorial.outputs import check_folder, new_files_in

#: Bump when the generated pixels change, so that caches of older versions are not reused.
GENERATOR_VERSION = 1
CLASSES = tuple(str(digit) for digit in range(10))
PER_CLASS = 400
SIZE, BOX, SUPERSAMPLING = 28, 20, 4  # as the classic digit sets: a 20x20 box in 28x28
SEED = 28
#: matplotlib's bundled fonts that have the ten digits.
FONTS = (
    "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSans-BoldOblique",
    "DejaVuSansMono", "DejaVuSansMono-Bold", "DejaVuSansMono-Oblique",
    "DejaVuSansMono-BoldOblique", "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSerif-Italic",
    "DejaVuSerif-BoldItalic", "STIXGeneral", "STIXGeneralBol", "STIXGeneralItalic",
    "STIXGeneralBolIta", "cmr10", "cmb10", "cmss10", "cmtt10", "cmti10", "cmmi10",
)  # fmt: skip


@functools.cache
def _outline(character: str, font: str) -> tuple[np.ndarray, ...]:
    """The closed outlines of ``character`` in ``font``, in font units (y up)."""
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / f"{font}.ttf"
    text = TextPath((0, 0), character, size=100, prop=FontProperties(fname=path))
    return tuple(np.asarray(points) for points in text.to_polygons(closed_only=True))


def draw_glyph(character: str, font: str, rng: np.random.Generator) -> np.ndarray:
    """One randomly deformed ``character`` in ``font``: uint8 (28, 28), white strokes on black
    like handwriting scanned the classic way. The outline is slanted, sheared, rotated and
    squeezed, filled at 4x resolution, thickened, bent, averaged down and centred on its centre
    of mass."""
    outlines = _outline(character, font)
    points = np.concatenate(outlines)
    center = (points.min(axis=0) + points.max(axis=0)) / 2
    angle = np.deg2rad(rng.uniform(-12, 12))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    affine = rotation @ np.array([[rng.uniform(0.75, 1.15), rng.uniform(-0.3, 0.3)], [0, 1]])
    moved = [(outline - center) @ affine.T for outline in outlines]
    extent = np.ptp(np.concatenate(moved), axis=0).max()
    side = SIZE * SUPERSAMPLING
    scale = BOX * SUPERSAMPLING * rng.uniform(0.8, 1.0) / extent
    canvas = np.zeros((side, side), dtype=bool)
    for outline in moved:  # even-odd filling: the inner outline of an 8 cuts its holes
        inside = np.zeros_like(canvas)
        rows, cols = polygon(side / 2 - scale * outline[:, 1], side / 2 + scale * outline[:, 0],
                             canvas.shape)  # fmt: skip
        inside[rows, cols] = True
        canvas ^= inside
    thickening = int(rng.integers(0, 5))
    if thickening:
        canvas = ndimage.binary_dilation(canvas, iterations=thickening)
    ink = canvas.astype(np.float64)
    # A smooth random displacement (about 4 px wide swirls) bends the strokes a little.
    field = ndimage.gaussian_filter(rng.standard_normal((2, side, side)), (0, 16, 16))
    field *= rng.uniform(0, 1.5) * SUPERSAMPLING / (field.std() + 1e-12)
    grid = np.mgrid[0:side, 0:side].astype(np.float64)
    ink = ndimage.map_coordinates(ink, grid + field, order=1)
    small = ink.reshape(SIZE, SUPERSAMPLING, SIZE, SUPERSAMPLING).mean(axis=(1, 3))
    row, col = ndimage.center_of_mass(small)
    small = ndimage.shift(small, ((SIZE - 1) / 2 - row, (SIZE - 1) / 2 - col), order=1)
    return np.round(np.clip(small, 0, 1) * 255).astype(np.uint8)


def make_glyphs(character: str) -> tuple[np.ndarray, list[str]]:
    """``PER_CLASS`` images of ``character`` (uint8, (n, 28, 28)) and the font of each."""
    rng = np.random.default_rng([SEED, CLASSES.index(character)])
    fonts = [FONTS[index] for index in rng.integers(0, len(FONTS), size=PER_CLASS)]
    return np.stack([draw_glyph(character, font, rng) for font in fonts]), fonts


def generate_glyphs(out_dir, *, force=False) -> dict:
    """Write ``out_dir/<digit>/<nnn>.png`` for the ten digits plus ``manifest.json``.

    An existing folder is refused unless ``force=True``, and even then only replaced if
    everything in it is what this generator wrote (listed in its manifest, with the same
    pixels; :func:`check_output`). Written into a temporary folder first and moved in at the
    end, so a failure changes nothing.
    """
    out = Path(out_dir)
    check_output(out, force)
    owned = owned_files(out / MANIFEST)
    with new_files_in(out.parent) as staging:
        manifest = _write_collection(staging / "new")
        bundled.replace_generated(staging / "new", out, owned)
    return manifest


def check_output(out_dir, force=False) -> None:
    """Raise unless :func:`generate_glyphs` may write ``out_dir`` (``FileExistsError`` naming
    what would be lost, or an ``OutputError``); nothing changes."""
    out = Path(out_dir)
    check_folder(out.parent, out)
    check_replaceable(out, owned_files(out / MANIFEST), force)


def _write_collection(root: Path) -> dict:
    files = {}
    for character in CLASSES:
        images, fonts = make_glyphs(character)
        folder = root / character
        folder.mkdir(parents=True)
        for number, (image, font) in enumerate(zip(images, fonts, strict=True)):
            name = f"{number:03d}.png"
            iio.imwrite(folder / name, image)
            files[f"{character}/{name}"] = {"sha256": bundled.pixel_hash(image), "font": font}
    return bundled.write_manifest(
        root / MANIFEST,
        GENERATOR_VERSION,
        files,
        font="matplotlib's bundled font file the glyph was drawn from",
    )


def default_glyphs_folder() -> Path:
    """Where ``make data`` writes the glyphs: ``data/glyphs`` in a checkout, else the cache."""
    return bundled.default_folder("glyphs", GENERATOR_VERSION)


def glyphs_folder() -> Path:
    """The folder of the glyph images: the repository's, or the cache, generated on first use."""
    return bundled.generated_folder(
        "glyphs",
        GENERATOR_VERSION,
        ready=lambda folder: (folder / MANIFEST).is_file(),
        generate=_write_collection,
    )


@functools.cache
def _collection(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    images, targets = [], []
    for digit, character in enumerate(CLASSES):
        read, _ = read_images(folder / character)
        images.append(read)
        targets.append(np.full(len(read), digit))
    return np.concatenate(images), np.concatenate(targets)


def load_glyphs_one_class(normal_class=0, part="test", random_state=0):
    """The glyphs as a one-class task: ``normal_class`` is normal, the nine other digits are
    anomalies (defect ``"glyph_<k>"``), with the protocol and parts of
    :func:`~anomaly_tutorial.datasets.load_digits_one_class`. float32 (n, 28, 28, 1).
    """
    normal_class = check_class(normal_class, len(CLASSES), "normal_class")
    images, targets = _collection(glyphs_folder())
    return one_class_dataset(
        "glyphs", images, targets, normal_class, part, random_state, kind="glyph"
    )
