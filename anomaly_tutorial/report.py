"""The reports the command line writes: a score run's CSV and overlays, and the benchmark's.

``anomaly-tutorial score`` writes the rows of :func:`~anomaly_tutorial.scoring.score_folder`
as they come (:func:`write_score_run`). ``anomaly-tutorial benchmark`` writes ``benchmark.md``
with its PNG figures, and the same numbers in ``benchmark.json`` for programs (notebook 05 reads
the committed one)::

    {"machine": ..., "mode": "full", "part": "test", "minutes": 14.2,
     "load_average": {"start": ..., "end": ...},
     "rows": [{"dataset": ..., "detector": ..., "image_auroc": ..., ...}, ...],
     "per_kind": [{"dataset": ..., "detector": ..., "faint_stain": ..., ...}, ...]}

``rows`` are :func:`anomaly_tutorial.benchmark.rows`, ``per_kind`` are
:func:`anomaly_tutorial.benchmark.per_kind_rows`; ``load_average`` is
:func:`anomaly_tutorial.benchmark.load_average` at the start and at the end.
"""

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

from anomaly_tutorial import outputs, plots, tables
from anomaly_tutorial.benchmark import Benchmark, per_kind_rows, rows, run_benchmark
from anomaly_tutorial.errors import UsageError, printable

REPORT = "benchmark.md"
#: The same numbers, for programs.
RESULTS = "benchmark.json"


def report_files(out_dir, dataset_names, detector_names) -> list[Path]:
    """Every file :func:`write_report` may write for these names (to check before running)."""
    names = [REPORT, RESULTS, "image_auroc.png"]
    for dataset in dataset_names:
        names += [f"roc_{dataset}.png", *(f"maps_{name}_{dataset}.png" for name in detector_names)]
    return [Path(out_dir) / name for name in names]


def benchmark_report(datasets, detectors, out_dir, *, quick=False, force=False,
                     progress=None) -> str:  # fmt: skip
    """Run the benchmark and write its report; returns what ``anomaly-tutorial benchmark``
    prints: the table, the machine, the time and the load average, and where the report is."""
    outputs.check_targets(report_files(out_dir, datasets, detectors), force)  # before the work
    result = run_benchmark(datasets, detectors, quick=quick, progress=progress)
    path = write_report(result, out_dir, force=force)
    lines = [tables.markdown_table(rows(result.runs)), ""]
    lines.append(f"Measured on {result.machine}, in {result.minutes:.1f} min.")
    start, end = result.load["start"], result.load["end"]
    if end is not None:
        lines.append(f"Load average (1, 5, 15 min): {start} at the start, {end} at the end")
    lines.append(f"Report: {printable(path)} (numbers: {printable(path.with_name(RESULTS))})")
    return "\n".join(lines)


def write_report(result: Benchmark, out_dir, *, force: bool = False) -> Path:
    """Write ``out_dir/benchmark.md`` with its figures, and ``out_dir/benchmark.json``;
    returns the Markdown file's path.

    Existing files are replaced only with ``force=True``, and only those this program wrote
    (:mod:`anomaly_tutorial.outputs`); nothing else in ``out_dir`` is touched.
    """
    out_dir = Path(out_dir)
    matplotlib.use("Agg", force=False)
    figures = _figures(result.runs)
    contents = {out_dir / name: outputs.figure_bytes(figure) for name, figure in figures.items()}
    mode = "quick mode (small data, few epochs: for checking, not for conclusions)"
    per_kind = per_kind_rows(result.runs)
    lines = [
        "# Benchmark",
        "",
        f"Measured on {result.machine}, {mode if result.quick else 'full mode'}. Whole run "
        f"{result.minutes:.1f} min. Load average (1, 5, 15 min) at the start "
        f"{result.load['start']}, at the end {result.load['end']}: this benchmark alone adds 1 "
        "to 2 (it runs two threads); more means other programs shared the cores, which slows "
        "the fits and the scoring (`fit_seconds`, `images_per_second`), not the AUROCs.",
        "",
        "Every method is scored on the **test part** of each dataset; for the textures that is "
        "four defect kinds no setting was chosen on. The defaults were chosen on the "
        "**development part**, which also gives `labeled_regressor` its labelled anomalies "
        "(of the development kinds only). Anomaly score = `-score_samples`. `fit_seconds` "
        "includes the validation split and early stopping; `images_per_second` is "
        "`score_samples` throughput; `auroc_vs_hog` and `fit_time_vs_hog` are ratios to "
        "`hog_ocsvm` in this run.",
        "",
        tables.markdown_table(rows(result.runs)),
        "",
    ]
    if per_kind:
        lines += ["Image AUROC per held-out defect kind of the textures:", ""]
        lines += [tables.markdown_table(per_kind), ""]
    lines += [*(f"![{name}]({name})" for name in figures), ""]
    contents[out_dir / REPORT] = "\n".join(lines).encode("utf-8")
    results = {
        "machine": result.machine,
        "mode": "quick" if result.quick else "full",
        "part": "test",
        "minutes": round(result.minutes, 1),
        "load_average": result.load,
        "rows": rows(result.runs),
        "per_kind": per_kind,
    }
    contents[out_dir / RESULTS] = (json.dumps(results, indent=1) + "\n").encode("utf-8")
    outputs.write_files(contents, force)
    return out_dir / REPORT


