"""A discriminative detector trained against synthetic anomalies (issue 18, item 1; DRAEM-style).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_discriminative.py dev         # choose
    PYTHONPATH=. .venv/bin/python benchmarks/bench_discriminative.py dev --candidates foreign
    PYTHONPATH=. .venv/bin/python benchmarks/bench_discriminative.py final       # report once

The discriminative half of DRAEM (Zavrtanik et al., ICCV 2021) without its reconstructive
half: a small U-Net (64x64x1 in, a per-pixel anomaly logit out) is trained on the 240 *normal*
training patches of one texture, with synthetic anomalies pasted on the fly and their masks as
the targets (focal or binary cross-entropy). The synthetic anomalies are generic, from the
literature, and never modelled on the held-out kinds (:func:`synthesize`):

- ``foreign`` (DRAEM): a Perlin-noise mask filled with a *foreign* texture, a crop of another
  image shipped with scikit-image (never the inspected photo; :data:`FOREIGN`), rotated,
  rescaled, with random contrast, gamma and inversion, blended in with a random opacity;
- ``local``: generic local operators inside the mask, a Gaussian blur or an intensity change;
- ``self`` (CutPaste / NSA, Li et al. 2021, Schlueter et al. 2022): a piece of a normal
  training image, rescaled and rotated, blended in. Its rescaled self-patches resemble the
  held-out ``transplant`` kind, so it is ablated apart (results file).

The image score is the max (``max``) or the mean of the top 1 % (``top1``) of the per-pixel
probability smoothed by a 5x5 box; the pixel map is that smoothed probability.

``dev``: candidates (:data:`CANDIDATES`) on the dev parts of brick, grass and gravel (dev
kinds only); image AUROC per kind, pixel AUROC, fit seconds. ``final``: the chosen candidate
(:data:`CHOSEN`) and the two baselines (``patch_knn``, ``conv_autoencoder`` preset texture) on
the *test* parts, seed 0, plus a PNG of grass test maps. JSON next to
``benchmarks/results/discriminative.md``; Markdown tables on stdout. Seconds are relative
only (the machine is shared).
"""

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import skimage.data  # noqa: E402
from scipy import ndimage  # noqa: E402
from skimage.color import rgb2gray  # noqa: E402

from anomaly_tutorial import datasets, metrics  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TEXTURES = ("brick", "grass", "gravel")
SIZE = 64
#: Foreign-texture sources: images shipped with scikit-image that load offline. The inspected
#: photo is removed from the list (:func:`foreign_pool`). ``text`` is left out: the dev kind
#: ``contamination`` is painted with it, and it would flatter the dev table.
FOREIGN = (
    "brick", "grass", "gravel", "camera", "coins", "moon", "page", "coffee", "astronaut",
    "hubble_deep_field", "retina", "rocket", "cell", "clock", "horse", "chelsea",
    "immunohistochemistry", "colorwheel",
)  # fmt: skip


@dataclass(frozen=True)
class Config:
    """One candidate: the anomaly families, the mask scales, the training, the network."""

    families: tuple = ("foreign",)
    #: Perlin grid cells across the 64 px image (more cells = smaller blobs).
    mask_res: tuple = (2, 4, 8)
    threshold: float = 0.4  # Perlin noise above this is the mask (DRAEM: 0.5 on 256 px)
    max_opacity_loss: float = 0.8  # blend beta in U(0, this): 0 = fully replaced
    anomaly_share: float = 0.5  # share of training inputs given an anomaly
    width: int = 8  # filters at full resolution; doubled per level (3 levels)
    epochs: int = 20
    repeats: int = 2  # passes over the 240 normal images per epoch
    batch_size: int = 16
    learning_rate: float = 2e-3
    loss: str = "focal"  # or "bce"
    flips: bool = True


