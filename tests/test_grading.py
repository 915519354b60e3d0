"""Grading end to end: the check table, JSON, JUnit and Markdown agree; history; grade;
the lab self-test and the scaffold; and the checker SDK's helpers.

Real components only: the CLI in a child process, the embedded Terraform, the moto server
labrun starts, the Docker engine, and junitparser as the JUnit consumer.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from junitparser import Error, Failure, JUnitXml, Properties, Skipped, TestCase, TestSuite

from labrun.checker import run_checks
from labrun.checks import (
    CheckFailed,
    container_health,
    container_mounts,
    container_networks,
    docker_env,
    docker_healthcheck,
    docker_user,
    http_get,
    image_size,
    paginate,
    published_port,
    wait_until,
)
from labrun.manifest import parse_manifest
from testing.cli import labrun, labrun_json
from testing.docker_images import ensure_busybox_image

# The graded fixture: greeting passes (2/2), config is partial (2 of 4 keys: 2/4), deploy
# is blocked (it needs config), report crashes (KeyError: error). 4 of 10 points.
EXPECTED = {
    "greeting": ("pass", 2, 2.0),
    "config": ("partial", 4, 2.0),
    "deploy": ("blocked", 3, 0.0),
    "report": ("error", 1, 0.0),
}
STEPS = ["start", "untouched", "solution", "solved", "stop"]
TEST_LABS = Path(__file__).parent / "labs"


def start(lab: str, labs: Path) -> dict[str, Any]:
    started = labrun_json("start", lab, "--labs-dir", str(labs))
    assert started["status"] == "active"
    return started


def mixed_work(workspace: Path) -> None:
    """The learner's work that earns partial credit, a blocked task and a crashing check."""
    (workspace / "hello.txt").write_text("hello world\n")
    (workspace / "config.json").write_text(json.dumps({"name": "demo", "port": 8000}))
    (workspace / "report.json").write_text(json.dumps({"f1": 0.9}))  # no accuracy: KeyError


def solved_work(workspace: Path) -> None:
    subprocess.run(
        [sys.executable, str(TEST_LABS / "grading-demo" / "solution" / "solve.py")],
        cwd=workspace,
        check=True,
        env={**os.environ, "LABRUN_SESSION": workspace.parent.name},  # sessions/<id>/workspace
    )


# --- one score, four formats ---------------------------------------------------------------


def test_one_grading_gives_the_same_score_in_table_json_junit_and_markdown(
    test_labs: Path, tmp_path: Path
) -> None:
    started = start("grading-demo", test_labs)
    mixed_work(Path(started["workspace"]))

    table = labrun("check")
    assert table.returncode == 1, table.stderr
    assert "Score: 4/10 (40%)" in table.stdout
    for task_id, (status, points, earned) in EXPECTED.items():
        row = rf"{task_id}\s*│\s*{status}\s*│\s*{earned:g}/{points}\b"
        assert re.search(row, table.stdout), (task_id, table.stdout)

    junit = tmp_path / "junit" / "check.xml"
    report = labrun_json("check", "--junit", str(junit), expect=1)
    assert (report["score"], report["total"]) == (4.0, 10)
    assert {t["id"]: (t["status"], t["points"], t["earned"]) for t in report["tasks"]} == EXPECTED
    by_id = {t["id"]: t for t in report["tasks"]}
    assert by_id["config"]["message"] == "2 of 4 keys present"
    assert by_id["config"]["hint"] == "Add replicas, image."  # the dynamic hint
    assert by_id["deploy"]["message"] == "blocked: needs config to pass first"
    assert "KeyError" in by_id["report"]["message"]
    assert_junit(junit, report)

    out = tmp_path / "grade"
    graded = labrun("grade", "--out", str(out))
    assert graded.returncode == 1, graded.stderr  # not every task passes
    assert "Score: 4/10 (40%)" in graded.stdout
    assert "nothing of this session remains" in graded.stdout
    document = json.loads((out / "report.json").read_text())
    assert (document["score"], document["total"], document["percent"]) == (4.0, 10, 40.0)
    assert document["tasks"] == report["tasks"]
    assert document["passed"] is False and document["ok"] is False
    assert document["teardown"]["ok"] is True and document["kept"] is False
    assert_junit(out / "report.xml", report)
    assert_markdown((out / "report.md").read_text(), started["session"])
    assert labrun_json("status")["sessions"] == []


