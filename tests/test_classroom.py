"""The classroom: `labrun grade --upload`, report.html and `labrun class report`.

Real components: the CLI in child processes, the embedded Terraform, and a moto server
(in this process) standing in for the class's S3 bucket, reached through the learner's own
AWS settings (AWS_ENDPOINT_URL and keys in the CLI's environment).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from testing.cli import labrun, labrun_json
from testing.labsession import clean_env

TEST_LABS = Path(__file__).parent / "labs"
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
REPORTS = ["report.html", "report.json", "report.md", "report.xml"]


@dataclass
class Bucket:
    """An empty bucket of a class, and the learner's AWS settings that reach it."""

    name: str
    env: dict[str, str]

    @property
    def client(self) -> Any:
        return s3(self.env)


@pytest.fixture
def bucket() -> Iterator[Bucket]:
    """A moto server (its state is per process: a bucket name of this test's own)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "learner",
        "AWS_SECRET_ACCESS_KEY": "learner-secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    name = f"class-{uuid.uuid4().hex[:8]}"
    s3(env).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    try:
        yield Bucket(name, env)
    finally:
        server.stop()


def s3(env: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


class Learner:
    """One learner's laptop: their own LABRUN_HOME and owner, the CLI as they run it."""

    def __init__(self, home: Path, owner: str, aws: dict[str, str] | None = None) -> None:
        # After clean_env, which drops AWS_ENDPOINT_URL: here it is the learner's own setting.
        self.env = {**clean_env(home, owner), **(aws or {})}
        self.owner = owner

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "labrun", *args],
            env=self.env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    def start(self, lab: str = "grading-demo") -> dict[str, Any]:
        started = self.run("start", lab, "--labs-dir", str(TEST_LABS), "--json")
        assert started.returncode == 0, started.stderr
        document: dict[str, Any] = json.loads(started.stdout)
        return document

    def grade(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("grade", *args)


def solve(workspace: Path, session: str, *, all_tasks: bool) -> None:
    """The learner's work on grading-demo: everything, or only the greeting."""
    (workspace / "hello.txt").write_text("hello\n")
    if all_tasks:
        config = {"name": "demo", "port": 80, "replicas": 1, "image": "demo:1"}
        (workspace / "config.json").write_text(json.dumps(config))
        (workspace / f"deployed-{session}.txt").write_text("ok\n")
        (workspace / "report.json").write_text(json.dumps({"accuracy": 0.95}))


# --- grade --upload ------------------------------------------------------------------------


def test_grade_uploads_to_s3_and_the_class_report_aggregates_the_class(
    tmp_path: Path, bucket: Bucket
) -> None:
    alice = Learner(tmp_path / "alice", "alice", bucket.env)
    bob = Learner(tmp_path / "bob", "bob", bucket.env)
    url = f"s3://{bucket.name}/spring-2026"
    sessions = {}
    for learner, all_tasks in ((alice, True), (bob, False)):
        started = learner.start()
        sessions[learner.owner] = started["session"]
        solve(Path(started["workspace"]), started["session"], all_tasks=all_tasks)
        out = tmp_path / f"{learner.owner}-report"
        graded = learner.grade("--out", str(out), "--upload", url, "--json")
        assert graded.returncode == (0 if all_tasks else 1), graded.stderr
        document = json.loads(graded.stdout)
        prefix = f"spring-2026/{learner.owner}/grading-demo/{started['session']}/"
        assert document["upload"] == {
            "url": f"s3://{bucket.name}/{prefix}",
            "ok": True,
            "error": None,
        }
        listed = bucket.client.list_objects_v2(Bucket=bucket.name, Prefix=prefix)["Contents"]
        assert sorted(o["Key"].removeprefix(prefix) for o in listed) == REPORTS
        uploaded = bucket.client.get_object(Bucket=bucket.name, Key=prefix + "report.json")
        assert uploaded["Body"].read() == (out / "report.json").read_bytes()
        page = bucket.client.get_object(Bucket=bucket.name, Key=prefix + "report.html")
        assert page["ContentType"] == "text/html"
        assert document["owner"] == learner.owner and document["target"] == "local"
        assert document["duration_seconds"] >= 0 and document["cost"]["accrued_usd"] == 0

    # Things a shared bucket collects that are not reports: never fatal, always listed.
    put = bucket.client.put_object
    put(Bucket=bucket.name, Key="spring-2026/syllabus.pdf", Body=b"%PDF-1.4")
    put(Bucket=bucket.name, Key="spring-2026/eve/grading-demo/x1/report.json",
        Body=b'{"session": "x1", "score": ')  # fmt: skip
    put(Bucket=bucket.name, Key="spring-2026/mallory/other/report.json",
        Body=json.dumps({"tool": "someone else's"}).encode())  # fmt: skip

    teacher = Learner(tmp_path / "teacher", "teacher", bucket.env)
    out = tmp_path / "class" / "index.html"
    made = teacher.run("class", "report", url, "--out", str(out), "--json")
    assert made.returncode == 0, made.stderr
    data = json.loads(made.stdout)
    assert data["out"] == str(out) and out.is_file()
    assert data["counts"] == {
        "reports": 2, "learners": 2, "labs": 1, "passed": 1, "flagged_sessions": 0, "skipped": 3,
    }  # fmt: skip
    assert data["learners"] == ["alice", "bob"] and data["labs"] == ["grading-demo"]
    results = {r["owner"]: r for r in data["results"]}
    assert (results["alice"]["score"], results["alice"]["status"]) == (10, "passed")
    assert (results["bob"]["score"], results["bob"]["status"]) == (2, "incomplete")
    assert results["bob"]["session"] == sessions["bob"]
    shares = {t["task"]: (t["passed"], t["learners"], t["share"]) for t in data["tasks"]}
    assert shares == {
        "greeting": (2, 2, 1.0), "config": (1, 2, 0.5), "deploy": (1, 2, 0.5),
        "report": (1, 2, 0.5),
    }  # fmt: skip
    assert [t["task"] for t in data["tasks"]] == ["greeting", "config", "deploy", "report"]
    assert all(t["ok"] is True and not t["flagged"] for t in data["teardowns"])
    assert data["cost"]["class_usd"] == 0 and len(data["cost"]["per_learner"]) == 2
    hints = {(h["task"], h["hint"]): h["learners"] for h in data["failing_hints"]}
    assert hints == {("config", "config.json needs the keys name, port, replicas and image."): 1}
    skipped = {s["file"]: s["reason"] for s in data["skipped"]}
    assert skipped["syllabus.pdf"] == "not a labrun grade report"
    assert skipped["eve/grading-demo/x1/report.json"].startswith("not JSON")
    assert skipped["mallory/other/report.json"].startswith("not a labrun grade report: no")

    text = teacher.run("class", "report", url, "--out", str(out))
    assert text.returncode == 0, text.stderr
    assert "2 reports of 2 learners in 1 labs: 1 of 2 passed." in text.stdout
    assert "3 files skipped" in text.stdout and f"Class report: {out}" in text.stdout


def test_a_failed_upload_keeps_the_local_report_and_the_exit_code(
    tmp_path: Path, bucket: Bucket
) -> None:
    learner = Learner(tmp_path / "home", "carol", bucket.env)
    started = learner.start()
    solve(Path(started["workspace"]), started["session"], all_tasks=True)
    out = tmp_path / "report"
    graded = learner.grade("--out", str(out), "--upload", "s3://no-such-bucket/spring")
    assert graded.returncode == 0, graded.stderr  # every task passes: the upload is no verdict
    [line] = graded.stderr.strip().splitlines()[-1:]
    assert line.startswith(f"labrun: upload failed, the reports stay in {out}: ")
    assert "NoSuchBucket" in line and "learner-secret" not in graded.stderr
    assert sorted(p.name for p in out.iterdir()) == REPORTS
    assert "Score: 10/10 (100%)" in graded.stdout


def test_a_failed_folder_upload_is_reported_in_json_and_the_grade_stands(tmp_path: Path) -> None:
    learner = Learner(tmp_path / "home", "dave")
    started = learner.start()
    blocker = tmp_path / "share"
    blocker.write_text("a file where the shared folder should be\n")
    graded = learner.grade("--out", str(tmp_path / "out"), "--upload", str(blocker), "--json")
    assert graded.returncode == 1  # nothing solved: the grade's own exit code
    document = json.loads(graded.stdout)
    assert document["upload"]["ok"] is False and str(blocker) in document["upload"]["error"]
    assert document["session"] == started["session"] and document["score"] == 0
    assert len(graded.stderr.strip().splitlines()[-1:]) == 1


def test_grade_uploads_to_a_folder_and_writes_report_html(tmp_path: Path) -> None:
    learner = Learner(tmp_path / "home", "erin")
    started = learner.start()
    session = started["session"]
    solve(Path(started["workspace"]), session, all_tasks=False)
    share = tmp_path / "share" / "week-3"
    graded = learner.grade("--out", str(tmp_path / "out"), "--upload", str(share))
    assert graded.returncode == 1, graded.stderr
    folder = share / "erin" / "grading-demo" / session
    assert f"Uploaded to {share}/erin/grading-demo/{session}/" in graded.stdout
    assert sorted(p.name for p in folder.iterdir()) == REPORTS
    page = (folder / "report.html").read_text()
    assert page == (tmp_path / "out" / "report.html").read_text()
    assert f"Grade of session {session} (grading-demo)" in page and "2/10 (20%)" in page
    assert "<link" not in page and "<script" not in page and "http" not in page.split("<svg")[0]
    assert "Nothing of this session remains." in page


def test_a_bad_upload_url_is_refused_before_grading(tmp_path: Path) -> None:
    learner = Learner(tmp_path / "home", "frank")
    started = learner.start()
    refused = learner.grade("--upload", "https://example.org/drop")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "labrun: https://example.org/drop: https:// is not supported (use s3:// or a folder path)"
    )
    status = json.loads(learner.run("status", "--json").stdout)
    assert [s["session"] for s in status["sessions"]] == [started["session"]]  # not graded
    assert learner.run("stop", "--json").returncode == 0


