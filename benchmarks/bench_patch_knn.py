"""``patch_knn`` scoring speed, today's code against the code before the coreset (issue 18).

    .venv/bin/python benchmarks/bench_patch_knn.py              # about 5 min on 2 cores
    .venv/bin/python benchmarks/bench_patch_knn.py --images 512 --repeats 1

The old detector is read from git (``--old``, default: the last commit before the change) and
run in the same process as today's, so that the two are timed on the same machine at the same
load, alternately. For every bundled dataset both are fitted on the test part's training images
with their defaults, and report:

- the image AUROC on the test part, and that of its worst anomaly kind;
- images per second scoring ``--images`` images of the test part (cycled), the best of
  ``--repeats`` runs, and the ratio new / old from the same run.

Target: at least 1,000 images/s on the 64x64 grayscale textures with 2 threads, and no AUROC
lower than the old code's. Writes ``benchmarks/results/patch_knn.md``.
"""

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from anomaly_tutorial import datasets, metrics, runtime, tables
from anomaly_tutorial.detectors.patch_knn import PatchKNN

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "patch_knn.md"
#: The last commit whose ``patch_knn`` kept a random bank of 10,000 and looked it up per pixel.
OLD = "04dd73e"


def old_class(commit: str):
    """``PatchKNN`` as it was at ``commit`` (read with ``git show``, run as a module)."""
    source = subprocess.run(
        ["git", "show", f"{commit}:anomaly_tutorial/detectors/patch_knn.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    module = types.ModuleType("old_patch_knn")
    exec(compile(source, f"{commit}:patch_knn.py", "exec"), module.__dict__)  # noqa: S102
    return module.PatchKNN


def images_per_second(detector, images, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        detector.score_samples(images)
        best = min(best, time.perf_counter() - started)
    return len(images) / best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default=OLD, help=f"git commit of the old code (default {OLD})")
    parser.add_argument("--images", type=int, default=2048, help="images scored per timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings per detector (best kept)")
    arguments = parser.parse_args(argv)
    classes = {"old": old_class(arguments.old), "new": PatchKNN}
    rows = []
    for name in datasets.DATASET_NAMES:
        data = datasets.load_dataset(name, "test")
        cycled = data.test_images[np.arange(arguments.images) % len(data.test_images)]
        row = {"dataset": name, "image": "x".join(map(str, data.image_shape))}
        fitted = {key: cls().fit(data.train_images) for key, cls in classes.items()}
        for key, detector in fitted.items():
            scores = -detector.score_samples(data.test_images)
            row[f"auroc_{key}"] = roc_auc_score(data.test_labels, scores)
            kinds = metrics.per_defect_auroc(data.test_labels, scores, data.test_defects)
            row[f"worst_kind_{key}"] = min(kinds.values())
            row[f"bank_{key}"] = len(detector.memory_bank_)
        for detector in fitted.values():  # warm up: caches, thread pools
            detector.score_samples(cycled[:64])
        speed = {key: [] for key in fitted}
        for _ in range(arguments.repeats):  # alternately, so that both see the same load
            for key, detector in fitted.items():
                speed[key].append(images_per_second(detector, cycled, 1))
        for key in fitted:
            row[f"images_per_second_{key}"] = max(speed[key])
        row["speed_ratio"] = row["images_per_second_new"] / row["images_per_second_old"]
        rows.append(row)
        print(row, flush=True)
    machine = runtime.machine_description()
    text = (
        f"# patch_knn: old ({arguments.old}) against new, same run\n\n{machine}\n\n"
        f"{tables.markdown_table(rows, digits=3)}\n"
    )
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