def assert_junit(path: Path, report: dict[str, Any]) -> None:
    """Read the file back with junitparser, as a CI system would."""
    xml = JUnitXml.fromfile(str(path))
    suites = list(xml) if isinstance(xml, JUnitXml) else [xml]
    assert len(suites) == 1
    suite: TestSuite = suites[0]
    assert suite.name == "grading-demo"
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (4, 1, 1, 1)
    suite_props = {p.name: p.value for p in suite.properties()}
    assert suite_props["score"] == "4" and suite_props["total"] == "10"
    assert suite_props["percent"] == "40" and suite_props["session"] == report["session"]
    cases: dict[str, TestCase] = {case.name: case for case in suite}
    assert list(cases) == list(EXPECTED)
    earned = 0.0
    for task_id, (status, points, task_earned) in EXPECTED.items():
        props = case_properties(cases[task_id])
        assert props["status"] == status
        assert (props["points"], props["earned"]) == (str(points), f"{task_earned:g}")
        earned += float(props["earned"])
    assert earned == report["score"]
    assert cases["greeting"].is_passed
    [partial] = cases["config"].result
    assert isinstance(partial, Failure)
    assert (partial.type, partial.message) == ("partial", "2 of 4 keys present")
    assert "hint: Add replicas, image." in (partial.text or "")
    [blocked] = cases["deploy"].result
    assert isinstance(blocked, Skipped) and blocked.message == "blocked: needs config to pass first"
    [crashed] = cases["report"].result
    assert isinstance(crashed, Error) and "KeyError" in (crashed.message or "")


def case_properties(case: TestCase) -> dict[str, str]:
    properties = case.child(Properties)
    assert properties is not None
    return {p.name: p.value for p in properties}


def assert_markdown(text: str, session: str) -> None:
    assert text.startswith(f"# Grade of session {session} (grading-demo)")
    assert "**Score: 4/10 (40%)**" in text
    for task_id, (status, points, earned) in EXPECTED.items():
        assert f"| {task_id} | {status} | {earned:g}/{points} |" in text
    assert "| config | partial | 2/4 | 2 of 4 keys present | Add replicas, image. |" in text
    assert "**Nothing of this session remains.**" in text
    assert "- destroyed by Terraform: `terraform_data.marker`" in text


# --- history -------------------------------------------------------------------------------


def test_history_lists_the_attempts_with_their_scores(test_labs: Path) -> None:
    started = start("grading-demo", test_labs)
    session = started["session"]
    assert labrun_json("check", "--history") == {"session": session, "attempts": []}
    assert "has not been checked yet" in labrun("check", "--history").stdout
    labrun_json("check", expect=1)
    solved_work(Path(started["workspace"]))
    labrun_json("check")

    history = labrun_json("check", "--history")
    attempts = history["attempts"]
    assert [(a["attempt"], a["score"], a["total"]) for a in attempts] == [(1, 0, 10), (2, 10, 10)]
    assert [a["passed"] for a in attempts] == [False, True]
    assert [a["percent"] for a in attempts] == [0, 100]
    assert attempts[0]["statuses"] == {"fail": 3, "blocked": 1}
    assert [t["status"] for t in attempts[1]["tasks"]] == ["pass"] * 4
    text = labrun("check", "--history")
    assert text.returncode == 0
    assert "10/10 (100%)" in text.stdout and "Best: attempt 2, 10/10." in text.stdout

    refused = labrun("check", "--history", "--junit", "x.xml")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert labrun_json("stop")["ok"] is True
    # The history of an ended session is still there, by its id.
    assert len(labrun_json("check", session, "--history")["attempts"]) == 2


# --- grade ---------------------------------------------------------------------------------


