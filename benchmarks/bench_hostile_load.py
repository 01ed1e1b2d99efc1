"""Peak memory and time of ``persistence.load`` on small crafted model folders.

    .venv/bin/python benchmarks/bench_hostile_load.py

Each folder is a real saved model with one thing changed, as a hostile user would (the cases
of ``tests/test_model_folders.py`` that once cost gigabytes or minutes). Each load runs in a
fresh Python process, so that its peak resident memory (``ru_maxrss``) is that load's alone,
TensorFlow's import included; the first row loads an untouched model for comparison. Every
folder is under 10 MB; the promise is a one-line error within 1 GB.
"""

import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from anomaly_tutorial import persistence
from anomaly_tutorial.detectors import make_detector

CHILD = """
import resource, sys, time
started = time.perf_counter()
from anomaly_tutorial import persistence
try:
    persistence.load(sys.argv[1])
    outcome = "loaded"
except ValueError as error:
    outcome = str(error).split(": ", 1)[-1][:70]
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{peak:.0f}\\t{seconds:.1f}\\t{outcome}")
"""


def _edit(folder: Path, change) -> None:
    meta = json.loads((folder / "detector.json").read_text())
    change(meta)
    (folder / "detector.json").write_text(json.dumps(meta))


def _claiming(folder: Path, shape) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    with zipfile.ZipFile(folder / "arrays.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("memory_bank_.npy", header.getvalue() + b"\0" * 64)


def _deflated_zeros(folder: Path) -> None:
    with np.load(folder / "arrays.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["memory_bank_"] = np.zeros((8000, 8000), np.float32)  # 256 MB, deflates to ~250 kB
    np.savez_compressed(folder / "arrays.npz", **arrays)


def main() -> None:
    images = np.random.default_rng(0).random((12, 16, 16), dtype=np.float32)
    root = Path(tempfile.mkdtemp())
    models = {
        "patch_knn": make_detector("patch_knn", bank_size=200).fit(images),
        "conv_autoencoder": make_detector("conv_autoencoder", quick=True, epochs=1).fit(images),
    }
    for name, detector in models.items():
        persistence.save(detector, root / name)
    cases = {
        "an untouched patch_knn model": ("patch_knn", lambda f: None),
        "image_shape 4000x4000": (
            "patch_knn",
            lambda f: _edit(f, lambda m: m.update(image_shape=[4000, 4000, 1])),
        ),
        "scales [1e6]": (
            "patch_knn",
            lambda f: _edit(f, lambda m: m["params"].update(scales={"tuple": [1e6]})),
        ),
        "a member claiming 9000x9000": ("patch_knn", lambda f: _claiming(f, (9000, 9000))),
        "8000x8000 deflated zeros": ("patch_knn", _deflated_zeros),
        "filters (1024,), a 20000-number code": (
            "conv_autoencoder",
            lambda f: _edit(
                f,
                lambda m: (
                    m["params"].update(latent_dim=20000, filters={"tuple": [1024]}),
                    m["state"].update(latent_dim_=20000),
                ),
            ),
        ),
    }
    print("| crafted folder | folder size | peak memory | time | outcome |")
    print("| --- | ---: | ---: | ---: | --- |")
    for label, (model, change) in cases.items():
        folder = shutil.copytree(root / model, root / "cases" / label.replace(" ", "_"))
        change(folder)
        size = sum(file.stat().st_size for file in folder.iterdir())
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, check=True
        )
        memory, seconds, outcome = result.stdout.strip().split("\t")
        print(f"| {label} | {size / 1024:.0f} kB | {memory} MB | {seconds} s | {outcome} |")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
