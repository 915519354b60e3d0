"""The cloud-logs lab, played like a learner: a real session on the local cloud (moto server).

One session serves every scenario: `labrun start` and `labrun stop` run as a learner runs
them (the CLI, --json), the scenarios' checks through the Python API (faster), and the
reference solution's check through the CLI again. The learner only reads the cloud, so each
scenario just writes its own failed-run.txt. The stop receipt must say that nothing remains.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import types
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from testing.labsession import LabSession, by_id, statuses

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "cloud-logs"
SOLVE = LAB_DIR / "solution" / "solve.py"
TASKS = ["runs", "run-id", "error"]


def load_seed() -> types.ModuleType:
    """The lab's terraform/seed.py (its run generator), without writing __pycache__ there."""
    path = LAB_DIR / "terraform" / "seed.py"
    module = types.ModuleType("cloud_logs_seed_under_test")
    sys.modules[module.__name__] = module
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return module


SEED = load_seed()


class Played(LabSession):
    """The lab's session, and what a learner does in it."""

    @cached_property
    def runs(self) -> list[Any]:
        return SEED.runs(self.session.id)

    @cached_property
    def failed(self) -> Any:
        return next(r for r in self.runs if r.status == "failed")

    @cached_property
    def recovered(self) -> Any:
        return next(
            r
            for r in self.runs
            if r.status == "succeeded" and any("ERROR" in m for _, m in r.lines)
        )

    def answer(self, text: str) -> None:
        (self.workspace / "failed-run.txt").write_text(text)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    home = tmp_path_factory.mktemp("labrun-home")
    played = Played.start("cloud-logs", home, owner="test-owner")
    try:
        yield played
    finally:
        code, receipt = played.stop()
        assert code == 0 and receipt["ok"], receipt
        assert receipt["destroyed"] == ["terraform_data.batch_logs"]
        assert receipt["remaining"] == receipt["swept"] == receipt["unowned"] == []


@pytest.fixture
def learner(played: Played, monkeypatch: pytest.MonkeyPatch) -> Played:
    monkeypatch.setenv("LABRUN_HOME", str(played.home))  # conftest gave this test another one
    starter = (LAB_DIR / "files" / "failed-run.txt").read_text()
    played.answer(starter)
    return played


def test_start_seeds_one_tagged_stream_per_run(learner: Played) -> None:
    group = learner.outputs["log_group"]
    assert group == f"/mlops/nightly-churn-scoring-{learner.session.id}"
    logs = learner.client("logs")
    streams = [
        s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
    ]
    assert sorted(streams) == sorted(r.id for r in learner.runs)
    assert 7 <= len(streams) <= 9
    tags = logs.list_tags_log_group(logGroupName=group)["tags"]
    assert tags["labrun:session"] == learner.session.id and tags["labrun:owner"] == "test-owner"
    endings = logs.filter_log_events(logGroupName=group, filterPattern='"status=failed"')["events"]
    assert [e["logStreamName"] for e in endings] == [learner.failed.id]
    errors = logs.filter_log_events(logGroupName=group, filterPattern="ERROR")["events"]
    assert {e["logStreamName"] for e in errors} == {learner.failed.id, learner.recovered.id}
    assert (learner.workspace / "find_failed_run.py").is_file()


def test_other_sessions_get_other_answers() -> None:
    answers = {SEED.failed_run(s).error for s in ("aaaa1111", "bbbb2222", "cccc3333")}
    assert len(answers) == 3
    assert SEED.runs("aaaa1111")[0].lines == SEED.runs("aaaa1111")[0].lines  # deterministic


def test_the_readme_start_runs_in_labrun_shell_with_no_value_copied(learner: Played) -> None:
    """ "Before you start" as the README gives it: `labrun shell`, then $LAB_LOG_GROUP."""
    script = f'{shlex.quote(sys.executable)} find_failed_run.py "$LOG_GROUP"'
    commands = f'LOG_GROUP="$LAB_LOG_GROUP"\n{script}\n'
    shell = subprocess.run(
        [sys.executable, "-m", "labrun", "shell"], input=commands, capture_output=True,
        text=True, env={**learner.cli_env, "SHELL": "/bin/sh"}, timeout=120, check=False,
    )  # fmt: skip
    assert shell.returncode == 0, shell.stderr
    assert f"{len(learner.runs)} runs:" in shell.stdout


def test_hints_lead_from_a_nudge_to_the_command(learner: Played) -> None:
    levels = [json.loads(learner.labrun("hint", "run-id", "--json").stdout) for _ in range(3)]
    assert [level["level"] for level in levels][-1] == levels[-1]["levels"] == 2
    nudge, command = levels[-1]["hints"]
    assert "run finished status=" in nudge and "filter-log-events" not in nudge
    assert 'filter-log-events --log-group-name "$LAB_LOG_GROUP"' in command


