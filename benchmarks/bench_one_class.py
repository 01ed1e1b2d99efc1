"""The Deep SVDD paper's one-class protocol for every one-class detector (notebook 04).

    .venv/bin/python benchmarks/bench_one_class.py            # writes the committed tables
    .venv/bin/python benchmarks/bench_one_class.py --collections glyphs --detectors deep_svdd \\
        --classes 3 8                                         # a look, nothing written

For each class k of scikit-learn's 8x8 digits and of the 28x28 glyphs: train on images of k
only, score the *test part* (held-out images of k and images of the nine other classes), and
report the AUROC per class and its mean (:func:`anomaly_tutorial.protocols.one_class_protocol`).
Every detector runs with its defaults, which were chosen on the development part; nothing here
is tuned. A complete run (both collections, all detectors, all classes) writes
``benchmarks/results/one_class.{md,json}``: the README's tables, and the full glyph table that
notebook 04 shows. Fit times are wall-clock and depend on what else the machine runs, so the
load average is recorded with them.
"""

import argparse
import datetime
import json
import os
import time
from pathlib import Path

from anomaly_tutorial import protocols, runtime, tables
from anomaly_tutorial.detectors import ONE_CLASS

RESULTS = Path(__file__).resolve().parent / "results"
#: The Markdown tables for the README and the same rows as JSON for notebook 04.
TABLE, ROWS = RESULTS / "one_class.md", RESULTS / "one_class.json"
TITLES = {
    "digits": "8x8 digits (scikit-learn's `load_digits`)",
    "glyphs": "28x28 glyphs (digits drawn from 22 fonts, `data/glyphs`)",
}
INTRO = """\
Written by `benchmarks/bench_one_class.py`; shown in notebook 04. For each class: train on
half of that class's images, score the test part (a quarter of the class's images, label 0,
and a quarter of every other class's, label 1); AUROC per normal class and the mean. Default
settings of every detector (chosen on the development part); `fit_seconds` is the mean
wall-clock fit time per class."""


def _progress(message: str) -> None:
    print(message, flush=True)


def _load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--collections",
        nargs="+",
        default=list(protocols.COLLECTIONS),
        choices=protocols.COLLECTIONS,
    )
    parser.add_argument("--detectors", nargs="+", default=list(ONE_CLASS), choices=ONE_CLASS)
    parser.add_argument("--classes", nargs="+", type=int, default=list(protocols.CLASSES))
    parser.add_argument("--quick", action="store_true", help="quick settings (a smoke test)")
    arguments = parser.parse_args()
    machine = runtime.machine_description()
    print(machine, "| load average", _load(), flush=True)
    started = time.perf_counter()
    results = {}
    for collection in arguments.collections:
        results[collection] = protocols.one_class_protocol(
            collection,
            arguments.detectors,
            arguments.classes,
            part="test",
            quick=arguments.quick,
            progress=_progress,
        )
        print(tables.markdown_table(results[collection]), flush=True)
    minutes = (time.perf_counter() - started) / 60
    load = _load()
    print(f"{minutes:.1f} min; load average at the end {load}")
    complete = (
        set(arguments.collections) == set(protocols.COLLECTIONS)
        and set(arguments.detectors) == set(ONE_CLASS)
        and set(arguments.classes) == set(protocols.CLASSES)
    )
    if not complete or arguments.quick:
        return
    sections = "".join(
        f"\n## {TITLES[collection]}\n\n{tables.markdown_table(rows)}\n"
        for collection, rows in results.items()
    )
    TABLE.write_text(
        "# One-class protocol (Deep SVDD paper), test part\n\n"
        f"{INTRO}\n\nMachine: {machine}. Whole run {minutes:.0f} min; load average at the end: "
        f"{load} (about 1 is this benchmark alone on the 2 cores; more means other jobs shared "
        f"them, and fit times grow with it).\n{sections}",
        encoding="utf-8",
    )
    record = {
        "machine": machine,
        "date": datetime.date.today().isoformat(),
        "minutes": round(minutes, 1),
        "load_average": load,
        "part": "test",
        "rows": results,
    }
    ROWS.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print("wrote", TABLE, "and", ROWS)


if __name__ == "__main__":
    main()