CANDIDATES = {
    "foreign": Config(),
    "foreign_bce": Config(loss="bce"),
    "foreign_large": Config(mask_res=(2, 4), threshold=0.3),
    "foreign_local": Config(families=("foreign", "local")),
    "local": Config(families=("local",)),
    "self": Config(families=("self",)),
    "foreign_local_self": Config(families=("foreign", "local", "self")),
    "foreign_local_w16": Config(families=("foreign", "local"), width=16),
    "foreign_local_e40": Config(families=("foreign", "local"), epochs=40),
}
#: Chosen on the dev table (see the results file): the best mean image AUROC over the three
#: textures, and its better reduction.
CHOSEN = "foreign_local"
CHOSEN_SCORE = "max"


# ----------------------------------------------------------------------------- anomalies


def perlin(rng, res: int, size: int = SIZE) -> np.ndarray:
    """2-D Perlin (gradient) noise on a ``res`` x ``res`` grid, ``(size, size)`` in ~[-0.7, 0.7]."""
    cell = size // res
    angles = rng.uniform(0, 2 * np.pi, (res + 1, res + 1))
    gradients = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    t = (np.arange(size) % cell + 0.5) / cell
    index = np.arange(size) // cell
    ty, tx = np.meshgrid(t, t, indexing="ij")
    iy, ix = np.meshgrid(index, index, indexing="ij")

    def corner(dy, dx):
        g = gradients[iy + dy, ix + dx]
        return g[..., 0] * (ty - dy) + g[..., 1] * (tx - dx)

    def fade(v):
        return 6 * v**5 - 15 * v**4 + 10 * v**3

    fy, fx = fade(ty), fade(tx)
    top = corner(0, 0) * (1 - fx) + corner(0, 1) * fx
    bottom = corner(1, 0) * (1 - fx) + corner(1, 1) * fx
    return np.sqrt(2) * (top * (1 - fy) + bottom * fy)


def perlin_mask(rng, config: Config) -> np.ndarray:
    """A binary mask of Perlin-noise blobs (randomly flipped / transposed), never empty."""
    for _ in range(20):
        noise = perlin(rng, int(rng.choice(config.mask_res)))
        if rng.random() < 0.5:
            noise = noise.T
        mask = noise > config.threshold
        if mask.sum() >= 16:
            return mask.astype(np.float32)
    return mask.astype(np.float32)


def resample(source, rng, zoom_range=(0.5, 2.0), size=SIZE) -> np.ndarray:
    """A ``size`` x ``size`` crop of ``source`` at a random place, rotation and scale."""
    zoom = np.exp(rng.uniform(*np.log(zoom_range)))  # source pixels per output pixel
    angle = rng.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    grid = np.stack(np.mgrid[0:size, 0:size], axis=0).reshape(2, -1) - size / 2
    # Stay inside the source where it is large enough; a small one (a 64 px normal patch)
    # is read with reflection beyond its edges.
    reach = np.minimum(zoom * size * 0.75, np.array(source.shape) / 2)
    centre = rng.uniform(reach, np.array(source.shape) - reach)
    coords = rotation @ (grid * zoom) + centre[:, None]
    return ndimage.map_coordinates(source, coords, order=1, mode="reflect").reshape(size, size)


def foreign_pool(category: str) -> list:
    """Grayscale float images of :data:`FOREIGN`, without ``category``."""
    pool = []
    for name in FOREIGN:
        if name == category:
            continue
        image = getattr(skimage.data, name)()
        if image.ndim == 3:
            image = rgb2gray(image[..., :3])
        image = image.astype(np.float64)
        pool.append(image / max(image.max(), 1e-9))
    return pool


def jitter(material, rng) -> np.ndarray:
    """DRAEM-like photometric augmentation: contrast, brightness, gamma, sometimes inverted."""
    material = np.clip(material, 0, 1)
    if rng.random() < 0.2:
        material = 1 - material
    material = material ** np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
    material = (material - material.mean()) * rng.uniform(0.5, 1.5) + material.mean()
    return np.clip(material + rng.uniform(-0.2, 0.2), 0, 1)