def test_grade_keep_leaves_the_session_running_and_grade_tears_it_down(
    test_labs: Path, tmp_path: Path
) -> None:
    started = start("grading-demo", test_labs)
    session = started["session"]
    solved_work(Path(started["workspace"]))

    kept = labrun_json("grade", "--keep", "--out", str(tmp_path / "kept"))
    assert (kept["score"], kept["total"], kept["passed"], kept["ok"]) == (10, 10, True, True)
    assert kept["kept"] is True and kept["teardown"] is None
    assert sorted(Path(f).name for f in kept["files"]) == [
        "report.html", "report.json", "report.md", "report.xml",
    ]  # fmt: skip
    assert "kept running (`--keep`)" in (tmp_path / "kept" / "report.md").read_text()
    assert [s["session"] for s in labrun_json("status")["sessions"]] == [session]

    final = labrun_json("grade", "--out", str(tmp_path / "final"))
    assert final["ok"] is True and final["teardown"]["ok"] is True
    assert final["teardown"]["destroyed"] == ["terraform_data.marker"]
    assert json.loads((tmp_path / "final" / "report.json").read_text())["ok"] is True
    xml = JUnitXml.fromfile(str(tmp_path / "final" / "report.xml"))
    [suite] = list(xml)
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (4, 0, 0, 0)
    assert labrun_json("status")["sessions"] == []
    assert labrun_json("status", "--all")["sessions"][0]["status"] == "ended"
    again = labrun("grade", session)
    assert again.returncode == 2 and "only an active session is checked" in again.stderr


# --- lab test ------------------------------------------------------------------------------


def test_lab_test_passes_a_good_lab(test_labs: Path) -> None:
    result = labrun_json("lab", "test", "grading-demo", "--labs-dir", str(test_labs))
    assert result["ok"] is True and result["lab"] == "grading-demo"
    assert [(s["step"], s["status"]) for s in result["steps"]] == [(n, "ok") for n in STEPS]
    untouched, solution, solved = result["steps"][1:4]
    assert untouched["broken"] == [] and untouched["crashed"] == []
    assert [t["status"] for t in untouched["check"]["tasks"]] == ["fail", "fail", "blocked", "fail"]
    assert solution["exit_code"] == 0 and solution["script"].endswith("solution/solve.py")
    assert solved["check"]["score"] == 10
    assert result["steps"][4]["receipt"]["ok"] is True
    assert labrun_json("status")["sessions"] == []  # stopped


def test_lab_test_runs_the_solution_in_the_sessions_cloud(test_labs: Path, tmp_path: Path) -> None:
    labs = tmp_path / "labs"
    shutil.copytree(test_labs / "s3-hello", labs / "s3-hello")
    (labs / "s3-hello" / "solution").mkdir()
    (labs / "s3-hello" / "solution" / "solve.py").write_text(
        textwrap.dedent("""
            import os
            from pathlib import Path

            import boto3  # reaches the local cloud through AWS_ENDPOINT_URL, like a learner

            bucket = "hello-" + os.environ["LABRUN_SESSION"]
            body = Path("hello.txt").read_bytes()
            boto3.client("s3").put_object(Bucket=bucket, Key="hello.txt", Body=body)
        """)
    )  # fmt: skip
    result = labrun_json("lab", "test", "s3-hello", "--labs-dir", str(labs))
    assert result["ok"] is True, result
    assert [t["status"] for t in result["steps"][1]["check"]["tasks"]] == ["fail", "blocked"]
    assert result["steps"][4]["receipt"]["destroyed"] == ["terraform_data.bucket"]
    assert labrun_json("cloud", "status")["running"] is False  # the emulator stopped too


