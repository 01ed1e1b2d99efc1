"""Every figure the notebooks draw (notebooks 00 to 05).

Each function returns the matplotlib ``Figure`` and never calls ``plt.show()``: the notebook
cell does, so that no ``<Figure ...>`` text ends up in the outputs. Images are shown in
grayscale on a fixed 0..1 scale, so brightness means the same in every panel; masks are drawn
as red contours, so the pixels under them stay visible.
"""

import math
from collections.abc import Mapping

import matplotlib
import matplotlib.colors
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import skimage.measure
import sklearn.metrics

from anomaly_tutorial import features
from anomaly_tutorial.images import as_images

#: Inches per image panel in grids: small, so a grid of 8 fits a notebook's width.
PANEL = 1.5
MASK_COLOR = "red"
NORMAL_COLOR = "tab:blue"
ANOMALY_COLOR = "tab:orange"


def _draw_image(ax, image, mask=None, title=None) -> None:
    """One ``(H, W, C)`` image on ``ax`` with the outline of ``mask`` in red."""
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(np.clip(image, 0, 1))
    _draw_contours(ax, mask)
    if title is not None:
        ax.set_title(str(title), fontsize=8)
    ax.set_axis_off()


def _draw_contours(ax, mask) -> None:
    if mask is not None:
        for contour in skimage.measure.find_contours(np.asarray(mask, dtype=float), 0.5):
            ax.plot(contour[:, 1], contour[:, 0], color=MASK_COLOR, linewidth=1)


def _check_masks_and_titles(images, masks, titles) -> None:
    if masks is not None and np.shape(masks) != images.shape[:3]:
        raise ValueError(
            f"masks must be shaped (n, H, W) = {images.shape[:3]} like the images; "
            f"got shape {np.shape(masks)}."
        )
    if titles is not None and len(titles) != len(images):
        raise ValueError(
            f"titles must have one entry per image ({len(images)}); got {len(titles)}."
        )


def show_images(images, titles=None, masks=None, ncols=8, suptitle=None):
    """A grid of images, with defect masks outlined in red when given (notebook 00)."""
    images = as_images(images, name="images")
    _check_masks_and_titles(images, masks, titles)
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int; got {ncols!r}.")
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    height = nrows * PANEL + (0.35 * nrows if titles is not None else 0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * PANEL, height), squeeze=False)
    for index, ax in enumerate(axes.ravel()):
        if index < len(images):
            mask, title = (None if each is None else each[index] for each in (masks, titles))
            _draw_image(ax, images[index], mask, title)
        else:
            fig.delaxes(ax)
    if suptitle is not None:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_hog(image, orientations=9, pixels_per_cell=None, cells_per_block=None, title=None):
    """One image and its HOG picture side by side (notebook 01)."""
    image = as_images(np.asarray(image)[np.newaxis], name="image")[0]
    height, width, _ = image.shape
    pixels, block = features.resolve_hog_parameters(height, width, pixels_per_cell, cells_per_block)
    picture = features.hog_picture(image, orientations, pixels, block)
    fig, (ax_image, ax_hog) = plt.subplots(1, 2, figsize=(2 * PANEL * 1.4, PANEL * 1.6))
    _draw_image(ax_image, image, title=title if title is not None else f"{height}x{width} image")
    hog_title = f"HOG: {pixels[0]}x{pixels[1]} px/cell, {orientations} bins"
    _draw_image(ax_hog, picture[..., np.newaxis], title=hog_title)
    fig.tight_layout()
    return fig


