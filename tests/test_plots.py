"""Every figure function returns a Figure with the expected panels and lines (notebooks 00-05)."""

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from anomaly_tutorial import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _images(n_images=5, shape=(16, 16), seed=0):
    return np.random.default_rng(seed).random((n_images, *shape)).astype(np.float32)


def _labels_scores():
    labels = np.r_[np.zeros(20, int), np.ones(10, int)]
    scores = np.random.default_rng(0).normal(size=30) + labels
    return labels, scores


def test_show_images_draws_one_axes_per_image_and_mask_contours():
    masks = np.zeros((5, 16, 16), dtype=bool)
    masks[1, 4:8, 4:8] = True
    fig = plots.show_images(_images(), titles=list("abcde"), masks=masks, ncols=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 5  # 2 x 3 grid, the unused panel removed
    assert [ax.get_title() for ax in fig.axes] == list("abcde")
    assert len(fig.axes[1].lines) == 1  # one closed red contour around the square
    assert fig.axes[1].lines[0].get_color() == "red"
    assert len(fig.axes[0].lines) == 0
    image = fig.axes[0].images[0]
    assert image.get_cmap().name == "gray" and image.get_clim() == (0, 1)


def test_show_images_shows_rgb_in_colour():
    fig = plots.show_images(_images(2, (8, 8, 3)))
    assert fig.axes[0].images[0].get_array().shape == (8, 8, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"titles": ["only one"]}, "titles must have one entry per image"),
        ({"masks": np.zeros((5, 8, 8), bool)}, "masks must be shaped"),
        ({"ncols": 0}, "ncols must be a positive int"),
    ],
)
def test_show_images_rejects_mismatched_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.show_images(_images(), **kwargs)


def test_plot_hog_shows_image_and_hog_picture():
    fig = plots.plot_hog(_images(1, (8, 8))[0])
    assert len(fig.axes) == 2
    assert fig.axes[1].images[0].get_array().shape == (64, 64)
    assert "2x2 px/cell" in fig.axes[1].get_title()


def test_score_histogram_draws_both_classes_and_the_labelled_threshold():
    labels, scores = _labels_scores()
    fig = plots.plot_score_histogram(labels, scores, threshold=0.5, threshold_label="95 % rule")
    ax = fig.axes[0]
    texts = [text.get_text() for text in ax.get_legend().get_texts()]
    assert texts == ["normal (20)", "anomaly (10)", "threshold 0.5\n(95 % rule)"]
    assert len(ax.lines) == 1 and ax.lines[0].get_xdata()[0] == 0.5


def test_score_histogram_draws_into_a_given_axes():
    labels, scores = _labels_scores()
    fig, axes = plt.subplots(1, 2)
    assert plots.plot_score_histogram(labels, scores, ax=axes[1]) is fig
    assert axes[1].get_legend() is not None and not axes[0].patches


def test_score_histogram_legend_sits_beside_the_axes_so_it_covers_no_bar():
    labels, scores = _labels_scores()
    fig = plots.plot_score_histogram(labels, scores, threshold=0.5, threshold_label="rule")
    fig.canvas.draw()
    ax = fig.axes[0]
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1


def test_score_histogram_density_gives_each_class_area_one():
    labels = np.r_[np.zeros(5, int), np.ones(95, int)]
    scores = np.random.default_rng(0).normal(size=100) + labels
    ax = plots.plot_score_histogram(labels, scores, density=True).axes[0]
    for container in ax.containers:
        area = sum(patch.get_height() * patch.get_width() for patch in container)
        assert area == pytest.approx(1.0)
    assert ax.get_ylabel() == "density"
    texts = [text.get_text() for text in ax.get_legend().get_texts()]
    assert texts[:2] == ["normal (5)", "anomaly (95)"]  # the counts stay in the legend


def test_score_histogram_draws_one_line_per_named_threshold():
    labels, scores = _labels_scores()
    rules = {"SVM boundary": -0.25, "offset_": 0.5}
    ax = plots.plot_score_histogram(labels, scores, threshold=rules).axes[0]
    assert [line.get_xdata()[0] for line in ax.lines] == [-0.25, 0.5]
    assert len({str(line.get_linestyle()) for line in ax.lines}) == 2
    texts = [text.get_text() for text in ax.get_legend().get_texts()]
    assert texts[2:] == ["SVM boundary: -0.25", "offset_: 0.5"]


def test_score_histogram_rejects_a_label_for_named_thresholds():
    labels, scores = _labels_scores()
    with pytest.raises(ValueError, match="threshold_label"):
        plots.plot_score_histogram(labels, scores, threshold={"a": 0.1}, threshold_label="b")


def test_score_histogram_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        plots.plot_score_histogram([0, 1], [0.1, 0.2, 0.3])


def test_roc_pr_has_one_curve_per_detector_with_scores_in_legend():
    labels, scores = _labels_scores()
    fig = plots.plot_roc_pr(labels, {"good": scores, "random": -scores})
    ax_roc, ax_pr = fig.axes
    roc_texts = [text.get_text() for text in ax_roc.get_legend().get_texts()]
    pr_texts = [text.get_text() for text in ax_pr.get_legend().get_texts()]
    assert any(text.startswith("good (AUC = ") for text in roc_texts)
    assert any(text.startswith("random (AP = ") for text in pr_texts)
    assert len(ax_roc.lines) == 3  # two detectors + chance diagonal, drawn once


