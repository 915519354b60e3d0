"""The python-engineering lab, played like a learner: real sessions, real git, real checks.

One session (Python API) serves the mistake scenarios: before each, its workspace is put back
exactly as `labrun start` left it (a copy taken right after the start, .git included).
One more session runs the whole CLI loop with the reference solution.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from labrun import grading, provision, teardown
from labrun.catalog import Lab, load_lab
from labrun.grading import CheckReport
from labrun.session import Session
from labrun.store import SessionStore
from testing.labsession import LabSession, by_id, statuses

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "python-engineering"
SOLVE = LAB_DIR / "solution" / "solve.sh"
BUGGY = (
    "tp, fp, fn, _tn = confusion_counts(y_true, y_pred, positive)\n    return _ratio(tp, tp + fp)"
)
FIXED = (
    "tp, fp, fn, _tn = confusion_counts(y_true, y_pred, positive)\n    return _ratio(tp, tp + fn)"
)
# Hermetic git: no global or system config (no signing, no hooks, no identity from the host).
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

REGRESSION_TEST = """

def test_recall_counts_missed_frauds():
    assert recall([1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 0]) == pytest.approx(0.25)
"""
WEAK_TEST = """

def test_recall_all_found():
    assert recall([1, 1, 0], [1, 1, 0]) == 1.0
"""
TEST_MATCHING_THE_BUG = """

def test_recall_bug_report():
    assert recall([1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 0]) == 1.0
"""


class Played:
    """The lab's session, and helpers to act in its workspace as the learner would."""

    def __init__(self, store: SessionStore, session: Session, pristine: Path) -> None:
        self.store = store
        self.session = session
        self.pristine = pristine
        self.workspace = session.workspace

    def reset(self) -> None:
        shutil.rmtree(self.workspace)
        shutil.copytree(self.pristine, self.workspace, symlinks=True)

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.workspace, env={**os.environ, **GIT_ENV},
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        return proc.stdout

    def fix_code(self) -> None:
        path = self.workspace / "mlmetrics" / "classification.py"
        code = path.read_text()
        assert code.count(BUGGY) == 1
        path.write_text(code.replace(BUGGY, FIXED))

    def add_test(self, text: str) -> None:
        with (self.workspace / "tests" / "test_metrics.py").open("a") as f:
            f.write(text)

    def check(self) -> CheckReport:
        return grading.check(self.store, self.store.get(self.session.id))


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    home = tmp_path_factory.mktemp("labrun-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABRUN_HOME", str(home))
        for key, value in GIT_ENV.items():
            mp.setenv(key, value)
        store = SessionStore(home / "sessions.db")
        lab: Lab = load_lab(LAB_DIR)
        session = provision.start(store, lab)
        try:
            pristine = tmp_path_factory.mktemp("pristine") / "workspace"
            shutil.copytree(session.workspace, pristine, symlinks=True)
            yield Played(store, session, pristine)
        finally:
            receipt = teardown.stop(store, store.get(session.id))
            assert receipt.ok, receipt.to_json()


@pytest.fixture
def learner(played: Played) -> Played:
    played.reset()
    return played


def test_start_leaves_a_clean_repository_on_main(learner: Played) -> None:
    assert learner.git("branch", "--show-current").strip() == "main"
    assert learner.git("status", "--porcelain") == ""
    assert learner.git("log", "--format=%s").splitlines() == ["Initial commit: mlmetrics 0.1.0"]
    assert learner.session.outputs["branch"] == "fix-recall"
    assert learner.git("config", "user.name").strip() == "Lab Learner"  # no global identity


def test_untouched_work_passes_no_task(learner: Played) -> None:
    report = learner.check()
    assert statuses(report) == dict.fromkeys(
        ["branch", "tests", "fix", "commit", "main-untouched"], "fail"
    )
    assert report.score == 0 and report.total == 10
    assert all(t.hint for t in report.tasks)
    assert "git switch -c fix-recall" in by_id(report)["branch"].hint


def run_hint_commands(learner: Played, hint: str) -> None:
    """Run the `git ...` commands a hint gives, in order, as the learner would paste them."""
    commands = re.findall(r"`git ([^`]+)`", hint)
    assert commands, hint
    for command in commands:
        learner.git(*shlex.split(command))


@pytest.mark.parametrize("branch_first", [False, True], ids=["no-branch", "branch-left-behind"])
def test_commit_on_main_is_caught_and_the_hint_repairs_it(
    learner: Played, branch_first: bool
) -> None:
    if branch_first:  # created the branch, but never switched to it
        learner.git("branch", "fix-recall")
    learner.fix_code()
    learner.add_test(REGRESSION_TEST)
    learner.git("commit", "-am", "Fix recall: divide by TP + FN, not TP + FP")
    report = learner.check()
    tasks = by_id(report)
    assert statuses(report) == {
        "branch": "fail", "tests": "pass", "fix": "pass", "commit": "fail",
        "main-untouched": "fail",
    }  # fmt: skip
    assert "on main, not on fix-recall" in tasks["commit"].message
    assert "main has 1 new commit" in tasks["main-untouched"].message
    start = learner.git("rev-parse", "--short=7", "refs/labrun/start").strip()
    hint = tasks["main-untouched"].hint
    assert f"git branch -f main {start}" in hint
    assert tasks["commit"].hint.endswith(hint.split(". ", 1)[1])  # the same repair
    run_hint_commands(learner, hint)
    assert learner.check().passed
    assert learner.git("rev-parse", "--short=7", "main").strip() == start