def test_lab_test_catches_a_checker_that_passes_untouched_work(test_labs: Path) -> None:
    proc = labrun("lab", "test", "broken-checker", "--labs-dir", str(test_labs))
    assert proc.returncode == 1, proc.stderr
    assert "the checker passes untouched work: notes (pass, 1/1), sections (partial, 1/2)" in (
        proc.stdout
    )
    assert "read-me" not in proc.stdout  # no points: it may pass untouched work
    assert "failed its test: untouched" in proc.stdout

    result = labrun_json("lab", "test", "broken-checker", "--labs-dir", str(test_labs), expect=1)
    statuses = {s["step"]: s["status"] for s in result["steps"]}
    assert statuses == {"start": "ok", "untouched": "failed", "solution": "ok", "solved": "ok",
                        "stop": "ok"}  # fmt: skip
    assert result["steps"][1]["broken"] == ["notes", "sections"]
    assert labrun_json("status")["sessions"] == []  # stopped all the same


def test_lab_test_fails_when_the_solution_fails_or_falls_short(
    test_labs: Path, tmp_path: Path
) -> None:
    labs = tmp_path / "labs"
    shutil.copytree(test_labs / "grading-demo", labs / "grading-demo")
    solution = labs / "grading-demo" / "solution" / "solve.py"
    short = solution.read_text().replace('Path("report.json")', 'Path("other.json")')
    solution.write_text(short + "print('forgot the report')\nraise SystemExit(3)\n")

    result = labrun_json("lab", "test", str(labs / "grading-demo"), expect=1)
    steps = {s["step"]: s for s in result["steps"]}
    assert steps["solution"]["status"] == "failed" and steps["solution"]["exit_code"] == 3
    assert steps["solution"]["message"] == "solution/solve.py exited 3: forgot the report"
    assert steps["solved"]["status"] == "failed"
    assert (
        "scores 9/10 (90%), not 100%: report (fail: report.json is missing)"
        in (steps["solved"]["message"])
    )
    assert steps["stop"]["status"] == "ok"
    assert labrun_json("status")["sessions"] == []


def test_lab_test_kills_a_solution_that_runs_too_long(test_labs: Path, tmp_path: Path) -> None:
    labs = tmp_path / "labs"
    shutil.copytree(test_labs / "grading-demo", labs / "grading-demo")
    (labs / "grading-demo" / "solution" / "solve.py").write_text("import time\ntime.sleep(60)\n")
    began = time.monotonic()
    result = labrun_json("lab", "test", str(labs / "grading-demo"), "--solution-timeout", "1s",
                         expect=1)  # fmt: skip
    assert time.monotonic() - began < 30
    solution = result["steps"][2]
    assert solution["status"] == "failed" and solution["exit_code"] is None
    assert "still ran after 1 s: killed" in solution["message"]
    assert result["steps"][4]["status"] == "ok"


def test_lab_test_refuses_a_lab_without_a_solution_and_bad_options(test_labs: Path) -> None:
    for args, message in [
        (["s3-hello", "--labs-dir", str(test_labs)], "has no reference solution"),
        (["grading-demo", "--labs-dir", str(test_labs), "--solution-timeout", "soon"],
         "--solution-timeout: 'soon' is not a duration"),
        (["no-such-lab"], "no lab called 'no-such-lab'"),
    ]:  # fmt: skip
        proc = labrun("lab", "test", *args)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert labrun_json("status", "--all")["sessions"] == []  # nothing was started


# --- lab new -------------------------------------------------------------------------------


def test_lab_new_makes_a_lab_that_passes_lab_test(tmp_path: Path) -> None:
    made = labrun_json("lab", "new", "first-lab", "--dir", str(tmp_path))
    lab_dir = tmp_path / "first-lab"
    assert made["path"] == str(lab_dir)
    parts = {str(Path(f).relative_to(lab_dir)) for f in made["files"]}
    assert parts == {"lab.toml", "README.md", "terraform/main.tf", "check.py",
                     "files/greeting.txt", "solution/solve.sh"}  # fmt: skip
    readme = (lab_dir / "README.md").read_text()
    for heading in ("## Goal", "## Tasks", "## Check your work", "## Clean up"):
        assert heading in readme
    assert "var.labrun_tags" in (lab_dir / "terraform" / "main.tf").read_text()

    result = labrun_json("lab", "test", str(lab_dir))
    assert result["ok"] is True, result
    listed = labrun_json("list", "--labs-dir", str(tmp_path))
    assert "first-lab" in [lab["id"] for lab in listed["labs"]]
    assert not [line for line in listed["broken"] if "first-lab" in line]

    text = labrun("lab", "new", "second-lab", "--dir", str(tmp_path))
    assert text.returncode == 0 and f"labrun lab test {tmp_path / 'second-lab'}" in text.stdout
    for name, message in [("first-lab", "already exists"), ("First_Lab", "is not a lab id")]:
        proc = labrun("lab", "new", name, "--dir", str(tmp_path))
        assert proc.returncode == 2 and message in proc.stderr


