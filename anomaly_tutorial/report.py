"""Write benchmark results (``anomaly-tutorial benchmark``): ``benchmark.md`` with its PNG figures,
and the same numbers in ``benchmark.json`` for programs (notebook 05 reads the committed one).

    {"machine": ..., "mode": "full", "minutes": 14.2, "load_average": {"start": ..., "end": ...},
     "rows": [{"dataset": ..., "detector": ..., "image_auroc": ..., ...}, ...],
     "per_kind": [{"dataset": ..., "detector": ..., "faint_stain": ..., ...}, ...]}

``rows`` are :func:`anomaly_tutorial.benchmark.rows`, ``per_kind`` are
:func:`anomaly_tutorial.benchmark.per_kind_rows`. Fit times and speeds are wall-clock, so the
load average (``os.getloadavg``: processes running or waiting for a core, over the last 1, 5
and 15 minutes) is recorded with them: the benchmark alone adds 1 to 2 (two threads).
"""

import json
import os
from pathlib import Path

import matplotlib

from anomaly_tutorial import outputs, plots, tables
from anomaly_tutorial.benchmark import Run, per_kind_rows, rows
from anomaly_tutorial.runtime import machine_description

REPORT = "benchmark.md"
#: The same numbers, for programs.
RESULTS = "benchmark.json"


def load_average() -> str | None:
    """The load average over 1, 5 and 15 minutes, e.g. ``"1.9, 2.4, 3.1"`` (None on Windows)."""
    if not hasattr(os, "getloadavg"):
        return None
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def report_files(out_dir, dataset_names, detector_names) -> list[Path]:
    """Every file :func:`write_report` may write for these names (to check before running)."""
    names = [REPORT, RESULTS, "image_auroc.png"]
    for dataset in dataset_names:
        names += [f"roc_{dataset}.png", *(f"maps_{name}_{dataset}.png" for name in detector_names)]
    return [Path(out_dir) / name for name in names]


def write_report(
    runs: list[Run],
    out_dir,
    *,
    quick: bool = False,
    force: bool = False,
    minutes: float | None = None,
    load: dict | None = None,
) -> Path:
    """Write ``out_dir/benchmark.md`` with its figures, and ``out_dir/benchmark.json``;
    returns the Markdown file's path.

    ``minutes`` is the whole run's wall time and ``load`` the load averages measured with it,
    ``{"start": ..., "end": ...}`` (:func:`load_average`); both are written when given. Existing
    files are replaced only with ``force=True``, and only those this program wrote
    (:mod:`anomaly_tutorial.outputs`); nothing else in ``out_dir`` is touched.
    """
    out_dir = Path(out_dir)
    report = out_dir / REPORT
    names = [{run.row[key] for run in runs} for key in ("dataset", "detector")]
    outputs.check_targets(report_files(out_dir, *names), force)
    matplotlib.use("Agg", force=False)

    figures = []
    for dataset in dict.fromkeys(run.row["dataset"] for run in runs):
        dataset_runs = [run for run in runs if run.row["dataset"] == dataset]
        labels = dataset_runs[0].labels
        scores = {run.row["detector"]: run.scores for run in dataset_runs}
        figures.append((f"roc_{dataset}.png", plots.plot_roc_pr(labels, scores, title=dataset)))
        for run in dataset_runs:
            if run.examples:
                title = f"{run.row['detector']} on {dataset}"
                figure = plots.plot_anomaly_maps(
                    run.examples["images"],
                    run.examples["maps"],
                    run.examples["masks"],
                    titles=run.examples["titles"],
                )
                figure.suptitle(title)
                figures.append((f"maps_{run.row['detector']}_{dataset}.png", figure))
    auroc = {}
    for run in runs:
        auroc.setdefault(run.row["dataset"], {})[run.row["detector"]] = run.row["image_auroc"]
    bars = plots.plot_bars(auroc, ylabel="image AUROC", reference=0.5, ylim=(0, 1.08))
    figures.append(("image_auroc.png", bars))
    contents = {out_dir / name: outputs.figure_bytes(figure) for name, figure in figures}

    mode = (
        "quick mode (small data, few epochs: for checking, not for conclusions)"
        if quick
        else ("full mode")
    )
    machine = machine_description()
    lines = [
        "# Benchmark",
        "",
        f"Measured on {machine}, {mode}.{_load_sentence(minutes, load)}",
        "",
        "Every method is scored on the **test part** of each dataset; for the textures that is "
        "four defect kinds no setting was chosen on. The defaults were chosen on the "
        "**development part**, which also gives `labeled_regressor` its labelled anomalies "
        "(of the development kinds only). Anomaly score = `-score_samples`. `fit_seconds` "
        "includes the validation split and early stopping; `images_per_second` is "
        "`score_samples` throughput; `auroc_vs_hog` and `fit_time_vs_hog` are ratios to "
        "`hog_ocsvm` in this run.",
        "",
        tables.markdown_table(rows(runs)),
        "",
        *_per_kind_section(runs),
        *[f"![{name}]({name})" for name, _ in figures],
        "",
    ]
    contents[report] = "\n".join(lines).encode("utf-8")
    results = {
        "machine": machine,
        "mode": "quick" if quick else "full",
        "part": "test",
        "minutes": None if minutes is None else round(minutes, 1),
        "load_average": load,
        "rows": rows(runs),
        "per_kind": per_kind_rows(runs),
    }
    text = json.dumps(results, indent=1, default=_plain) + "\n"
    contents[out_dir / RESULTS] = text.encode("utf-8")
    outputs.write_files(contents, force)
    return report


def _plain(value):
    """NumPy numbers as Python numbers, for ``json``."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _load_sentence(minutes, load) -> str:
    parts = []
    if minutes is not None:
        parts.append(f" Whole run {minutes:.1f} min.")
    if load:
        parts.append(
            f" Load average (1, 5, 15 min) at the start {load.get('start')}, at the end "
            f"{load.get('end')}: this benchmark alone adds 1 to 2 (it runs two threads); more "
            "means other programs shared the cores, which slows the fits and the scoring "
            "(`fit_seconds`, `images_per_second`), not the AUROCs."
        )
    return "".join(parts)


def _per_kind_section(runs) -> list[str]:
    table = per_kind_rows(runs)
    if not table:
        return []
    return [
        "Image AUROC per held-out defect kind of the textures:",
        "",
        tables.markdown_table(table),
        "",
    ]