def test_merging_into_main_is_caught_and_the_hint_repairs_it(learner: Played) -> None:
    learner.git("switch", "-c", "fix-recall")
    learner.fix_code()
    learner.add_test(REGRESSION_TEST)
    learner.git("commit", "-am", "Fix recall: divide by TP + FN, not TP + FP")
    learner.git("switch", "main")
    learner.git("merge", "--quiet", "fix-recall")
    tasks = by_id(learner.check())
    assert tasks["main-untouched"].status == "fail"
    assert tasks["branch"].status == "fail"  # back on main
    run_hint_commands(learner, tasks["main-untouched"].hint)
    assert learner.check().passed


def test_fixed_but_not_committed(learner: Played) -> None:
    learner.git("switch", "-c", "fix-recall")
    learner.fix_code()
    learner.add_test(REGRESSION_TEST)
    report = learner.check()
    tasks = by_id(report)
    assert statuses(report) == {
        "branch": "pass", "tests": "pass", "fix": "pass", "commit": "fail",
        "main-untouched": "fail",
    }  # fmt: skip
    assert "nothing is committed on fix-recall" in tasks["commit"].message
    assert "git add" in tasks["commit"].hint and "git commit" in tasks["commit"].hint


def test_tests_that_pass_on_the_buggy_code(learner: Played) -> None:
    learner.git("switch", "-c", "fix-recall")
    learner.fix_code()
    learner.add_test(WEAK_TEST)
    learner.git("commit", "-am", "Fix recall and test it")
    report = learner.check()
    tasks = by_id(report)
    assert tasks["fix"].status == "pass"
    assert tasks["tests"].status == "fail"
    assert "pass against the original, buggy code" in tasks["tests"].message
    assert "test_recall_all_found" in tasks["tests"].message
    assert "0.25" in tasks["tests"].hint


def test_changing_the_tests_instead_of_the_code(learner: Played) -> None:
    learner.git("switch", "-c", "fix-recall")
    learner.add_test(TEST_MATCHING_THE_BUG)
    learner.git("commit", "-am", "Add a test for the bug report")
    report = learner.check()
    tasks = by_id(report)
    assert tasks["fix"].status == "fail"
    assert "recall is still wrong" in tasks["fix"].message
    assert "returned 1.0, expected 0.25" in tasks["fix"].message
    assert "unchanged" in tasks["fix"].hint and "Never change what a test expects" in (
        tasks["fix"].hint
    )
    assert tasks["tests"].status == "fail"
    assert report.score < 5


def test_a_failing_test_before_the_fix_earns_half(learner: Played) -> None:
    learner.git("switch", "-c", "fix-recall")
    learner.add_test(REGRESSION_TEST)
    tasks = by_id(learner.check())
    assert tasks["tests"].status == "partial" and tasks["tests"].earned == 1.5
    assert "fails against the buggy code" in tasks["tests"].message
    assert tasks["fix"].status == "fail"
    assert "Fix the code first" in tasks["commit"].hint


def test_two_failing_tests_before_the_fix_are_named_in_the_plural(learner: Played) -> None:
    learner.git("switch", "-c", "fix-recall")
    learner.add_test(REGRESSION_TEST + REGRESSION_TEST.replace("missed_frauds", "missed_ones"))
    message = by_id(learner.check())["tests"].message
    assert "test_recall_counts_missed_frauds" in message and "missed_ones" in message
    assert "fail against the buggy code" in message and " fails " not in message


def test_vague_message_and_leftovers_cost_part_of_commit(learner: Played) -> None:
    learner.git("switch", "-c", "fix-recall")
    learner.fix_code()
    learner.add_test(REGRESSION_TEST)
    learner.git("commit", "-am", "fix")
    (learner.workspace / "notes.txt").write_text("todo\n")
    commit = by_id(learner.check())["commit"]
    assert commit.status == "partial" and commit.earned == 0.5  # 2 points x (1 - 0.5 - 0.25)
    assert "notes.txt" in commit.message and "'fix'" in commit.message


def test_wrong_branch_name(learner: Played) -> None:
    learner.git("switch", "-c", "fix-f1")
    branch = by_id(learner.check())["branch"]
    assert branch.status == "fail"
    assert "git branch -m fix-f1 fix-recall" in branch.hint


def test_cli_loop_with_the_reference_solution(tmp_path: Path) -> None:
    lab = LabSession.start(
        "python-engineering", tmp_path / "home", env=GIT_ENV, labs_dir=REPO / "labs", timeout=120
    )
    try:
        assert lab.labrun("check", "--json").returncode == 1  # nothing done yet
        solved = subprocess.run(
            ["bash", str(SOLVE)], cwd=lab.workspace, env=lab.env,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert solved.returncode == 0, solved.stderr
        checked = lab.labrun("check", "--json")
        report = json.loads(checked.stdout)
        assert checked.returncode == 0, report
        assert report["score"] == report["total"] == 10
        assert {t["status"] for t in report["tasks"]} == {"pass"}
    finally:
        code, receipt = lab.stop()
    assert code == 0 and receipt["ok"], receipt
    assert receipt["remaining"] == [] and receipt["destroyed"] == ["terraform_data.repository"]
    assert (lab.workspace / "mlmetrics" / "classification.py").is_file()  # the work is not deleted
