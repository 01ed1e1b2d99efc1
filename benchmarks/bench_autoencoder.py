"""Fit time, scoring throughput and AUROC of ``conv_autoencoder`` (notebook 03, issue targets).

    .venv/bin/python benchmarks/bench_autoencoder.py                 # default vs plain, all data
    .venv/bin/python benchmarks/bench_autoencoder.py --configs default --datasets grass

Targets: fit <= 90 s per texture category and scoring >= 500 images/s for 64x64 images, on 2
cores. Wall-clock time depends on what else the machine runs, so the process CPU time is
printed too, together with the load average.
"""

import argparse
import os
import time

from anomaly_tutorial import benchmark, datasets, metrics, tables
from anomaly_tutorial.detectors import conv_autoencoder, make_detector

CONFIGS = {"default": {}, "plain": conv_autoencoder.PLAIN}


def measure(config: str, dataset, random_state: int = 0) -> dict:
    detector = make_detector("conv_autoencoder", random_state=random_state, **CONFIGS[config])
    wall, cpu = time.perf_counter(), time.process_time()
    detector.fit(dataset.train_images)
    fit_wall, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
    scores = metrics.anomaly_scores(detector, dataset.test_images)
    maps = None if dataset.test_masks is None else detector.anomaly_map(dataset.test_images)
    result = metrics.evaluate(dataset.test_labels, scores, masks=dataset.test_masks, maps=maps)
    return {
        "dataset": dataset.name,
        "config": config,
        "image_auroc": result["image_auroc"],
        "pixel_auroc": result.get("pixel_auroc"),
        "epochs": detector.n_epochs_,
        "fit_s": fit_wall,
        "fit_cpu_s": fit_cpu,
        "images_per_s": benchmark.throughput(detector, dataset.test_images),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--datasets", nargs="+", default=list(datasets.DATASET_NAMES))
    arguments = parser.parse_args()
    print(benchmark.machine_description(), "| load average", os.getloadavg())
    rows = []
    for name in arguments.datasets:
        dataset = datasets.load_dataset(name)
        for config in arguments.configs:
            rows.append(measure(config, dataset))
            print(tables.markdown_table(rows[-1:]), flush=True)
    print(tables.markdown_table(rows))
    print("load average at the end", os.getloadavg())


if __name__ == "__main__":
    main()