def test_roc_pr_accepts_a_single_score_array():
    labels, scores = _labels_scores()
    assert len(plots.plot_roc_pr(labels, scores).axes[0].lines) == 2


def test_roc_pr_rejects_an_empty_dict():
    with pytest.raises(ValueError, match="scores_by_name is empty"):
        plots.plot_roc_pr([0, 1], {})


def test_anomaly_maps_show_images_over_maps_with_a_colour_bar():
    images = _images(3)
    maps = np.random.default_rng(1).random((3, 16, 16))
    masks = np.zeros((3, 16, 16), dtype=bool)
    masks[2, 2:6, 2:6] = True
    fig = plots.plot_anomaly_maps(images, maps, masks=masks, titles=["x", "y", "z"])
    assert len(fig.axes) == 2 * 3 + 1  # two rows of panels and the colour bar
    heat_panel = fig.axes[5]
    assert len(heat_panel.images) == 2  # the image and the heat map over it
    assert len(heat_panel.lines) == 1  # the true defect's outline


@pytest.mark.parametrize("n_images", [1, 4])
def test_anomaly_maps_keep_each_map_under_its_image(n_images):
    fig = plots.plot_anomaly_maps(
        _images(n_images), np.random.default_rng(1).random((n_images, 16, 16))
    )
    fig.canvas.draw()  # constrained layout places the panels when drawn
    for column in range(n_images):
        image_box = fig.axes[column].get_position()
        map_box = fig.axes[n_images + column].get_position()
        assert image_box.x0 == pytest.approx(map_box.x0, abs=1e-6)
        assert image_box.width == pytest.approx(map_box.width, abs=1e-6)
    colour_bar = fig.axes[-1].get_position()
    assert colour_bar.y1 <= fig.axes[n_images].get_position().y1 + 1e-6  # beside the maps


def test_anomaly_maps_reject_maps_of_other_size():
    with pytest.raises(ValueError, match="maps must be shaped"):
        plots.plot_anomaly_maps(_images(2), np.zeros((2, 8, 8)))


def test_plot_history_draws_loss_and_val_loss():
    class History:  # the one attribute of keras.callbacks.History that is used
        history = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.2, 0.7, 0.5]}

    fig = plots.plot_history(History())
    lines = fig.axes[0].lines
    assert [line.get_label() for line in lines] == ["loss", "val_loss"]
    assert lines[0].get_xdata().tolist() == [1, 2, 3]
    assert len(plots.plot_history({"loss": [1.0, 0.5]}).axes[0].lines) == 1


def test_plot_history_rejects_history_without_loss():
    with pytest.raises(ValueError, match="'loss'"):
        plots.plot_history({"accuracy": [0.5]})


def test_plot_bars_draws_one_bar_per_group_and_series_leaving_gaps_for_missing():
    values = {"brick": {"hog": 0.7, "ae": 0.9}, "grass": {"hog": 0.6}}
    fig = plots.plot_bars(values, reference=0.5, xlabel="dataset")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "dataset"
    heights = [patch.get_height() for patch in ax.patches]
    assert heights[:2] == [0.7, 0.6]  # the "hog" series
    assert heights[2] == 0.9 and np.isnan(heights[3])  # "ae" has no grass value
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["brick", "grass"]
    assert ax.lines[0].get_ydata()[0] == 0.5


def test_plot_bars_leaves_room_for_long_group_labels():
    values = {f"{kind}\n(held out)": {"a": 0.5, "b": 0.6} for kind in ("contamination", "blur")}
    values.update({kind: {"a": 0.7} for kind in ("faint_stain", "transplant", "speckle")})
    fig = plots.plot_bars(values)
    fig.canvas.draw()
    boxes = [label.get_window_extent() for label in fig.axes[0].get_xticklabels()]
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left.x1 < right.x0


def test_plot_bars_writes_legible_values_that_do_not_overlap():
    # Notebook 05's chart: six datasets, five detectors, every value written on its bar.
    detectors = ("hog_ocsvm", "conv_autoencoder", "deep_svdd", "patch_knn", "labeled_regressor")
    values = {name: dict.fromkeys(detectors, 0.95) for name in ("brick", "grass", "faces")}
    fig = plots.plot_bars(values, ylim=(0, 1.1))
    fig.canvas.draw()
    labels = [text for text in fig.axes[0].texts if text.get_text() == "0.95"]
    assert len(labels) == 15 and min(text.get_fontsize() for text in labels) >= 9
    boxes = sorted((text.get_window_extent() for text in labels), key=lambda box: box.x0)
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left.x1 <= right.x0 + 0.5  # side by side, never on top of each other


@pytest.mark.parametrize("values", [{}, {"brick": 0.7}, [0.7]])
def test_plot_bars_rejects_values_not_grouped(values):
    with pytest.raises(ValueError, match="values_by_group|each group"):
        plots.plot_bars(values)


def test_anomaly_maps_share_a_given_colour_scale_and_low_values_are_transparent():
    fig = plots.plot_anomaly_maps(_images(2), np.zeros((2, 16, 16)), vmin=-1.0, vmax=4.0)
    heat = fig.axes[2].images[1]
    assert heat.get_clim() == (-1.0, 4.0)
    assert heat.cmap(0.0)[3] == 0.0 and heat.cmap(1.0)[3] > 0.8  # the image shows through