def test_help_teaches_with_examples() -> None:
    for command in (["check"], ["grade"], ["lab"], ["lab", "test"], ["lab", "new"]):
        proc = labrun(*command, "--help")
        assert proc.returncode == 0 and "Examples:" in proc.stdout, command


# --- the checker SDK's helpers -------------------------------------------------------------


def test_importing_the_sdk_stays_light_and_exports_the_helpers() -> None:
    code = (
        "import sys, labrun.checks as c; "
        "print(sorted(m for m in ('urllib.request', 'boto3', 'docker', 'labrun.checks.helpers')"
        " if m in sys.modules)); print(c.wait_until.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[]", "labrun.checks.helpers"]
    from labrun import checks

    with pytest.raises(AttributeError, match="no_such_helper"):
        _ = checks.no_such_helper  # type: ignore[attr-defined]


def test_wait_until_returns_the_first_truthy_value() -> None:
    calls: list[int] = []

    def third_time() -> str | None:
        calls.append(1)
        if len(calls) < 3:
            raise CheckFailed("not yet")
        return "ready"

    assert wait_until(third_time, timeout=5, interval=0.01) == "ready"
    assert len(calls) == 3


def test_wait_until_times_out_with_its_message() -> None:
    began = time.monotonic()
    with pytest.raises(CheckFailed) as caught:
        wait_until(lambda: False, timeout=0.5, interval=0.1, message="the queue is still empty",
                   hint="send a message")  # fmt: skip
    elapsed = time.monotonic() - began
    assert 0.5 <= elapsed < 2
    assert (caught.value.message, caught.value.hint) == (
        "the queue is still empty",
        "send a message",
    )

    def never() -> None:
        raise CheckFailed("the model is not registered", hint="run train.py")

    with pytest.raises(CheckFailed) as last:  # no message: the predicate's last one
        wait_until(never, timeout=0.2, interval=0.05)
    assert (last.value.message, last.value.hint) == ("the model is not registered", "run train.py")
    with pytest.raises(CheckFailed, match=r"still not true after 0\.2 s"):
        wait_until(lambda: 0, timeout=0.2, interval=0.05)
    with pytest.raises(ZeroDivisionError):  # a bug in the check is not retried
        wait_until(lambda: 1 / 0, timeout=5)


def test_a_wait_until_deadline_fails_the_task_in_the_real_runner(tmp_path: Path) -> None:
    lab_dir = tmp_path / "demo"
    lab_dir.mkdir()
    (lab_dir / "check.py").write_text(textwrap.dedent("""
        from pathlib import Path
        from labrun.checks import task, wait_until

        @task("eventually")
        def eventually(ctx):
            wait_until(Path("done").exists, timeout=0.3, interval=0.1, message="no done file")
    """))  # fmt: skip
    manifest = parse_manifest(
        {"id": "demo", "title": "D", "summary": "S", "tasks": [{"id": "eventually", "title": "E"}]},
        lab_dir / "lab.toml",
    )
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    context = {"session": "s1", "lab": "demo", "workspace": str(workspace)}
    [result] = run_checks(lab_dir, manifest, context, log_path=tmp_path / "check.log")
    assert (result.status, result.message) == ("fail", "no done file")


