"""Scoring at scale: speed and peak memory of ``anomaly-tutorial score`` from 500 to 50,000 images.

    .venv/bin/python benchmarks/bench_scale.py                      # about 15 min on 2 cores
    .venv/bin/python benchmarks/bench_scale.py --sizes 500 5000 --quick --repeats 1

1. Writes 64x64 PNG tiles, cut at random places (and flipped) from scikit-image's brick photo,
   into a temporary folder; the smaller sizes are hard links to the first files.
2. Trains ``conv_autoencoder`` (the default, or ``--quick``) on the bundled brick textures with
   ``anomaly-tutorial train``.
3. Scores each size with ``anomaly-tutorial score --quiet``, each run in a fresh process, and
   reports images/s (the scoring phase, as the command prints it, and the whole process) and
   the process's peak resident memory (``os.wait4``'s ``ru_maxrss``, as ``/usr/bin/time -v``
   reports it).
4. Compares streaming with the same work done in memory (read every image into one array,
   score once, write the CSV) on the same images, in alternating pairs.
5. Scores one 4096x4096 photo mosaic, with and without a painted defect, in tiles.

Targets (issue 14): peak memory at 50,000 images <= 1.2 x the peak at 500; streaming throughput
>= 0.90 x in memory. Wall-clock figures depend on what else the machine runs; the memory
figures and the paired ratios much less so.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import skimage.data

from anomaly_tutorial import datasets, runtime, tables

TILE = 64
RESULTS = Path(__file__).parent / "results" / "scale.md"
#: The same work as ``score``, with every image in memory at once (the comparison of step 4).
IN_MEMORY = """
import csv, sys, time
from anomaly_tutorial import datasets, persistence
detector = persistence.load(sys.argv[1])
started = time.perf_counter()
images, paths = datasets.read_images([sys.argv[2]], color="gray")
scores = detector.score_samples(images)
labels = detector.labels_from_scores(scores)
with open(sys.argv[3], "w", newline="", encoding="utf-8") as handle:
    writer = csv.writer(handle)
    writer.writerow(["path", "anomaly_score", "label"])
    for path, score, label in zip(paths, scores, labels):
        writer.writerow([path, f"{-score:.6g}", "anomaly" if label == -1 else "normal"])
