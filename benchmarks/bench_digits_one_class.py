"""The Deep SVDD paper's one-class digits protocol for every one-class detector (notebook 04).

    .venv/bin/python benchmarks/bench_digits_one_class.py            # writes the committed tables
    .venv/bin/python benchmarks/bench_digits_one_class.py --detectors deep_svdd --digits 3 8

For each digit k: train on digit k only, test against all digits, AUROC per digit and the mean.
The full run (10 digits x 3 detectors, plus the Deep SVDD variants that notebook 04 discusses)
takes longer than the notebook's budget, so the notebook loads the tables this script writes to
``benchmarks/results/digits_one_class.{md,json}``. Wall-clock fit times depend on what else the
machine runs: the load average is printed with them.
"""

import argparse
import json
import os
from pathlib import Path

from anomaly_tutorial import benchmark, protocols, tables
from anomaly_tutorial.detectors import ONE_CLASS

RESULTS = Path(__file__).resolve().parent / "results"
#: The Markdown tables for the README and the same rows as JSON for notebook 04.
TABLE, ROWS = RESULTS / "digits_one_class.md", RESULTS / "digits_one_class.json"
#: Deep SVDD settings that notebook 04 compares with the defaults (its exercises 2 and 3).
VARIANTS = {
    "deep_svdd, pretrain_epochs=20": {"pretrain_epochs": 20},
    "deep_svdd, learning_rate=1e-4, epochs=100": {"learning_rate": 1e-4, "epochs": 100},
    "deep_svdd, pretrain_epochs=20, learning_rate=1e-4, epochs=100": {
        "pretrain_epochs": 20,
        "learning_rate": 1e-4,
        "epochs": 100,
    },
    "deep_svdd, batch_norm=True": {"batch_norm": True},
    "deep_svdd, objective='soft-boundary'": {"objective": "soft-boundary"},
    "deep_svdd, use_bias=True": {"use_bias": True},
}
INTRO = """\
Written by `benchmarks/bench_digits_one_class.py`; shown in notebook 04.
Train on one digit of scikit-learn's 8x8 digits (half of its images), test on the other half
of it plus all images of the other nine digits; AUROC per normal digit and the mean.
`fit_seconds` is the mean wall-clock fit time per digit."""


def _progress(message: str) -> None:
    print(message, flush=True)


def run_variants(digits, quick: bool) -> list[dict]:
    """One row per entry of :data:`VARIANTS`, labelled with its settings."""
    rows = []
    for label, params in VARIANTS.items():
        (row,) = protocols.one_class_digits(
            ["deep_svdd"], digits, quick=quick, params={"deep_svdd": params}, progress=_progress
        )
        rows.append({**row, "detector": label})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", nargs="+", default=list(ONE_CLASS), choices=ONE_CLASS)
    parser.add_argument("--digits", nargs="+", type=int, default=list(protocols.DIGITS))
    parser.add_argument("--no-variants", action="store_true", help="skip the Deep SVDD variants")
    parser.add_argument("--quick", action="store_true", help="quick settings (a smoke test)")
    arguments = parser.parse_args()
    machine = benchmark.machine_description()
    print(machine, "| load average", os.getloadavg(), flush=True)
    rows = protocols.one_class_digits(
        arguments.detectors, arguments.digits, quick=arguments.quick, progress=_progress
    )
    print(tables.markdown_table(rows), flush=True)
    variants = [] if arguments.no_variants else run_variants(arguments.digits, arguments.quick)
    if variants:
        print(tables.markdown_table(variants))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print("load average at the end", load)
    complete = set(arguments.detectors) == set(ONE_CLASS) and len(arguments.digits) == 10
    if not complete or arguments.quick or not variants:
        return
    TABLE.write_text(
        "# One-class digits (the Deep SVDD paper's protocol)\n\n"
        f"{INTRO}\n\nMachine: {machine}; load average at the end: {load} "
        "(about 1 is this benchmark alone on the 2 cores; more means other jobs shared them).\n\n"
        f"## Every one-class detector, default settings\n\n{tables.markdown_table(rows)}\n\n"
        f"## Deep SVDD variants\n\n{tables.markdown_table(variants)}\n",
        encoding="utf-8",
    )
    record = {"machine": machine, "load_average": load, "rows": rows, "variants": variants}
    ROWS.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print("wrote", TABLE, "and", ROWS)


if __name__ == "__main__":
    main()
