"""Metrics for binary classification: accuracy, precision, recall and F1.

Every function takes the true labels and the predicted labels, two sequences of the same
length. ``positive`` names the label of the positive class: 1 by default, but it can be
anything comparable with ``==`` ("fraud", True...). Every other label counts as negative.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

Labels = Sequence[Hashable]


def confusion_counts(
    y_true: Labels, y_pred: Labels, positive: Hashable = 1
) -> tuple[int, int, int, int]:
    """Count (true positives, false positives, false negatives, true negatives)."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    tp = fp = fn = tn = 0
    for truth, guess in zip(y_true, y_pred):
        if guess == positive:
            if truth == positive:
                tp += 1
            else:
                fp += 1
        elif truth == positive:
            fn += 1
        else:
            tn += 1
    return tp, fp, fn, tn


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, or 0.0 when the denominator is 0 (the usual convention)."""
    return numerator / denominator if denominator else 0.0


def accuracy(y_true: Labels, y_pred: Labels, positive: Hashable = 1) -> float:
    """The share of predictions that are right: (TP + TN) / all."""
    if not y_true:
        raise ValueError("accuracy of no predictions is undefined")
    tp, fp, fn, tn = confusion_counts(y_true, y_pred, positive)
    return _ratio(tp + tn, tp + fp + fn + tn)


def precision(y_true: Labels, y_pred: Labels, positive: Hashable = 1) -> float:
    """Of the items predicted positive, the share that really are: TP / (TP + FP)."""
    tp, fp, _fn, _tn = confusion_counts(y_true, y_pred, positive)
    return _ratio(tp, tp + fp)


def recall(y_true: Labels, y_pred: Labels, positive: Hashable = 1) -> float:
    """Of the items that really are positive, the share that was found: TP / (TP + FN)."""
    tp, fp, fn, _tn = confusion_counts(y_true, y_pred, positive)
    return _ratio(tp, tp + fp)


def f1(y_true: Labels, y_pred: Labels, positive: Hashable = 1) -> float:
    """The harmonic mean of precision and recall: 2 * P * R / (P + R)."""
    p = precision(y_true, y_pred, positive)
    r = recall(y_true, y_pred, positive)
    return _ratio(2 * p * r, p + r)