# --- class report --------------------------------------------------------------------------


def test_class_report_of_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    missing = labrun("class", "report", str(tmp_path / "nowhere"))
    assert missing.returncode == 3
    assert missing.stderr.strip() == f"labrun: {tmp_path / 'nowhere'}: no such folder"
    error = labrun_json("class", "report", str(tmp_path / "nowhere"), expect=3)
    assert error["exit_code"] == 3


def test_class_report_refuses_a_bad_source_in_one_line(tmp_path: Path, bucket: Bucket) -> None:
    teacher = Learner(tmp_path / "teacher", "teacher", bucket.env)
    no_bucket = teacher.run("class", "report", "s3://")
    assert no_bucket.returncode == 2
    assert no_bucket.stderr.strip() == "labrun: s3://: name a bucket (s3://bucket/prefix)"
    missing = teacher.run("class", "report", "s3://no-such-class/spring")
    assert missing.returncode == 3
    [line] = missing.stderr.strip().splitlines()
    assert line.startswith("labrun: s3://no-such-class/spring: NoSuchBucket")
    empty = teacher.run("class", "report", f"s3://{bucket.name}/nobody", "--out",
                        str(tmp_path / "empty.html"), "--json")  # fmt: skip
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout)["counts"]["reports"] == 0
    assert "No grade report was found." in (tmp_path / "empty.html").read_text()