def test_untouched_work_passes_no_task(learner: Played) -> None:
    code, cli_report = learner.cli_check()
    assert code == 1 and cli_report["score"] == 0
    report = learner.check()
    assert statuses(report) == dict.fromkeys(TASKS, "fail")
    assert report.score == 0 and report.total == 6
    assert all(t.hint for t in report.tasks)
    assert "has no run_id yet" in by_id(report)["run-id"].message


def test_reference_solution_scores_full(learner: Played) -> None:
    solved = subprocess.run(
        [sys.executable, str(SOLVE), learner.outputs["log_group"]],
        cwd=learner.workspace, env=learner.env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert solved.returncode == 0, solved.stderr
    code, report = learner.cli_check()
    assert code == 0 and report["score"] == report["total"] == 6, report


def test_the_run_that_recovered_from_an_error_is_not_the_failed_one(learner: Played) -> None:
    error_line = next(m for _, m in learner.recovered.lines if m.startswith("ERROR"))
    learner.answer(
        f"runs: {len(learner.runs)}\nrun_id: {learner.recovered.id}\nerror: {error_line}\n"
    )
    report = learner.check()
    tasks = by_id(report)
    assert statuses(report) == {"runs": "pass", "run-id": "fail", "error": "fail"}
    assert "logged an ERROR, but it did not fail" in tasks["run-id"].message
    assert "status=failed" in tasks["run-id"].hint
    assert "another run, which retried and succeeded" in tasks["error"].message


def test_a_run_that_succeeded(learner: Played) -> None:
    last_night = learner.runs[-1]
    learner.answer(f"run_id: {last_night.id}\n")
    run_id = by_id(learner.check())["run-id"]
    assert run_id.status == "fail"
    assert f"run {last_night.id} did not fail" in run_id.message
    assert "filter-log-events" in run_id.hint


def test_an_id_that_is_no_run(learner: Played) -> None:
    learner.answer("run_id: nightly-churn-scoring\n")
    run_id = by_id(learner.check())["run-id"]
    assert run_id.status == "fail" and "no run of the job has the id" in run_id.message


def test_the_id_without_the_error_earns_the_id(learner: Played) -> None:
    learner.answer(f"runs: {len(learner.runs)}\nrun_id: {learner.failed.id}\nerror:\n")
    report = learner.check()
    assert statuses(report) == {"runs": "pass", "run-id": "pass", "error": "fail"}
    assert report.score == 4
    assert "has no error yet" in by_id(report)["error"].message


def test_part_of_the_error_earns_part(learner: Played) -> None:
    learner.answer(f"run_id: {learner.failed.id}\nerror: ValueError\n")
    error = by_id(learner.check())["error"]
    assert error.status == "partial" and error.earned == pytest.approx(2 * 0.33)
    assert "1 of 3" in error.message and "whole message" in error.hint


def test_the_status_line_is_not_the_error(learner: Played) -> None:
    status_line = learner.failed.lines[-1][1]
    learner.answer(f"run_id: {learner.failed.id}\nerror: {status_line}\n")
    error = by_id(learner.check())["error"]
    assert error.status == "fail" and "says that the run failed, not why" in error.message


def test_the_whole_log_line_or_other_quotes_are_fine(learner: Played) -> None:
    pasted = "2026-11-20T02:00:31Z ERROR " + learner.failed.error.replace("'", '"')
    learner.answer(
        f'run_id = "{learner.failed.id}"\nerror = {pasted}\nRuns = {len(learner.runs)}\n'
    )
    report = learner.check()
    assert report.passed, report.to_json()


def test_wrong_count_and_missing_file(learner: Played) -> None:
    learner.answer(f"runs: {len(learner.runs) + 1}\n")
    runs = by_id(learner.check())["runs"]
    assert runs.status == "fail" and "describe-log-streams" in runs.hint
    (learner.workspace / "failed-run.txt").unlink()
    report = learner.check()
    assert statuses(report) == dict.fromkeys(TASKS, "fail")
    assert all("there is no failed-run.txt" in t.message for t in report.tasks)


def test_destroy_succeeds_when_the_log_group_is_already_gone(learner: Played) -> None:
    env = {**learner.env, "LAB_SESSION": learner.session.id, "LAB_LOG_GROUP": "/mlops/gone"}
    seed = LAB_DIR / "terraform" / "seed.py"
    done = subprocess.run([sys.executable, str(seed), "destroy"], env=env, timeout=60, check=False)
    assert done.returncode == 0