#: Line styles of the thresholds on a score histogram, in the order given.
THRESHOLD_STYLES = ("--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)))


def plot_score_histogram(labels, scores, threshold=None, threshold_label=None, bins=30,
                         title=None, ax=None, density=False):  # fmt: skip
    """Histograms of the anomaly scores of normal and anomalous images (notebooks 00 to 05).

    ``threshold`` draws the decision line (anomaly iff score > threshold), ``threshold_label``
    says how it was chosen; ``threshold={label: value, ...}`` draws one line per rule.
    ``density=True`` scales each class to area 1, so that a few normal images stay visible next
    to many anomalies. The legend sits beside the axes, never over a bar; drawn into ``ax`` (of
    an existing grid), it goes where it hides the fewest bars.
    """
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or scores.ndim != 1:
        raise ValueError(
            f"labels and scores must be 1-D of the same length; got {labels.shape} and "
            f"{scores.shape}."
        )
    thresholds = _thresholds(threshold, threshold_label)
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(8.5, 3.2))
    edges = np.histogram_bin_edges(scores, bins=bins)
    for value, name, color in ((0, "normal", NORMAL_COLOR), (1, "anomaly", ANOMALY_COLOR)):
        selected = scores[labels == value]
        if selected.size:
            ax.hist(selected, bins=edges, alpha=0.6, color=color, density=density,
                    label=f"{name} ({selected.size})")  # fmt: skip
    for (label, value), style in zip(thresholds.items(), THRESHOLD_STYLES, strict=False):
        ax.axvline(value, color="black", linestyle=style, label=label)
    ax.set_xlabel("anomaly score (higher = more anomalous)")
    ax.set_ylabel("density" if density else "images")
    if title is not None:
        ax.set_title(title)
    if own_figure:  # a caller's figure keeps its own layout
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.figure.tight_layout()
    else:
        ax.legend(fontsize=8, loc="best")
    return ax.figure


def _thresholds(threshold, threshold_label) -> dict:
    """``{legend text: value}`` of the threshold lines to draw (at most four)."""
    if threshold is None:
        return {}
    if not isinstance(threshold, Mapping):
        label = f"threshold {threshold:.3g}"
        if threshold_label:
            label += f"\n({threshold_label})"
        return {label: threshold}
    if threshold_label is not None:
        raise ValueError("threshold_label is for one threshold; a dict names each line itself.")
    if not 1 <= len(threshold) <= len(THRESHOLD_STYLES):
        raise ValueError(
            f"threshold must name 1 to {len(THRESHOLD_STYLES)} lines; got {len(threshold)}."
        )
    return {f"{name}: {value:.3g}": value for name, value in threshold.items()}


def plot_roc_pr(labels, scores_by_name, title=None):
    """ROC (left) and precision-recall (right) curves, one line per detector (notebook 00).

    ``scores_by_name`` maps a name to anomaly scores (one array is named "scores"). The
    legends give AUROC and average precision (AP); dotted lines show chance.
    """
    if not isinstance(scores_by_name, Mapping):
        scores_by_name = {"scores": scores_by_name}
    if not scores_by_name:
        raise ValueError("scores_by_name is empty; pass {name: anomaly scores}.")
    fig, (ax_roc, ax_pr) = plt.subplots(1, 2, figsize=(9, 3.8))
    for index, (name, scores) in enumerate(scores_by_name.items()):
        first = index == 0
        sklearn.metrics.RocCurveDisplay.from_predictions(
            labels, scores, pos_label=1, name=str(name), ax=ax_roc, plot_chance_level=first
        )
        sklearn.metrics.PrecisionRecallDisplay.from_predictions(
            labels, scores, pos_label=1, name=str(name), ax=ax_pr, plot_chance_level=first
        )
    ax_roc.set(title="ROC curve", xlabel="false positive rate (normal images flagged)",
               ylabel="true positive rate (anomalies found)")  # fmt: skip
    ax_pr.set(title="Precision-recall curve", xlabel="recall (anomalies found)",
              ylabel="precision (flags that are anomalies)")  # fmt: skip
    for ax in (ax_roc, ax_pr):
        ax.legend(fontsize=8, loc="lower left" if ax is ax_pr else "lower right")
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _heat_colormap() -> matplotlib.colors.ListedColormap:
    # Pale yellow to dark red, transparent at the low end and more opaque towards the top: a
    # low score leaves the image visible under it (a dark low end looks like a black hole over
    # a grey image), a high score covers it in red.
    colours = matplotlib.colormaps["YlOrRd"](np.linspace(0.1, 1.0, 256))
    colours[:, 3] = np.linspace(0.0, 0.85, 256) ** 0.7
    return matplotlib.colors.ListedColormap(colours, name="anomaly_heat")


HEAT = _heat_colormap()


