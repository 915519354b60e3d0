import pytest

from mlmetrics import accuracy, confusion_counts, f1, precision, recall

# A small batch: 3 frauds (1) and 3 normal transactions (0).
Y_TRUE = [1, 0, 1, 1, 0, 0]
Y_PRED = [1, 1, 1, 0, 0, 0]  # 2 frauds caught, 1 missed, 1 false alarm


def test_confusion_counts():
    assert confusion_counts(Y_TRUE, Y_PRED) == (2, 1, 1, 2)  # TP, FP, FN, TN


def test_accuracy():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)


def test_precision():
    assert precision(Y_TRUE, Y_PRED) == pytest.approx(2 / 3)


def test_recall():
    assert recall(Y_TRUE, Y_PRED) == pytest.approx(2 / 3)


def test_f1():
    assert f1(Y_TRUE, Y_PRED) == pytest.approx(2 / 3)


def test_perfect_predictions():
    assert precision(Y_TRUE, Y_TRUE) == 1.0
    assert recall(Y_TRUE, Y_TRUE) == 1.0
    assert f1(Y_TRUE, Y_TRUE) == 1.0


def test_lengths_must_match():
    with pytest.raises(ValueError):
        precision([1, 0], [1])