def _figures(runs) -> dict:
    """``{file name: figure}``: per dataset the ROC and PR curves and each detector's anomaly
    maps of a few anomalies, and the image AUROCs as bars."""
    figures = {}
    for dataset in dict.fromkeys(run.row["dataset"] for run in runs):
        dataset_runs = [run for run in runs if run.row["dataset"] == dataset]
        scores = {run.row["detector"]: run.scores for run in dataset_runs}
        roc = plots.plot_roc_pr(dataset_runs[0].labels, scores, title=dataset)
        figures[f"roc_{dataset}.png"] = roc
        for run in (run for run in dataset_runs if run.examples):
            figure = plots.plot_anomaly_maps(**run.examples)
            figure.suptitle(f"{run.row['detector']} on {dataset}")
            figures[f"maps_{run.row['detector']}_{dataset}.png"] = figure
    auroc = {}
    for run in runs:
        auroc.setdefault(run.row["dataset"], {})[run.row["detector"]] = run.row["image_auroc"]
    bars = plots.plot_bars(auroc, ylabel="image AUROC", reference=0.5, ylim=(0, 1.08))
    return {**figures, "image_auroc.png": bars}


# -- a score run: the CSV and the anomaly-map overlays ------------------------------------------


@dataclass
class ScoreRun:
    """What :func:`write_score_run` wrote, and how long it took (``str`` of it: the summary
    ``anomaly-tutorial score`` prints)."""

    out: Path
    input_shape: tuple
    maps: Path | None = None
    scale: dict | None = None
    images: int = 0
    flagged: int = 0
    tiled: int = 0
    seconds: float = 0.0
    drawing: float = 0.0  # of ``seconds``, those spent drawing and writing the overlays

    def __str__(self) -> str:
        seconds, count = max(self.seconds - self.drawing, 1e-9), self.images
        speed = (
            f"{count / seconds:.0f} images/s"
            if count >= seconds
            else f"{seconds / count:.1f} s each"
        )
        lines = [
            f"Scored {count} images, {self.flagged} predicted anomalous -> {printable(self.out)} "
            f"({seconds:.1f} s, {speed})"
        ]
        if self.tiled:
            height, width = self.input_shape[:2]
            lines.append(
                f"{self.tiled} images larger than the model's {height}x{width} input were scored "
                f"in tiles, each as its worst {height}x{width} window.\nTheir labels assume a "
                "threshold set on whole images of their size, as train --tile sets it."
            )
        if self.maps is not None:
            lines.append(
                f"Wrote {count} anomaly-map overlays to {printable(self.maps)} "
                f"({self.drawing:.1f} s), all on one colour scale: 0 to {self.scale['vmax']:.3g}, "
                "twice the threshold level "
                f"{self.scale['level']:.3g} (predict flags an image whose hottest "
                f"{self.scale['share']:.0%} of pixels average more)."
            )
        return "\n".join(lines)


def write_score_run(rows, detector, out, *, inputs, maps=None, force=False) -> ScoreRun:
    """Write the rows of :func:`~anomaly_tutorial.scoring.score_folder` as they come: the CSV
    ``out`` (:func:`write_scores`) and, with ``maps`` a folder, each image's overlay there
    (:func:`write_overlays`, on the model's colour scale, :func:`overlay_scale`).

    Every file is staged (:func:`~anomaly_tutorial.outputs.staging`): nothing appears under its
    real name unless every image was scored, and ``force`` replaces only this program's files.
    ``inputs`` are the files and folders scored: no output may land on or inside them.
    """
    run = ScoreRun(Path(out), tuple(detector.image_shape_), maps)
    run.scale = overlay_scale(detector) if maps is not None else None  # before the work
    started = time.perf_counter()
    with outputs.staging(force) as staged:
        if maps is not None:
            rows = write_overlays(rows, run, staged, inputs)
        write_scores(rows, out, staged, inputs, run)
    run.seconds = time.perf_counter() - started
    return run


