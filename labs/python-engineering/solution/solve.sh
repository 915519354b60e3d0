#!/usr/bin/env bash
# Reference solution of python-engineering: run in the session's workspace (a git repository
# on main, as the lab's Terraform left it). Branch, regression test, fix, commit.
set -euo pipefail

git switch --quiet -c fix-recall

# 1. A regression test from the bug report: it fails on the buggy code.
cat >>tests/test_metrics.py <<'PY'


def test_recall_counts_missed_positives():
    # Bug report: 1 of 4 frauds caught, no false alarm. Recall is 1/4, not 1.0.
    y_true = [1, 1, 1, 1, 0, 0]
    y_pred = [1, 0, 0, 0, 0, 0]
    assert recall(y_true, y_pred) == pytest.approx(0.25)
    assert f1(y_true, y_pred) == pytest.approx(0.4)
PY

# 2. The fix: recall divides by the real positives, TP + FN (it divided by TP + FP).
python3 - <<'PY'
from pathlib import Path

path = Path("mlmetrics/classification.py")
code = path.read_text()
buggy = "    tp, fp, fn, _tn = confusion_counts(y_true, y_pred, positive)\n    return _ratio(tp, tp + fp)\n"
fixed = "    tp, _fp, fn, _tn = confusion_counts(y_true, y_pred, positive)\n    return _ratio(tp, tp + fn)\n"
if code.count(buggy) != 1:
    raise SystemExit("solve.sh: recall's buggy lines were not found exactly once")
path.write_text(code.replace(buggy, fixed))
PY

# 3. Both in one commit, on the branch, with a message that says what and why.
git add mlmetrics tests
git commit --quiet -m "Fix recall: divide by the real positives (TP + FN), not TP + FP" \
    -m "recall returned precision whenever a model had false negatives. Adds a regression test from the bug report's example."
git log --oneline main..fix-recall
