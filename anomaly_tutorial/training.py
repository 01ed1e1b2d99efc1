"""Train a detector on a folder's normal images and save it: ``anomaly-tutorial train``."""

import time

from anomaly_tutorial import datasets, metrics, persistence, streaming, tiling
from anomaly_tutorial.datasets.imagefiles import MAX_PIXELS
from anomaly_tutorial.detectors import choose_preset, detector_name
from anomaly_tutorial.errors import printable


def train_folder(detector, data, out, *, tile=None, max_pixels=MAX_PIXELS, force=False,
                 say=print) -> None:  # fmt: skip
    """Fit ``detector`` on ``data/train/good`` (in batches; in tiles with ``tile``), save it to
    ``out`` (checked first) and print its image AUROC on ``data/test`` if that holds both kinds.
    ``say`` tells the step; the autoencoder's preset is chosen from the images."""
    persistence.check_writable(out, force)  # before the work, not after
    train_files, test_groups = datasets.folder_files(data)
    files = datasets.image_source(train_files, max_pixels=max_pixels)
    name, what, model, seen = detector_name(detector), f"{len(files)} images", detector, files
    if tile:
        model, seen = tiling.Tiled(detector, tile), tiling.Tiles(files, tile)
        what += f" ({len(seen)} tiles of {tile}x{tile})"
    preset = choose_preset(name, seen)  # the autoencoder's, from the normal images
    if preset is not None:
        detector.set_params(**detector.PRESETS[preset])
        what += f", preset {preset!r} ({name}.choose_preset)"
    say(f"Training {name} on {what} of {data} ...")
    started = time.perf_counter()
    streaming.Streamed(model).fit(files)
    seconds = time.perf_counter() - started
    persistence.save(detector, out, force=force)
    print(
        f"Trained {name} on {what} in {seconds:.1f} s "
        f"({detector.validation_fraction:.0%} of the images held out to set the threshold).\n"
        f"Threshold offset_ = {detector.offset_:.6g}: predict flags "
        f"{detector.false_alarm_rate:.0%} of the held-out normal images."
    )
    labels = [int(kind != "good") for kind, files in test_groups for _ in files]
    if len(set(labels)) == 2:  # the test images hold both kinds
        test_files = [file for _, files in test_groups for file in files]
        tiled = streaming.Streamed(tiling.Tiled(detector), max_pixels=max_pixels)
        auroc = metrics.evaluate(labels, metrics.anomaly_scores(tiled, test_files))
        print(f"Test set ({len(labels)} images): image AUROC {auroc['image_auroc']:.3f}.")
    print(f"Saved to {printable(out)}")


__all__ = ["train_folder"]
