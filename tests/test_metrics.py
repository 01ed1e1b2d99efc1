"""Metrics and threshold rules against hand-computed small cases (notebook 00)."""

import numpy as np
import pytest
from sklearn.svm import OneClassSVM

from anomaly_tutorial import metrics

# Six images, three normal (0) and three anomalous (1). Sorted by score, highest first:
#   0.9 A, 0.8 A, 0.4 N, 0.35 A, 0.2 N, 0.1 N
LABELS = np.array([0, 0, 1, 0, 1, 1])
SCORES = np.array([0.1, 0.4, 0.35, 0.2, 0.8, 0.9])


def test_evaluate_matches_hand_computed_values():
    result = metrics.evaluate(LABELS, SCORES)
    assert set(result) == {"image_auroc", "average_precision", "best_f1"}
    # AUROC: of the 3 x 3 (anomaly, normal) pairs only (0.35, 0.4) is ranked wrongly -> 8/9.
    assert result["image_auroc"] == pytest.approx(8 / 9)
    # AP: precision at each anomaly found, 1/1, 2/2, 3/4, averaged -> (1 + 1 + 0.75) / 3.
    assert result["average_precision"] == pytest.approx(2.75 / 3)
    # Best F1: flag the top four -> tp 3, fp 1, fn 0 -> P 3/4, R 1 -> F1 = 6/7
    # (top two: P 1, R 2/3 -> 0.8; top five: P 3/5, R 1 -> 0.75).
    assert result["best_f1"] == pytest.approx(6 / 7)
    assert all(isinstance(value, float) for value in result.values())


def test_perfect_ranking_scores_one():
    result = metrics.evaluate([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])
    assert result == {"image_auroc": 1.0, "average_precision": 1.0, "best_f1": 1.0}


def test_negating_scores_gives_one_minus_auroc():
    auroc = metrics.evaluate(LABELS, SCORES)["image_auroc"]
    assert metrics.evaluate(LABELS, -SCORES)["image_auroc"] == pytest.approx(1 - auroc)


def test_anomaly_scores_are_minus_score_samples():
    rng = np.random.default_rng(0)
    normal = rng.normal(size=(50, 2))
    detector = OneClassSVM(gamma=0.5, nu=0.1).fit(normal)
    points = np.array([[0.0, 0.0], [6.0, 6.0]])
    scores = metrics.anomaly_scores(detector, points)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, -detector.score_samples(points))
    assert scores[1] > scores[0]  # the far point is the more anomalous one


def test_pixel_auroc_on_tiny_masks():
    labels = [0, 1]
    masks = np.zeros((2, 2, 2), dtype=bool)
    masks[1, 0, 0] = True
    maps = np.array([[[0.1, 0.2], [0.3, 0.0]], [[0.5, 0.4], [0.1, 0.2]]])
    # One anomalous pixel (0.5) ranks above all 7 normal pixels -> 1.0; at 0.25 it would beat
    # 5 of 7 (0.1, 0.2, 0.0, 0.1, 0.2), i.e. 5/7.
    assert metrics.evaluate(labels, [0.1, 0.9], masks=masks, maps=maps)["pixel_auroc"] == 1.0
    maps[1, 0, 0] = 0.25
    result = metrics.evaluate(labels, [0.1, 0.9], masks=masks, maps=maps)
    assert result["pixel_auroc"] == pytest.approx(5 / 7)


def test_pixel_auroc_needs_both_masks_and_maps():
    assert "pixel_auroc" not in metrics.evaluate(LABELS, SCORES, masks=np.ones((6, 2, 2)))


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([0, 1, 1], [0.1, 0.2], "same length"),
        ([0, 0, 0], [0.1, 0.2, 0.3], "both normal"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "labels must be 0"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "NaN or infinite"),
        ([0, 1, 1], [0.1, np.inf, 0.3], "NaN or infinite"),
        ([0, 1], [[0.1], [0.2]], "1-D"),
        ([], [], "non-empty"),
        ([0, 1], ["a", "b"], "real numbers"),
    ],
)
def test_evaluate_rejects_bad_labels_or_scores(labels, scores, message):
    with pytest.raises(ValueError, match=message):
        metrics.evaluate(labels, scores)


@pytest.mark.parametrize(
    ("masks", "maps", "message"),
    [
        (np.zeros((3, 2, 2), bool), np.zeros((3, 2, 2)), "masks must be shaped"),
        (np.zeros((6, 2, 2), bool), np.zeros((6, 3, 3)), "maps must have the same shape"),
        (np.zeros((6, 2, 2), bool), np.zeros((6, 2, 2)), "some pixels as anomalous"),
        (np.full((6, 2, 2), 2), np.zeros((6, 2, 2)), "masks must be boolean"),
        (np.eye(2, dtype=bool)[None].repeat(6, 0), np.full((6, 2, 2), np.nan), "maps contains"),
    ],
)
def test_evaluate_rejects_bad_masks_or_maps(masks, maps, message):
    with pytest.raises(ValueError, match=message):
        metrics.evaluate(LABELS, SCORES, masks=masks, maps=maps)


def test_best_f1_threshold_sits_between_flagged_and_unflagged_scores():
    # Flag the top four (scores >= 0.35); the next score down is 0.2 -> midpoint 0.275.
    threshold = metrics.threshold_best_f1(LABELS, SCORES)
    assert threshold == pytest.approx(0.275)
    assert metrics.confusion_at(LABELS, SCORES, threshold) == {"tn": 2, "fp": 1, "fn": 0, "tp": 3}


def test_best_f1_threshold_below_all_scores_when_flagging_everything_is_best():
    # Every ranking that flags fewer images loses more recall than it gains in precision.
    labels, scores = [1, 1, 0, 1], [0.0, 0.1, 0.2, 0.3]
    threshold = metrics.threshold_best_f1(labels, scores)
    assert threshold < 0.0
    assert metrics.confusion_at(labels, scores, threshold)["tp"] == 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: metrics.threshold_best_f1([1, 1], [0.1, 0.2]), "both normal"),
        (lambda: metrics.confusion_at([0, 1], [0.1, 0.2], np.nan), "threshold must be a finite"),
    ],
)
def test_threshold_rules_reject_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_confusion_at_counts_scores_above_threshold_as_anomalies():
    # Threshold 0.4 itself is not above 0.4: flagged are 0.8 and 0.9 only.
    assert metrics.confusion_at(LABELS, SCORES, 0.4) == {"tn": 3, "fp": 0, "fn": 1, "tp": 2}
    # One class is enough to count.
    assert metrics.confusion_at([0, 0], [0.1, 0.9], 0.5) == {"tn": 1, "fp": 1, "fn": 0, "tp": 0}


def test_per_defect_auroc_compares_each_defect_with_normal_images():
    defects = ["good", "good", "scratch", "good", "hole", "scratch"]
    # hole (0.8) beats all three normal scores -> 1.0; scratch: 0.9 beats 3, 0.35 beats 2 -> 5/6.
    result = metrics.per_defect_auroc(LABELS, SCORES, defects)
    assert list(result) == ["hole", "scratch"]
    assert result["hole"] == 1.0
    assert result["scratch"] == pytest.approx(5 / 6)


def test_per_defect_auroc_rejects_defects_that_disagree_with_labels():
    with pytest.raises(ValueError, match="'good' exactly where labels are 0"):
        metrics.per_defect_auroc(LABELS, SCORES, ["good"] * 6)
    with pytest.raises(ValueError, match="one name per image"):
        metrics.per_defect_auroc(LABELS, SCORES, ["good", "hole"])