def plot_anomaly_maps(images, maps, masks=None, titles=None, vmin=None, vmax=None):
    """Images (top row) and their anomaly maps as heat maps over them (bottom row) (notebook 03).

    All maps share one colour scale, ``vmin`` to ``vmax`` (default: the range of ``maps``), so
    colours compare across images; low values are transparent. The true defect is outlined on
    the map only, so that the top row shows the defect itself, uncovered.
    """
    images = as_images(images, name="images")
    maps = np.asarray(maps, dtype=np.float64)
    if maps.shape != images.shape[:3]:
        raise ValueError(f"maps must be shaped (n, H, W) = {images.shape[:3]}; got {maps.shape}.")
    _check_masks_and_titles(images, masks, titles)
    n_images = len(images)
    size = (n_images * PANEL + 1.2, 2 * PANEL + 0.4)
    fig, axes = plt.subplots(2, n_images, figsize=size, squeeze=False, layout="constrained")
    low = float(maps.min()) if vmin is None else float(vmin)
    high = float(maps.max()) if vmax is None else float(vmax)
    for index in range(n_images):
        mask = None if masks is None else masks[index]
        title = None if titles is None else titles[index]
        _draw_image(axes[0, index], images[index], title=title)
        _draw_image(axes[1, index], images[index])
        heat = axes[1, index].imshow(
            maps[index], cmap=HEAT, vmin=low, vmax=high if high > low else None
        )
        _draw_contours(axes[1, index], mask)
    for ax, label in ((axes[0, 0], "image"), (axes[1, 0], "anomaly map")):
        ax.text(-0.08, 0.5, label, rotation=90, ha="right", va="center", transform=ax.transAxes)
    # Beside both rows, not only the maps': a colour bar that takes width from the bottom row
    # alone shifts its panels away from the images above them (visible with one image).
    fig.colorbar(heat, ax=axes.ravel().tolist(), shrink=0.45, anchor=(0.0, 0.0), label="anomaly")
    return fig


def plot_history(history, title=None):
    """Training curves: ``loss`` and, when present, ``val_loss`` per epoch (notebooks 02 to 04)
    of a Keras ``History`` (or its ``.history`` dict)."""
    curves = getattr(history, "history", history)
    if not isinstance(curves, Mapping) or "loss" not in curves:
        raise ValueError("history must be a Keras History (or dict) with a 'loss' entry.")
    fig, ax = plt.subplots(figsize=(5, 3))
    for key, style in (("loss", "-"), ("val_loss", "--")):
        if key in curves:
            values = np.asarray(curves[key], dtype=np.float64)
            ax.plot(np.arange(1, len(values) + 1), values, style, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if title is not None:
        ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


#: Font size (points) of the values written on the bars of :func:`plot_bars`, and its legend.
BAR_LABEL_SIZE = 9


def plot_bars(values_by_group, ylabel="AUROC", title=None, reference=None, ylim=None, xlabel=None):
    """Grouped bar chart of ``{group: {series: value}}``, one bar per series in each group, e.g.
    AUROC per method and dataset (notebooks 01, 02 and 05); missing values are left out.
    ``reference`` draws a dotted line, e.g. 0.5 for chance-level AUROC."""
    if not isinstance(values_by_group, Mapping) or not values_by_group:
        raise ValueError("values_by_group must be a non-empty {group: {series: value}} dict.")
    if not all(isinstance(values, Mapping) for values in values_by_group.values()):
        raise ValueError("each group in values_by_group must map series names to values.")
    groups = list(values_by_group)
    series = list(dict.fromkeys(name for values in values_by_group.values() for name in values))
    width = 0.8 / len(series)
    # Each group gets room for its bars, each as wide as its value label ("0.95" at 9 pt: about
    # 0.3 inch), and for its longest tick-label line (about 0.08 inch per character), so that
    # neighbouring labels never run together. The legend goes below the axes, taking no width.
    longest = max(len(line) for group in groups for line in str(group).splitlines() or [""])
    per_group = max(len(series) * 0.34 / 0.8, longest * 0.08 + 0.15)
    fig, ax = plt.subplots(
        figsize=(max(4.0, 0.9 + len(groups) * per_group), 3.4), layout="constrained"
    )
    positions = np.arange(len(groups))
    for index, name in enumerate(series):
        heights = [values_by_group[group].get(name, np.nan) for group in groups]
        bars = ax.bar(positions + (index - (len(series) - 1) / 2) * width, heights, width,
                      label=str(name))  # fmt: skip
        ax.bar_label(bars, fmt="%.2f", fontsize=BAR_LABEL_SIZE, padding=1)
    if reference is not None:
        ax.axhline(reference, color="gray", linestyle=":", linewidth=1)
    ax.set_xticks(positions, [str(group) for group in groups])
    ax.set_ylabel(ylabel)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if title is not None:
        ax.set_title(title)
    if len(series) > 1:
        fig.legend(loc="outside lower center", ncol=len(series), fontsize=BAR_LABEL_SIZE,
                   frameon=False)  # fmt: skip
    return fig
