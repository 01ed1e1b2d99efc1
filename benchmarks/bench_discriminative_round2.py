"""Round 2 of the discriminative texture detector (issue 18): seed spread, and fusing with the
autoencoder. Dev parts only: this script has no test stage.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_discriminative_round2.py run ensemble3
    PYTHONPATH=. .venv/bin/python benchmarks/bench_discriminative_round2.py run fused_ae
    PYTHONPATH=. .venv/bin/python benchmarks/bench_discriminative_round2.py run wide16
    PYTHONPATH=. .venv/bin/python benchmarks/bench_discriminative_round2.py report

Everything is taken from ``bench_discriminative`` (round 1: network, synthetic anomalies,
``foreign_local`` configuration, evaluation); only the candidates are new:

- ``ensemble3``: the mean of the (smoothed) maps of 3 ``foreign_local`` networks; the
  ensemble's seed ``s`` uses network seeds ``3s, 3s+1, 3s+2``. Image score: the ``max`` of the
  mean map. Each member's own result is kept too (``single``, network seeds 0-8).
- ``wide16``: ``foreign_local`` at width 16 (round 1's ``foreign_local_w16``).
- ``fused_ae``: the autoencoder (``conv_autoencoder``, preset ``texture``) and a
  ``foreign_local`` network, both trained on the same 80 % of the 240 normal training patches
  (the autoencoder's own ``validation_split``); each map is z-scored by the mean and spread of
  its values over the 20 % held-out normal patches, the larger of the two kept per pixel, and
  the image score is the ``max`` of the fused map. ``fused_ae_score``: the same fits fused at
  the image score (the larger of the two image scores, each z-scored by the held-out
  patches' scores), with the fused map for the pixel AUROC. The two members alone are kept
  too (``ae_alone``, ``disc_split``).

``run`` appends each finished run to ``benchmarks/results/discriminative_round2_<name>.json``
as it goes (texture -> candidate -> one row per seed); ``report`` prints the Markdown tables
from those files and round 1's saved ``foreign_local`` dev runs (seeds 0, 1, 2), the baseline.
Seconds are relative only (the machine is shared).
"""

import argparse
import json
import sys
import time

import numpy as np
from bench_discriminative import (
    CANDIDATES,
    RESULTS,
    TEXTURES,
    Config,
    Discriminative,
    evaluate,
)

from anomaly_tutorial import datasets

BASE = CANDIDATES["foreign_local"]
WIDE = Config(families=("foreign", "local"), width=16)
#: Round 1's dev runs of ``foreign_local`` (seed 0 in the family batch, seeds 1 and 2 apart).
BASELINE_FILES = {
    0: "discriminative_dev_round2.json",
    1: "discriminative_dev_foreign_local_seed1.json",
    2: "discriminative_dev_foreign_local_seed2.json",
}
ORDER = (
    "foreign_local", "ensemble3", "wide16", "fused_ae", "fused_ae_score", "ae_alone",
    "disc_split", "single",
)  # fmt: skip


def record(path, texture, name, row) -> None:
    """Add ``row`` (with its ``seed``) to ``path``, replacing a run of the same seed."""
    results = json.loads(path.read_text()) if path.exists() else {}
    runs = [r for r in results.setdefault(texture, {}).get(name, []) if r["seed"] != row["seed"]]
    results[texture][name] = sorted([*runs, row], key=lambda r: r["seed"])
    path.write_text(json.dumps(results, indent=1))


def fit_network(config, texture, images, seed):
    started = time.perf_counter()
    network = Discriminative(config, texture, seed).fit(images)
    return network, time.perf_counter() - started


def max_row(data, maps, seed, fit_seconds, **extra) -> dict:
    scores = Discriminative.reductions(maps)["max"]
    return {"seed": seed, "fit_seconds": fit_seconds, **extra, "max": evaluate(data, scores, maps)}


def run_ensemble(texture, data, seed, out) -> None:
    members, seconds = [], []
    for network_seed in range(3 * seed, 3 * seed + 3):
        network, fit_seconds = fit_network(BASE, texture, data.train_images, network_seed)
        maps = network.maps(data.test_images)
        members.append(maps)
        seconds.append(fit_seconds)
        record(out, texture, "single", max_row(data, maps, network_seed, fit_seconds))
    row = max_row(data, np.mean(members, axis=0), seed, sum(seconds), member_seconds=seconds)
    record(out, texture, "ensemble3", row)


def run_wide(texture, data, seed, out) -> None:
    network, fit_seconds = fit_network(WIDE, texture, data.train_images, seed)
    record(out, texture, "wide16", max_row(data, network.maps(data.test_images), seed, fit_seconds))


def zscore(values, reference):
    reference = np.asarray(reference, dtype=np.float64)
    return (np.asarray(values, dtype=np.float64) - reference.mean()) / max(reference.std(), 1e-12)