def synthesize(image, rng, family, pool, normals, config: Config):
    """``(anomalous image, mask)`` of one ``family`` on ``image`` (H, W) in [0, 1]."""
    mask = perlin_mask(rng, config)
    if family == "foreign":
        material = jitter(resample(pool[rng.integers(len(pool))], rng), rng)
    elif family == "self":
        material = resample(normals[rng.integers(len(normals))], rng, (0.4, 2.5))
        material = np.clip(material - material.mean() + image.mean(), 0, 1)
    elif family == "local":
        if rng.random() < 0.5:
            material = ndimage.gaussian_filter(image, rng.uniform(1.0, 3.0), mode="reflect")
        else:
            shift = rng.choice([-1, 1]) * rng.uniform(0.1, 0.3)
            material = np.clip(image * rng.uniform(0.7, 1.3) + shift, 0, 1)
    else:
        raise ValueError(family)
    beta = rng.uniform(0, config.max_opacity_loss)
    blended = mask * ((1 - beta) * material + beta * image) + (1 - mask) * image
    return blended.astype(np.float32), mask


def training_batch(normals, rng, pool, config: Config):
    """One epoch of inputs and target masks: ``repeats`` passes over the normal images."""
    images, masks = [], []
    for _ in range(config.repeats):
        for image in normals[rng.permutation(len(normals))]:
            if config.flips:
                if rng.random() < 0.5:
                    image = image[:, ::-1]
                if rng.random() < 0.5:
                    image = image[::-1]
            if rng.random() < config.anomaly_share:
                family = config.families[rng.integers(len(config.families))]
                image, mask = synthesize(image, rng, family, pool, normals, config)
            else:
                mask = np.zeros_like(image, dtype=np.float32)
            images.append(image)
            masks.append(mask)
    return np.array(images)[..., None], np.array(masks)[..., None]


# ----------------------------------------------------------------------------- network


def unet(width: int) -> keras.Model:
    """A small U-Net: 3 poolings, widths ``width * (1, 2, 4, 4)``, batch norm, a logit per pixel."""

    def block(x, filters):
        for _ in range(2):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        return x

    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.Rescaling(2.0, offset=-1.0)(inputs)
    skips = []
    for factor in (1, 2, 4):
        x = block(x, width * factor)
        skips.append(x)
        x = keras.layers.MaxPooling2D()(x)
    x = block(x, width * 4)
    for factor, skip in zip((4, 2, 1), reversed(skips), strict=True):
        x = keras.layers.UpSampling2D(interpolation="bilinear")(x)
        x = keras.layers.Concatenate()([x, skip])
        x = block(x, width * factor)
    logits = keras.layers.Conv2D(1, 1)(x)
    return keras.Model(inputs, logits)