def test_paginate_collects_every_page_from_the_local_cloud() -> None:
    from labrun import localcloud

    endpoint = localcloud.ensure_running().endpoint
    s3 = boto3.client("s3", **client_settings(endpoint))
    bucket = "paginate-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "ml"}]})
    keys = [f"data/part-{n:02d}.csv" for n in range(7)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")

    first_page = s3.list_objects_v2(Bucket=bucket, MaxKeys=3)["Contents"]
    assert len(first_page) == 3  # what a check that forgets the other pages would see
    every = paginate(s3, "list_objects_v2", "Contents", Bucket=bucket,
                     PaginationConfig={"PageSize": 3})  # fmt: skip
    assert [o["Key"] for o in every] == keys
    assert paginate(s3, "list_objects_v2", "Contents", Bucket=bucket, Prefix="none/") == []
    # An operation without a paginator is called once.
    assert paginate(s3, "get_bucket_tagging", "TagSet", Bucket=bucket) == [
        {"Key": "team", "Value": "ml"}
    ]


def client_settings(endpoint: str | None) -> dict[str, Any]:
    return {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


@pytest.fixture
def web(docker_client: Any) -> Iterator[Any]:
    """A busybox httpd container serving /www on a port published on 127.0.0.1."""
    image = ensure_busybox_image(docker_client)
    volume = "lrt-grading-" + uuid.uuid4().hex[:8]
    network = docker_client.networks.create(volume, labels={"labrun.test": "1"})
    container = docker_client.containers.create(
        image,
        ["httpd", "-f", "-p", "8000", "-h", "/www"],
        ports={"8000/tcp": ("127.0.0.1", None)},
        environment={"GREETING": "hi"},
        user="1000",
        volumes={volume: {"bind": "/data", "mode": "rw"}},
        network=network.name,
        healthcheck={"test": ["CMD", "true"], "interval": 200_000_000, "retries": 1},
        labels={"labrun.test": "1"},
    )
    try:
        container.put_archive("/www", tar_with("index.html", b"hello from busybox\n"))
        container.start()
        yield container
    finally:
        container.remove(force=True)
        network.remove()
        docker_client.volumes.get(volume).remove(force=True)


def tar_with(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(content), 0o644
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.mark.docker
def test_http_get_reaches_a_containers_published_port(docker_client: Any, web: Any) -> None:
    port = published_port(web, 8000)
    wait_until(lambda: http_get(web, 8000).status == 200, timeout=15, interval=0.2)
    answer = http_get(web, 8000, path="/index.html")
    assert (answer.status, answer.text) == (200, "hello from busybox\n")
    assert answer.url == f"http://127.0.0.1:{port}/index.html"
    assert http_get(f"http://127.0.0.1:{port}/index.html").body == b"hello from busybox\n"
    assert http_get(web, "8000/tcp", path="missing").status == 404  # any status comes back
    with pytest.raises(CheckFailed, match="did not answer JSON"):
        answer.json()
    with pytest.raises(CheckFailed, match="does not publish port 9000/tcp"):
        http_get(web, 9000)
    with pytest.raises(TypeError):
        http_get(web)
    web.stop(timeout=1)
    with pytest.raises(CheckFailed, match=f"GET http://127.0.0.1:{port}/: no answer"):
        http_get(f"http://127.0.0.1:{port}/", timeout=2)


@pytest.mark.docker
def test_docker_inspection_helpers(docker_client: Any, web: Any) -> None:
    image = docker_client.images.get(ensure_busybox_image(docker_client))
    assert image_size(image) > 100_000  # busybox alone is about 1 MB
    assert docker_user(image) == ""  # root
    assert docker_healthcheck(image) is None
    assert docker_user(web) == "1000"
    assert docker_env(web)["GREETING"] == "hi"
    assert docker_healthcheck(web) == ["CMD", "true"]
    assert wait_until(lambda: container_health(web) == "healthy", timeout=15, interval=0.2)
    [mount] = container_mounts(web)
    assert (mount["Type"], mount["Destination"]) == ("volume", "/data")
    assert container_networks(web) == [mount["Name"]]  # the fixture named both alike
    plain = docker_client.containers.create(image.tags[0], ["sleep", "30"])
    try:
        assert container_health(plain) is None and container_networks(plain) == ["bridge"]
    finally:
        plain.remove(force=True)