def run_fused(texture, data, seed, out) -> None:
    from anomaly_tutorial.detectors import make_detector

    autoencoder = make_detector("conv_autoencoder", preset="texture", random_state=seed)
    fit_part, held_out = autoencoder.validation_split(len(data.train_images))
    started = time.perf_counter()
    autoencoder.fit(data.train_images)  # trains on fit_part, holds out held_out itself
    ae_seconds = time.perf_counter() - started
    network, disc_seconds = fit_network(BASE, texture, data.train_images[fit_part], seed)
    normal = data.train_images[held_out]

    ae_normal_maps = autoencoder.anomaly_map(normal)
    ae_normal_scores = -autoencoder.score_samples(normal)
    ae_maps = autoencoder.anomaly_map(data.test_images)
    ae_scores = -autoencoder.score_samples(data.test_images)
    disc_normal_maps = network.maps(normal)
    disc_normal_scores = Discriminative.reductions(disc_normal_maps)["max"]
    disc_maps = network.maps(data.test_images)
    disc_scores = Discriminative.reductions(disc_maps)["max"]

    fused_maps = np.maximum(zscore(ae_maps, ae_normal_maps), zscore(disc_maps, disc_normal_maps))
    fused_scores = np.maximum(
        zscore(ae_scores, ae_normal_scores), zscore(disc_scores, disc_normal_scores)
    )
    total = ae_seconds + disc_seconds
    extra = {"ae_seconds": ae_seconds, "disc_seconds": disc_seconds, "held_out": len(held_out)}
    record(out, texture, "fused_ae", max_row(data, fused_maps, seed, total, **extra))
    row = {"seed": seed, "fit_seconds": total, **extra}
    row["score"] = evaluate(data, fused_scores, fused_maps)
    record(out, texture, "fused_ae_score", row)
    row = {"seed": seed, "fit_seconds": ae_seconds, "score": evaluate(data, ae_scores, ae_maps)}
    record(out, texture, "ae_alone", row)
    record(out, texture, "disc_split", max_row(data, disc_maps, seed, disc_seconds))


RUNNERS = {"ensemble3": run_ensemble, "wide16": run_wide, "fused_ae": run_fused}


# ----------------------------------------------------------------------------- report


def load_all() -> dict:
    """texture -> candidate -> runs, from round 1's baseline files and round 2's files."""
    results = {texture: {} for texture in TEXTURES}
    for seed, name in BASELINE_FILES.items():
        saved = json.loads((RESULTS / name).read_text())
        for texture in TEXTURES:
            row = {"seed": seed, **saved[texture]["foreign_local"][0]}
            results[texture].setdefault("foreign_local", []).append(row)
    for path in sorted(RESULTS.glob("discriminative_round2_*.json")):
        for texture, by_name in json.loads(path.read_text()).items():
            for name, runs in by_name.items():
                results[texture].setdefault(name, []).extend(runs)
    return results


def reduction_of(run) -> str:
    return "score" if "score" in run else "max"


def summary(results) -> str:
    """The choosing table: image AUROC seed mean (min-max) per texture, mean, pixel AUROC."""
    names = [n for n in ORDER if any(n in results[t] for t in TEXTURES)]
    header = ["candidate", "seeds", *TEXTURES, "mean", "pixel AUROC (seed mean)", "fit s (mean)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in names:
        cells, means, pixels, seeds, fits = [], [], [], set(), []
        for texture in TEXTURES:
            runs = results[texture].get(name, [])
            if not runs:
                cells.append("-")
                pixels.append("-")
                continue
            values = [r[reduction_of(r)]["image_auroc"] for r in runs]
            seeds.update(r["seed"] for r in runs)
            fits += [r["fit_seconds"] for r in runs]
            means.append(np.mean(values))
            cells.append(f"{np.mean(values):.3f} ({min(values):.3f}-{max(values):.3f})")
            pixels.append(f"{np.mean([r[reduction_of(r)]['pixel_auroc'] for r in runs]):.3f}")
        mean = f"**{np.mean(means):.3f}**" if len(means) == len(TEXTURES) else "-"
        seed_list = ",".join(str(s) for s in sorted(seeds))
        row = [name, seed_list, *cells, mean, " / ".join(pixels), f"{np.mean(fits):.0f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def per_kind(results) -> str:
    """Per texture: per-kind image AUROC, seed means, one row per candidate."""
    lines = []
    for texture in TEXTURES:
        by_name = results[texture]
        first = by_name["foreign_local"][0]["max"]
        kinds = sorted(first["kinds"])
        header = ["candidate", "n", "image AUROC", "pixel AUROC", *kinds]
        lines += [f"**{texture}** (dev, seed means)", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        for name in [n for n in ORDER if n in by_name]:
            runs = by_name[name]
            parts = [r[reduction_of(r)] for r in runs]
            values = [np.mean([p["image_auroc"] for p in parts])]
            values.append(np.mean([p["pixel_auroc"] for p in parts]))
            values += [np.mean([p["kinds"][k] for p in parts]) for k in kinds]
            lines.append(
                "| " + " | ".join([name, str(len(runs)), *(f"{v:.3f}" for v in values)]) + " |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("run", "report"))
    parser.add_argument("candidate", nargs="?", choices=sorted(RUNNERS))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="*", default=list(TEXTURES))
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: all)")
    arguments = parser.parse_args(argv)
    if arguments.stage == "report":
        results = load_all()
        print(summary(results), per_kind(results), sep="\n\n")
        return 0
    if arguments.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(arguments.threads)
        tf.config.threading.set_inter_op_parallelism_threads(arguments.threads)
    out = RESULTS / f"discriminative_round2_{arguments.candidate}.json"
    data = {}  # dev parts only: this script never loads a test part
    for seed in arguments.seeds:  # seeds outside: every texture gets seed 0 first
        for texture in arguments.datasets:
            if texture not in data:
                data[texture] = datasets.load_textures(texture, part="dev")
            started = time.perf_counter()
            RUNNERS[arguments.candidate](texture, data[texture], seed, out)
            print(
                f"{arguments.candidate} {texture} seed {seed} done"
                f" ({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