class Discriminative:
    """Fit on normal images (N, 64, 64, 1); ``maps`` and ``scores`` on test images."""

    def __init__(self, config: Config, category: str, seed: int):
        self.config, self.category, self.seed = config, category, seed

    def fit(self, images):
        config = self.config
        keras.utils.set_random_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        pool = foreign_pool(self.category)
        normals = np.asarray(images, dtype=np.float64)[..., 0]
        self.model = unet(config.width)
        steps = config.epochs * config.repeats * -(-len(normals) // config.batch_size)
        schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, steps)
        if config.loss == "focal":
            loss = keras.losses.BinaryFocalCrossentropy(gamma=2.0, from_logits=True)
        else:
            loss = keras.losses.BinaryCrossentropy(from_logits=True)
        self.model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
        self.losses = []
        for _ in range(config.epochs):
            x, y = training_batch(normals, rng, pool, config)
            history = self.model.fit(
                x, y, batch_size=config.batch_size, epochs=1, verbose=0, shuffle=False
            )
            self.losses.append(float(history.history["loss"][-1]))
        return self

    def maps(self, images) -> np.ndarray:
        logits = self.model.predict(np.asarray(images, np.float32), batch_size=64, verbose=0)
        probability = 1 / (1 + np.exp(-logits[..., 0].astype(np.float64)))
        return ndimage.uniform_filter(probability, size=(1, 5, 5), mode="reflect")

    @staticmethod
    def reductions(maps) -> dict:
        flat = np.sort(maps.reshape(len(maps), -1), axis=1)
        top = max(1, flat.shape[1] // 100)
        return {"max": flat[:, -1], "top1": flat[:, -top:].mean(axis=1)}


# ----------------------------------------------------------------------------- evaluation


def evaluate(data, scores, maps) -> dict:
    result = metrics.evaluate(data.test_labels, scores, data.test_masks, maps)
    result["kinds"] = metrics.per_defect_auroc(data.test_labels, scores, data.test_defects)
    return result


def run_candidate(name: str, config: Config, category: str, data, seed: int) -> dict:
    started = time.perf_counter()
    detector = Discriminative(config, category, seed).fit(data.train_images)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    maps = detector.maps(data.test_images)
    score_seconds = time.perf_counter() - started
    row = {
        "fit_seconds": fit_seconds,
        "score_seconds": score_seconds,
        "images_per_second": len(maps) / score_seconds,
        "final_loss": detector.losses[-1],
    }
    for reduction, scores in Discriminative.reductions(maps).items():
        row[reduction] = evaluate(data, scores, maps)
    return row, detector, maps


def run_baseline(name: str, data, seed: int) -> dict:
    from anomaly_tutorial.detectors import make_detector

    if name == "patch_knn":
        detector = make_detector("patch_knn", random_state=seed)
    else:
        detector = make_detector("conv_autoencoder", preset="texture", random_state=seed)
    started = time.perf_counter()
    detector.fit(data.train_images)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scores = -detector.score_samples(data.test_images)
    maps = detector.anomaly_map(data.test_images)
    score_seconds = time.perf_counter() - started
    row = {"fit_seconds": fit_seconds, "score_seconds": score_seconds}
    row["images_per_second"] = len(scores) / score_seconds
    row["score"] = evaluate(data, scores, maps)
    return row, maps


def cells(result: dict, kinds) -> list:
    values = [result["image_auroc"], result["average_precision"], result["pixel_auroc"]]
    values += [result["kinds"][kind] for kind in kinds]
    return [f"{value:.3f}" for value in values]


def markdown(results: dict, title: str) -> str:
    """One table per texture: candidate x reduction rows (means over seeds), kinds."""
    lines = [f"### {title}", ""]
    means = {}
    for dataset, by_name in results.items():
        first = next(iter(by_name.values()))[0]
        kinds = sorted(first[next(k for k in first if isinstance(first[k], dict))]["kinds"])
        header = ["candidate", "score", "image AUROC", "AP", "pixel AUROC", *kinds, "fit s"]
        lines += [f"**{dataset}**", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        for name, runs in by_name.items():
            for reduction in ("max", "top1", "score"):
                if reduction not in runs[0]:
                    continue
                merged = {
                    key: float(np.mean([r[reduction][key] for r in runs]))
                    for key in ("image_auroc", "average_precision", "pixel_auroc")
                }
                merged["kinds"] = {
                    k: float(np.mean([r[reduction]["kinds"][k] for r in runs])) for k in kinds
                }
                images = [r[reduction]["image_auroc"] for r in runs]
                row = cells(merged, kinds)
                if len(runs) > 1:
                    row[0] += f" ({min(images):.3f}-{max(images):.3f})"
                fit = np.mean([r["fit_seconds"] for r in runs])
                lines.append("| " + " | ".join([name, reduction, *row, f"{fit:.0f}"]) + " |")
                means.setdefault((name, reduction), []).append(merged["image_auroc"])
        lines.append("")
    lines += ["Mean image AUROC over the textures:", ""]
    for (name, reduction), values in means.items():
        lines.append(f"- {name} / {reduction}: {np.mean(values):.3f}")
    return "\n".join(lines)


def save_maps(data, maps, scores, out: Path, title: str) -> None:
    """Two rows per held-out kind: images with their mask outline, and the maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in dict.fromkeys(data.test_defects.tolist())]
    figure, axes = plt.subplots(2 * len(kinds), 4, figsize=(8, 4 * len(kinds)))
    low, high = np.percentile(maps, [1, 99.9])
    for row, kind in enumerate(kinds):
        picks = np.flatnonzero(data.test_defects == kind)[:4]
        for column, index in enumerate(picks):
            top, bottom = axes[2 * row, column], axes[2 * row + 1, column]
            top.imshow(data.test_images[index, ..., 0], cmap="gray", vmin=0, vmax=1)
            if data.test_masks[index].any():
                top.contour(data.test_masks[index], levels=[0.5], colors="r", linewidths=0.7)
            bottom.imshow(maps[index], cmap="inferno", vmin=low, vmax=high)
            top.set_title(f"{kind} s={scores[index]:.2f}", fontsize=7)
            for axis in (top, bottom):
                axis.set_axis_off()
    figure.suptitle(title, fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.99))
    figure.savefig(out, dpi=80)
    plt.close(figure)
    shrink_png(out)


def shrink_png(path: Path) -> None:
    """Re-save ``path`` with a 256-colour palette (about 60 % of the size, same look)."""
    from PIL import Image

    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(256)
    palette.save(path, optimize=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("dev", "final"))
    parser.add_argument("--candidates", nargs="*", default=None)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--datasets", nargs="*", default=list(TEXTURES))
    parser.add_argument("--tag", default=None, help="suffix of the JSON file")
    arguments = parser.parse_args(argv)
    results = {}
    if arguments.stage == "dev":
        names = arguments.candidates or list(CANDIDATES)
        for texture in arguments.datasets:
            data = datasets.load_textures(texture, part="dev")
            results[texture] = {}
            for name in names:
                runs = []
                for seed in arguments.seeds:
                    row, _, _ = run_candidate(name, CANDIDATES[name], texture, data, seed)
                    runs.append(row)
                    print(
                        f"{texture:7s} {name:20s} seed {seed} max {row['max']['image_auroc']:.3f}"
                        f" top1 {row['top1']['image_auroc']:.3f}"
                        f" pixel {row['max']['pixel_auroc']:.3f} fit {row['fit_seconds']:.0f}s",
                        file=sys.stderr,
                        flush=True,
                    )
                results[texture][name] = runs
        tag = arguments.tag or "_".join(names)
    else:
        for texture in arguments.datasets:
            data = datasets.load_textures(texture, part="test")
            key = f"{texture} (test)"
            row, _, maps = run_candidate(CHOSEN, CANDIDATES[CHOSEN], texture, data, 0)
            results[key] = {CHOSEN: [row]}
            auroc = row[CHOSEN_SCORE]["image_auroc"]
            print(f"{key} {CHOSEN} {auroc:.3f}", file=sys.stderr, flush=True)
            if texture == "grass":
                scores = Discriminative.reductions(maps)[CHOSEN_SCORE]
                out = RESULTS / "discriminative_grass_test_maps.png"
                save_maps(data, maps, scores, out, f"{CHOSEN}, grass test part, seed 0")
            for baseline in ("patch_knn", "conv_autoencoder"):
                base_row, _ = run_baseline(baseline, data, 0)
                results[key][baseline] = [base_row]
                auroc = base_row["score"]["image_auroc"]
                print(f"{key} {baseline} {auroc:.3f}", file=sys.stderr, flush=True)
        tag = arguments.tag
    out = RESULTS / "_".join(["discriminative", arguments.stage, *([tag] if tag else [])])
    out = out.with_suffix(".json")
    out.write_text(json.dumps(results, indent=1))
    print(markdown(results, f"{arguments.stage} part"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
