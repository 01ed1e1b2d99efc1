"""Evaluation and threshold rules for anomaly detectors, built on ``sklearn.metrics`` (notebook 00).

Conventions (the box in notebook 00): labels are 0 = normal, 1 = anomaly (the *positive* class);
detectors follow scikit-learn, ``score_samples`` is higher for more *normal* images; metrics take
*anomaly scores*, higher = more anomalous (:func:`anomaly_scores`); a threshold ``t`` is on
anomaly scores, and an image is flagged iff ``score > t``. Ranking metrics (AUROC, average
precision) need no threshold.
"""

import numpy as np
import sklearn.metrics


def anomaly_scores(detector, X) -> np.ndarray:
    """Anomaly scores, higher = more anomalous: ``-detector.score_samples(X)`` of any outlier
    detector, scikit-learn's or :mod:`anomaly_tutorial.detectors`' (notebook 00)."""
    return -np.asarray(detector.score_samples(X), dtype=np.float64)


def _check_scores(scores, name: str = "scores") -> np.ndarray:
    array = np.asarray(scores)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {array.shape}.")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers; got dtype {array.dtype}.")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


def _check_labels_scores(labels, scores, *, both_classes: bool = True):
    scores = _check_scores(scores)
    labels = np.asarray(labels)
    if labels.shape != scores.shape:
        raise ValueError(
            f"labels and scores must have the same length; got labels of shape {labels.shape} "
            f"and scores of shape {scores.shape}."
        )
    if not np.all(np.isin(labels, (0, 1))):
        found = np.unique(labels)[:5]
        raise ValueError(f"labels must be 0 (normal) or 1 (anomaly); found values {found}.")
    labels = labels.astype(np.int64)
    if both_classes and len(np.unique(labels)) < 2:
        raise ValueError(
            "labels must contain both normal (0) and anomalous (1) images; "
            f"got only {int(labels[0])}."
        )
    return labels, scores


def _best_f1_point(labels, scores):
    """``(best F1, index into precision_recall_curve's thresholds)``."""
    precision, recall, thresholds = sklearn.metrics.precision_recall_curve(labels, scores)
    # The last PR point (precision 1, recall 0) has no threshold; its F1 is 0 anyway.
    precision, recall = precision[:-1], recall[:-1]
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall, denominator, out=np.zeros_like(denominator), where=denominator > 0
    )
    best = int(np.argmax(f1))
    return float(f1[best]), thresholds[best]


def _pixel_auroc(labels, masks, maps) -> float:
    masks, maps = np.asarray(masks), np.asarray(maps)
    if masks.ndim != 3 or masks.shape[0] != len(labels):
        raise ValueError(
            f"masks must be shaped (n_images, H, W) with n_images = {len(labels)}; "
            f"got shape {masks.shape}."
        )
    if maps.shape != masks.shape:
        raise ValueError(
            f"maps must have the same shape as masks {masks.shape}; got shape {maps.shape}."
        )
    if masks.dtype != bool and not np.all(np.isin(masks, (0, 1))):
        raise ValueError("masks must be boolean (or 0/1): True marks an anomalous pixel.")
    pixel_scores = _check_scores(maps.ravel(), "maps")
    pixel_labels = masks.astype(bool).ravel()
    if pixel_labels.all() or not pixel_labels.any():
        raise ValueError("masks must mark some pixels as anomalous and leave others normal.")
    return float(sklearn.metrics.roc_auc_score(pixel_labels, pixel_scores))


def evaluate(labels, scores, masks=None, maps=None) -> dict:
    """Threshold-free quality of anomaly ``scores`` against ``labels`` (notebook 00), a dict:

    - ``image_auroc``: the chance that a random anomaly scores higher than a random normal image
      (0.5 = guessing, 1 = perfect ranking);
    - ``average_precision``: the area under the PR curve, whose chance level is the share of
      anomalies;
    - ``best_f1``: the highest F1 over all thresholds (optimistic: chosen on these labels);
    - ``pixel_auroc``, given ``masks`` (bool) and ``maps``, both ``(n, H, W)``: the AUROC over
      all pixels of all images, anomalous pixel = positive.
    """
    labels, scores = _check_labels_scores(labels, scores)
    result = {
        "image_auroc": float(sklearn.metrics.roc_auc_score(labels, scores)),
        "average_precision": float(sklearn.metrics.average_precision_score(labels, scores)),
        "best_f1": _best_f1_point(labels, scores)[0],
    }
    if masks is not None and maps is not None:
        result["pixel_auroc"] = _pixel_auroc(labels, masks, maps)
    return result


def threshold_best_f1(labels, scores) -> float:
    """The F1-optimal threshold on a *labelled validation* split (notebook 00).

    An image is an anomaly iff its score is ``> t``. Every ``t`` between the lowest flagged
    score and the highest unflagged one gives the same F1 on this split; the midpoint leaves a
    margin on both sides for new images.
    """
    labels, scores = _check_labels_scores(labels, scores)
    _, lowest_flagged = _best_f1_point(labels, scores)
    below = scores[scores < lowest_flagged]
    if below.size == 0:
        return float(np.nextafter(lowest_flagged, -np.inf))
    return float((lowest_flagged + below.max()) / 2)


def confusion_at(labels, scores, threshold: float) -> dict:
    """Counts ``tn``, ``fp``, ``fn``, ``tp`` when flagging ``score > threshold`` (notebook 00)."""
    labels, scores = _check_labels_scores(labels, scores, both_classes=False)
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number; got {threshold!r}.")
    predicted = (scores > threshold).astype(np.int64)
    matrix = sklearn.metrics.confusion_matrix(labels, predicted, labels=[0, 1])
    tn, fp, fn, tp = (int(count) for count in matrix.ravel())
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp}


def per_defect_auroc(labels, scores, defects, normal: str = "good") -> dict:
    """AUROC of each defect type against the normal images, ``{defect: auroc}``: which kinds of
    anomaly a detector finds. ``defects`` names each image's type, ``normal`` where labels are 0."""
    labels, scores = _check_labels_scores(labels, scores)
    defects = np.asarray(defects)
    if defects.shape != labels.shape:
        raise ValueError(
            f"defects must have one name per image ({labels.shape[0]}); got shape {defects.shape}."
        )
    if np.any((defects == normal) != (labels == 0)):
        raise ValueError(
            f"defects must be {normal!r} exactly where labels are 0 (normal); "
            "labels and defects do not match."
        )
    normal_scores = scores[labels == 0]
    result = {}
    for defect in sorted(set(defects[labels == 1].tolist())):
        defect_scores = scores[defects == defect]
        both = np.concatenate([normal_scores, defect_scores])
        truth = np.r_[np.zeros(len(normal_scores)), np.ones(len(defect_scores))]
        result[str(defect)] = float(sklearn.metrics.roc_auc_score(truth, both))
    return result