seconds = time.perf_counter() - started
print(f"Scored {len(paths)} images ({seconds:.1f} s, {len(paths) / seconds:.0f} images/s)")
"""


def write_tiles(folder: Path, count: int, seed: int = 0) -> Path:
    """``count`` 64x64 grayscale PNG tiles of the brick photo, at random places and flips."""
    photo = skimage.data.brick()
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    rows, cols = rng.integers(0, photo.shape[0] - TILE, (2, count))
    flips = rng.integers(0, 4, count)
    for index in range(count):
        tile = photo[rows[index] : rows[index] + TILE, cols[index] : cols[index] + TILE]
        tile = tile[:: 1 - 2 * (flips[index] & 1), :: 1 - (flips[index] & 2)]
        iio.imwrite(folder / f"{index:06d}.png", np.ascontiguousarray(tile))
    return folder


def linked_subset(source: Path, folder: Path, count: int) -> Path:
    folder.mkdir()
    for file in sorted(source.iterdir())[:count]:
        os.link(file, folder / file.name)
    return folder


def large_photos(folder: Path, size: int = 4096) -> Path:
    """A ``size`` x ``size`` mosaic of the (mirrored) brick photo, and a copy with a defect."""
    photo = skimage.data.brick()
    row = np.concatenate([photo, photo[:, ::-1]] * (size // (2 * photo.shape[1])), axis=1)
    mosaic = np.concatenate([row, row[::-1]] * (size // (2 * photo.shape[0])), axis=0)
    folder.mkdir()
    iio.imwrite(folder / "mosaic.png", mosaic)
    defective = mosaic.copy()
    defective[2000:2030, 3000:3030] = 255  # a 30 x 30 white blot
    iio.imwrite(folder / "mosaic_defect.png", defective)
    return folder


def run(arguments: list, cwd: Path) -> dict:
    """Run a command in a fresh process: wall seconds, peak RSS (MiB) and its output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(arguments, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak memory
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode:
        raise RuntimeError(f"{arguments} failed:\n{stderr}")
    match = re.search(r"Scored (\d+) images.*\(([\d.]+) s, (\d+ images/s)?", stdout)
    phase = None
    if match:  # from the rate when there is one: it has more digits than the seconds
        phase = int(match[1]) / int(match[3].split()[0]) if match[3] else float(match[2])
    return {"wall_s": wall, "peak_mib": usage.ru_maxrss / 1024, "phase_s": phase, "stdout": stdout}


def command(*words) -> list:
    return [sys.executable, "-m", "anomaly_tutorial", *map(str, words)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[500, 5000, 50000])
    parser.add_argument("--quick", action="store_true", help="the quick autoencoder")
    parser.add_argument("--repeats", type=int, default=3, help="streaming vs in-memory pairs")
    parser.add_argument("--compare-size", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()
    environment = {"load_start": os.getloadavg()}
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    print(f"working in {work}", flush=True)
    everything = write_tiles(work / "all", max(options.sizes + [options.compare_size]))
    folders = {size: linked_subset(everything, work / f"n{size}", size) for size in options.sizes}
    compare = folders.get(options.compare_size) or linked_subset(
        everything, work / f"n{options.compare_size}", options.compare_size
    )

    data = datasets.texture_folder("brick")
    quick = ["--quick"] if options.quick else []
    train = run(command("train", "--detector", "conv_autoencoder", "--data", data, "--out",
                        work / "model", "--quiet", *quick), work)  # fmt: skip
    print(train["stdout"], flush=True)

    rows = []
    for size in options.sizes:
        out = work / f"scores_{size}.csv"
        result = run(command("score", "--model", "model", folders[size], "--out", out, "--quiet"),
                     work)  # fmt: skip
        rows.append(
            {
                "images": size,
                "scoring_images_per_s": size / result["phase_s"],
                "process_images_per_s": size / result["wall_s"],
                "process_s": result["wall_s"],
                "peak_rss_mib": result["peak_mib"],
            }
        )
        print(tables.markdown_table(rows[-1:]), flush=True)

    pairs = []
    for repeat in range(options.repeats):
        streamed = run(command("score", "--model", "model", compare, "--out",
                               work / f"s{repeat}.csv", "--quiet"), work)  # fmt: skip
        in_memory = run([sys.executable, "-c", IN_MEMORY, "model", compare,
                         work / f"m{repeat}.csv"], work)  # fmt: skip
        pairs.append(
            {
                "pair": repeat + 1,
                "streaming_images_per_s": options.compare_size / streamed["phase_s"],
                "in_memory_images_per_s": options.compare_size / in_memory["phase_s"],
                "ratio": in_memory["phase_s"] / streamed["phase_s"],
                "streaming_peak_mib": streamed["peak_mib"],
                "in_memory_peak_mib": in_memory["peak_mib"],
            }
        )
        print(tables.markdown_table(pairs[-1:]), flush=True)

    large = run(command("score", "--model", "model", large_photos(work / "large"), "--out",
                        work / "large.csv", "--quiet"), work)  # fmt: skip
    large_rows = (work / "large.csv").read_text().strip().splitlines()[1:]
    environment["load_end"] = os.getloadavg()
    report = render(options, rows, pairs, large, large_rows, environment)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(report, encoding="utf-8")
    print(report)


def render(options, rows, pairs, large, large_rows, environment) -> str:
    peak = {row["images"]: row["peak_rss_mib"] for row in rows}
    smallest, largest = min(peak), max(peak)
    ratio = statistics.median(pair["ratio"] for pair in pairs)
    model = "quick" if options.quick else "default"
    lines = [
        "# Scoring at scale",
        "",
        f"`benchmarks/bench_scale.py` on {runtime.machine_description()} (the date). Load "
        f"average {environment['load_start'][0]:.1f} "
        f"at the start and {environment['load_end'][0]:.1f} at the end: the machine was shared "
        "with other work, so absolute speeds are pessimistic; peak memory and the paired ratio "
        "hold.",
        "",
        f"The {model} `conv_autoencoder`, trained with `anomaly-tutorial train` on the bundled "
        "brick textures, scores 64x64 PNG tiles cut from scikit-image's brick photo with "
        "`anomaly-tutorial score --quiet`, one fresh process per run. *Scoring images/s* is the "
        "command's own figure (reading, scoring and writing the CSV); *process* includes start-up "
        "and loading the model. Peak RSS is the process's `ru_maxrss` (as `/usr/bin/time -v` "
        "reports it).",
        "",
        tables.markdown_table(rows),
        "",
        f"Peak RSS at {largest:,} images / at {smallest:,}: "
        f"**{peak[largest] / peak[smallest]:.3f}** (target <= 1.2).",
        "",
        f"## Streaming vs in memory ({options.compare_size:,} images, {len(pairs)} pairs)",
        "",
        "In memory: the same work with every image read into one array first, scored once "
        "(`datasets.read_images`, `score_samples`, `labels_from_scores`, CSV). Runs alternate, "
        "and the ratio (streaming throughput / in-memory throughput) is taken pair by pair.",
        "",
        tables.markdown_table(pairs),
        "",
        f"Median ratio: **{ratio:.3f}** (target >= 0.90).",
        "",
        "## One large image, tiled",
        "",
        "Two 4096x4096 mosaics of the (mirrored) brick photo, one with a 30x30 white blot, scored "
        "in 64x64 tiles half a tile apart (16,129 tiles each) and stitched: "
        f"{large['phase_s']:.1f} s for both ({2 * 16129 / large['phase_s']:.0f} tiles/s), peak "
        f"RSS {large['peak_mib']:.0f} MiB.",
        "",
        "```",
        "path,anomaly_score,label",
        *(line.replace(str(Path(line.split(",")[0]).parent) + os.sep, "") for line in large_rows),
        "```",
        "",
        "The model was trained on 64x64 patches, so its threshold `offset_` says how unusual "
        "one 64x64 image may be; a photo scores as its worst 64x64 window among 16,129, so even "
        "the clean mosaic is flagged. The scores separate the two photos; for labels of whole "
        "photos, train on tiles of normal photos (`train --tile 64`), which sets the threshold "
        "on held-out whole photos.",
        "",
        "Reproduce with `/usr/bin/time -v .venv/bin/anomaly-tutorial score --model MODEL FOLDER "
        "--quiet` (Maximum resident set size) on folders of your own.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