def test_class_report_keeps_each_learners_latest_session_and_flags_what_was_left(
    tmp_path: Path,
) -> None:
    """A synthetic class (the benchmark's maker, labrun's own report writer): a learner
    graded twice counts once, with the later session, and every session's cost counts."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from class_report import make_class  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(BENCHMARKS))
    make_class(tmp_path / "class", 50)
    odd = tmp_path / "class" / "odd" / "grading-demo"
    malformed = {
        "ids": {"tasks": [{"id": 1, "status": "pass"}]},
        "receipt": {"tasks": [], "teardown": {"ok": False, "remaining": 5}},
        "owner": {"tasks": [], "owner": ["not", "a", "name"]},
    }
    for name, fields in malformed.items():
        (odd / name).mkdir(parents=True)
        doc = {"session": name, "lab": "grading-demo", "score": 0, "total": 1, **fields}
        (odd / name / "report.json").write_text(json.dumps(doc))
    data = labrun_json("class", "report", str(tmp_path / "class"), "--out",
                       str(tmp_path / "c.html"))  # fmt: skip
    assert data["counts"]["reports"] == 50 and data["counts"]["learners"] == 10
    # README.txt, notes.json, a corrupt report.json, and the three malformed ones
    reasons = {s["file"]: s["reason"] for s in data["skipped"]}
    assert len(reasons) == 6
    assert reasons["odd/grading-demo/ids/report.json"].endswith("a task without 'id' and 'status'")
    assert reasons["odd/grading-demo/receipt/report.json"].endswith("a malformed 'teardown'")
    assert reasons["odd/grading-demo/owner/report.json"].endswith("not a string")
    assert len(data["results"]) == 50  # 10 learners x 5 labs, one session each
    flagged = [t for t in data["teardowns"] if t["flagged"]]
    assert data["teardowns"][: len(flagged)] == flagged  # flagged first
    assert all(t["remaining"] for t in flagged)
    left = {(r["owner"], r["lab"]) for r in data["results"] if r["status"] == "left-running"}
    assert left == {(t["owner"], t["lab"]) for t in flagged}
    per_learner = sum(r["accrued_usd"] for r in data["cost"]["per_learner"])
    assert data["cost"]["class_usd"] == pytest.approx(per_learner)

    # A second, later session of one learner's lab replaces the first in the table.
    first = data["results"][0]
    again = tmp_path / "class" / first["owner"] / first["lab"] / "zlater01"
    again.mkdir()
    doc = json.loads((tmp_path / "class" / first["file"]).read_text())
    doc.update(session="zlater01", graded_at="2026-03-03T10:00:00Z", passed=True)
    doc.update(score=doc["total"])
    (again / "report.json").write_text(json.dumps(doc))
    data = labrun_json("class", "report", str(tmp_path / "class"), "--out",
                       str(tmp_path / "c.html"))  # fmt: skip
    results = {(r["owner"], r["lab"]): r for r in data["results"]}
    latest = results[(first["owner"], first["lab"])]
    assert (latest["session"], latest["sessions"], latest["status"]) == ("zlater01", 2, "passed")
    assert data["counts"]["reports"] == 51 and len(data["results"]) == 50


def test_the_class_report_benchmark_prints_its_figures() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "class_report.py"), "--reports", "20", "--runs", "1",
         "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["reports"] == 20 and result["files"] == 20 * 4 + 3
    assert result["folder"]["counts"]["reports"] == 20
    assert set(result["folder"]["labrun"]) >= {"median", "min", "max", "samples"}
    assert result["verdict"] in ("PASS", "FAIL") and result["target_seconds"] == 2.0
