"""Write benchmark results as ``benchmark.md`` plus PNG figures (``anomaly-tutorial benchmark``)."""

from pathlib import Path

import matplotlib

from anomaly_tutorial import plots, tables
from anomaly_tutorial.benchmark import Run, machine_description, rows

REPORT = "benchmark.md"


def write_report(runs: list[Run], out_dir, *, quick: bool = False, force: bool = False) -> Path:
    """Write ``out_dir/benchmark.md`` and its figures; returns the Markdown file's path.

    Files this function wrote before are replaced only with ``force=True``; nothing else in
    ``out_dir`` is touched.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} is a file; the report needs a folder.")
    report = out_dir / REPORT
    if report.exists() and not force:
        raise FileExistsError(f"{report} exists. Use --force to replace it.")
    out_dir.mkdir(parents=True, exist_ok=True)
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

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
                    run.examples["images"], run.examples["maps"], run.examples["masks"]
                )
                figure.suptitle(title)
                figures.append((f"maps_{run.row['detector']}_{dataset}.png", figure))
    auroc = {}
    for run in runs:
        auroc.setdefault(run.row["dataset"], {})[run.row["detector"]] = run.row["image_auroc"]
    bars = plots.plot_bars(auroc, ylabel="image AUROC", reference=0.5, ylim=(0, 1.08))
    figures.append(("image_auroc.png", bars))
    for filename, figure in figures:
        figure.savefig(out_dir / filename, dpi=100, bbox_inches="tight")
        plt.close(figure)

    mode = (
        "quick mode (small data, few epochs: for checking, not for conclusions)"
        if quick
        else ("full mode")
    )
    lines = [
        "# Benchmark",
        "",
        f"Measured on {machine_description()}, {mode}.",
        "",
        "Every method is scored on the same evaluation half of each test set; the other half "
        "gives `labeled_regressor` its labelled anomalies. Anomaly score = `-score_samples`. "
        "`fit_seconds` includes any validation split and early stopping; `images_per_second` is "
        "`score_samples` throughput.",
        "",
        tables.markdown_table(rows(runs)),
        "",
        *[f"![{name}]({name})" for name, _ in figures],
        "",
    ]
    report.write_text("\n".join(lines), encoding="utf-8")
    return report