def write_scores(rows, out, staged, inputs, run: ScoreRun) -> None:
    """Write the CSV ``out`` (``path,anomaly_score,label``) into ``staged`` line by line as
    ``rows`` come, counting them in ``run``. ``out`` may not land on or inside ``inputs``."""
    _check_outside_inputs(out, f"output {out}", inputs)
    with staged.open(out, text=True) as stream:
        writer = csv.writer(stream)
        writer.writerow(["path", "anomaly_score", "label"])
        for row in rows:
            try:
                row.path.encode("utf-8")
            except UnicodeEncodeError:
                raise UsageError(
                    f"{printable(row.path)}: the file name is not valid UTF-8 and cannot be "
                    "written to the CSV; rename the file."
                ) from None
            writer.writerow([row.path, f"{row.anomaly_score:.6g}", _label(row)])
            run.images, run.flagged = run.images + 1, run.flagged + (row.label == -1)
            run.tiled += row.tiled


def write_overlays(rows, run: ScoreRun, staged, inputs):
    """Write each row's overlay (:func:`overlay_figure`, on ``run.scale``) into the folder
    ``run.maps`` as a PNG, and yield the row on; the time it takes adds to ``run.drawing``.
    The folders among ``inputs`` are mirrored: ``scratch/007.png`` becomes
    ``folder/scratch/007_map.png``, a file given by itself ``folder/007_map.png``; two files
    that would write one overlay, or an overlay on or inside ``inputs``, are refused."""
    folder = Path(run.maps)
    _check_outside_inputs(folder, f"--maps {folder}", inputs)
    given_folders = {Path(path) for path in inputs if Path(path).is_dir()}
    sources = {}
    for row in rows:
        file = Path(row.path)
        mirrored = file.parent in given_folders  # a folder's images keep the folder's name
        relative = Path(file.parent.resolve().name if mirrored else "", file.stem + "_map.png")
        target = folder / relative
        if target in sources:
            raise UsageError(
                f"{row.path} and {sources[target]} would both write {target}; score them in "
                "separate runs or pass their folders instead."
            )
        _check_outside_inputs(target, f"output {target}", inputs)
        sources[target] = row.path
        started = time.perf_counter()
        staged.write(target, outputs.figure_bytes(overlay_figure(row, run.scale)))
        run.drawing += time.perf_counter() - started
        yield row


def _check_outside_inputs(target, what: str, inputs) -> None:
    """Refuse an output inside an input folder (the next run would score it as an image) or
    onto an input file; paths are compared resolved, so ``..`` and symbolic links count."""
    resolved = Path(target).resolve()
    for given in map(Path, inputs):
        place = given.resolve()
        if resolved == place or (given.is_dir() and resolved.is_relative_to(place)):
            raise UsageError(
                f"the {what} would land inside the input {given}: it would change the images "
                "given (the next run would score it too); write it elsewhere."
            )


def _label(row) -> str:
    return "anomaly" if row.label == -1 else "normal"


def overlay_scale(detector) -> dict:
    """The colour scale of every overlay of one ``score --maps`` run, fixed by the model.

    From 0 to twice the map's threshold level (``detector.map_threshold()``): ``predict``
    flags an image whose hottest ``share`` of pixels average more than ``level``, so a spot
    coloured past the middle of the scale is what a flagged image looks like, the same colour
    means the same value in every overlay, and values at or below 0 are transparent.
    """
    level, share = detector.map_threshold()
    if not level > 0:  # a threshold below every map value: nothing to scale by
        raise UsageError(
            f"the model's threshold is at map level {level:.3g}, which flags nearly every image; "
            "--maps needs a model whose threshold lies above 0 (set it again on normal images)."
        )
    return {"vmin": 0.0, "vmax": 2 * level, "level": level, "share": share}


def overlay_figure(row, scale: dict):
    """The overlay of one scored image, titled with its file, score and label, on the run's
    colour scale (:func:`overlay_scale`), the threshold level a black line on the colour bar: a
    PNG opened on its own still says what it shows."""
    matplotlib.use("Agg")
    name = "/".join(Path(printable(row.path)).parts[-2:])  # its folder: the defect kind
    title = f"{name}\nscore {row.anomaly_score:.3g}: {_label(row)}"
    figure = plots.plot_anomaly_maps(
        row.image[None], row.anomaly_map[None], titles=[title], vmin=scale["vmin"],
        vmax=scale["vmax"],
    )  # fmt: skip
    bar = next(axes for axes in figure.axes if axes.get_label() == "<colorbar>")
    bar.axhline(scale["level"], color="black", linewidth=2)
    bar.set_ylabel(
        f"anomaly map, 0 to 2 x threshold\nblack line: threshold level {scale['level']:.3g}",
        fontsize=9,
    )
    return figure
