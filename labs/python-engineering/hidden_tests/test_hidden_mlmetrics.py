"""The hidden test suite of the python-engineering lab, run by check.py against the
learner's mlmetrics package (never copied into the learner's workspace).

check.py treats a failing test whose name mentions recall or f1 as "the bug is not fixed",
and any other failing test as a regression the fix introduced. Each assertion message
names the call and both values, because the learner sees it in `labrun check`.
"""

import random

import pytest
from mlmetrics import accuracy, confusion_counts, f1, precision, recall

# The example of the bug report: 1 of 4 frauds caught, no false alarm.
REPORT_TRUE = [1, 1, 1, 1, 0, 0]
REPORT_PRED = [1, 0, 0, 0, 0, 0]


def expect(call, got, want):
    assert got == pytest.approx(want), f"{call} returned {got!r}, expected {want!r}"


def reference(y_true, y_pred, positive=1):
    pairs = list(zip(y_true, y_pred, strict=True))
    tp = sum(t == positive and p == positive for t, p in pairs)
    fp = sum(t != positive and p == positive for t, p in pairs)
    fn = sum(t == positive and p != positive for t, p in pairs)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


# --- the bug: recall must divide by the real positives (TP + FN) ---------------------------


def test_recall_bug_report_example():
    expect(f"recall({REPORT_TRUE}, {REPORT_PRED})", recall(REPORT_TRUE, REPORT_PRED), 0.25)


def test_recall_with_false_alarms_only():
    # Every fraud caught, plus 2 false alarms: recall is perfect, precision is not.
    expect("recall([1, 0, 0], [1, 1, 1])", recall([1, 0, 0], [1, 1, 1]), 1.0)


def test_recall_differs_from_precision():
    y_true, y_pred = [1, 1, 1, 0, 0], [1, 1, 0, 1, 1]  # TP 2, FP 2, FN 1
    expect(f"recall({y_true}, {y_pred})", recall(y_true, y_pred), 2 / 3)


def test_recall_no_real_positive_is_zero():
    expect("recall([0, 0, 0], [1, 0, 0])", recall([0, 0, 0], [1, 0, 0]), 0.0)


def test_recall_nothing_predicted_positive():
    expect("recall([1, 1, 0], [0, 0, 0])", recall([1, 1, 0], [0, 0, 0]), 0.0)


def test_recall_with_string_labels():
    y_true = ["fraud", "ok", "fraud", "fraud"]
    y_pred = ["fraud", "ok", "ok", "ok"]
    got = recall(y_true, y_pred, positive="fraud")
    expect(f"recall({y_true}, {y_pred}, positive='fraud')", got, 1 / 3)


def test_recall_matches_the_definition_on_random_batches():
    rng = random.Random(20240601)
    for _ in range(300):
        n = rng.randint(1, 30)
        y_true = [rng.randint(0, 1) for _ in range(n)]
        y_pred = [rng.randint(0, 1) for _ in range(n)]
        expect(f"recall({y_true}, {y_pred})", recall(y_true, y_pred), reference(y_true, y_pred)[1])


def test_f1_bug_report_example():
    expect(f"f1({REPORT_TRUE}, {REPORT_PRED})", f1(REPORT_TRUE, REPORT_PRED), 0.4)


def test_f1_matches_the_definition_on_random_batches():
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 30)
        y_true = [rng.randint(0, 1) for _ in range(n)]
        y_pred = [rng.randint(0, 1) for _ in range(n)]
        expect(f"f1({y_true}, {y_pred})", f1(y_true, y_pred), reference(y_true, y_pred)[2])


def test_recall_lengths_must_match():
    with pytest.raises(ValueError):
        recall([1, 0, 1], [1, 0])


# --- what already worked must keep working ---------------------------------------------------


def test_confusion_counts():
    assert confusion_counts([1, 0, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]) == (2, 1, 1, 2)


def test_confusion_counts_with_string_labels():
    got = confusion_counts(["a", "b", "a"], ["a", "a", "b"], positive="a")
    assert got == (1, 1, 1, 0), f"confusion_counts(['a', 'b', 'a'], ['a', 'a', 'b']) = {got}"


def test_precision_bug_report_example():
    expect(f"precision({REPORT_TRUE}, {REPORT_PRED})", precision(REPORT_TRUE, REPORT_PRED), 1.0)


def test_precision_with_false_alarms():
    expect("precision([1, 0, 0], [1, 1, 1])", precision([1, 0, 0], [1, 1, 1]), 1 / 3)


def test_precision_nothing_predicted_positive():
    expect("precision([1, 1, 0], [0, 0, 0])", precision([1, 1, 0], [0, 0, 0]), 0.0)


def test_precision_matches_the_definition_on_random_batches():
    rng = random.Random(11)
    for _ in range(300):
        n = rng.randint(1, 30)
        y_true = [rng.randint(0, 1) for _ in range(n)]
        y_pred = [rng.randint(0, 1) for _ in range(n)]
        got = precision(y_true, y_pred)
        expect(f"precision({y_true}, {y_pred})", got, reference(y_true, y_pred)[0])


def test_accuracy():
    expect("accuracy([1, 0, 1, 1], [1, 1, 1, 0])", accuracy([1, 0, 1, 1], [1, 1, 1, 0]), 0.5)
    y_true, y_pred = [1, 0, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]
    expect(f"accuracy({y_true}, {y_pred})", accuracy(y_true, y_pred), 4 / 6)
    expect("accuracy([0, 0], [0, 0])", accuracy([0, 0], [0, 0]), 1.0)


def test_accuracy_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        accuracy([], [])


def test_precision_lengths_must_match():
    with pytest.raises(ValueError):
        precision([1, 0], [1])


def test_inputs_are_not_modified():
    y_true, y_pred = [1, 0, 1], [1, 1, 0]
    precision(y_true, y_pred), recall(y_true, y_pred), f1(y_true, y_pred)
    assert (y_true, y_pred) == ([1, 0, 1], [1, 1, 0])


def test_recall_with_tuples():
    expect("recall((1, 1, 0), (1, 0, 0))", recall((1, 1, 0), (1, 0, 0)), 0.5)
