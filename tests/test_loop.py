"""The whole loop through the real CLI: start, env, check, the learner's work, check, stop.

Real components only: the embedded Terraform, the moto server labrun starts, the Docker
engine. The test labs live in tests/labs and use Terraform's builtin terraform_data.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from testing.cli import labrun, labrun_json

START_KEYS = {"session", "lab", "target", "status", "expires_at", "outputs", "workspace", "env"}


def start(lab: str, labs: Path, *extra: str) -> dict[str, Any]:
    data = labrun_json("start", lab, "--labs-dir", str(labs), *extra)
    assert set(data) >= START_KEYS
    assert data["status"] == "active"
    return data


def s3_for(env: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def test_the_whole_loop_leaves_nothing(test_labs: Path) -> None:
    started = start("s3-hello", test_labs)
    session, env = started["session"], started["env"]
    assert started["lab"] == "s3-hello" and started["target"] == "local"
    assert started["outputs"] == {"bucket": f"hello-{session}"}
    assert (Path(started["workspace"]) / "hello.txt").read_text() == "hello world\n"
    assert env["LABRUN_SESSION"] == session
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")

    # `labrun env`: the same mapping and the outputs and tags, as export lines and as JSON.
    assert labrun_json("env").items() >= env.items()
    exports = labrun("env").stdout.splitlines()
    assert f"export LABRUN_SESSION={session}" in exports
    assert f"export AWS_ENDPOINT_URL={env['AWS_ENDPOINT_URL']}" in exports

    # Untouched work fails, with the static hint and the blocked dependent task.
    failed = labrun_json("check", expect=1)
    assert failed["session"] == session and (failed["score"], failed["total"]) == (0, 3)
    upload, content = failed["tasks"]
    assert set(upload) == {
        "id", "title", "status", "points", "earned", "message", "hint", "more_hints"
    }  # fmt: skip
    assert (upload["status"], upload["earned"]) == ("fail", 0)
    assert "aws s3 cp" in upload["hint"]
    assert content["status"] == "blocked"

    # The learner's work, in the session's cloud and nowhere else.
    s3 = s3_for(env)
    s3.upload_file(str(Path(started["workspace"]) / "hello.txt"), f"hello-{session}", "hello.txt")
    passed = labrun_json("check")
    assert (passed["score"], passed["total"]) == (3, 3)
    assert [t["status"] for t in passed["tasks"]] == ["pass", "pass"]
    table = labrun("check")
    assert table.returncode == 0 and "Score: 3/3 (100%)" in table.stdout

    status = labrun_json("status")["sessions"]
    assert [s["session"] for s in status] == [session]
    assert set(status[0]) >= START_KEYS and status[0]["resources"] == ["terraform_data.bucket"]

    receipt = labrun_json("stop")
    assert receipt["ok"] is True and receipt["remaining"] == [] and receipt["errors"] == []
    assert receipt["destroyed"] == ["terraform_data.bucket"]
    assert receipt["checked"] == ["terraform-state", "aws-marks"] and receipt["swept"] == []
    # No session left: the emulator itself is stopped too.
    assert labrun_json("cloud", "status")["running"] is False
    assert labrun_json("status")["sessions"] == []
    assert labrun_json("status", "--all")["sessions"][0]["status"] == "ended"
    again = labrun("stop", session)
    assert again.returncode == 0 and "already ended" in again.stdout


def test_two_sessions_at_once_share_one_cloud_and_need_naming(test_labs: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda _: start("s3-hello", test_labs, "--new"), range(2)))
    first, second = (s["session"] for s in both)
    assert first != second
    assert both[0]["env"]["AWS_ENDPOINT_URL"] == both[1]["env"]["AWS_ENDPOINT_URL"]

    ambiguous = labrun("check")
    assert ambiguous.returncode == 2
    assert "2 sessions are active" in ambiguous.stderr
    assert first in ambiguous.stderr and second in ambiguous.stderr

    s3 = s3_for(both[0]["env"])
    assert {f"hello-{first}", f"hello-{second}"} <= {
        b["Name"] for b in s3.list_buckets()["Buckets"]
    }
    assert labrun_json("stop", first)["ok"] is True
    # The other session still uses the cloud: it keeps running, its bucket untouched.
    assert labrun_json("cloud", "status")["running"] is True
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [f"hello-{second}"]
    # Exactly one session is active again: it is inferred.
    assert labrun_json("env")["LABRUN_SESSION"] == second
    assert labrun_json("stop")["ok"] is True
    assert labrun_json("cloud", "status")["running"] is False


def test_without_sessions_commands_say_how_to_start_one() -> None:
    for command in ("check", "stop", "env"):
        proc = labrun(command)
        assert proc.returncode == 2
        assert proc.stderr.strip() == "labrun: no active session: start one with `labrun start LAB`"
    proc = labrun("check", "nosuchid")
    assert proc.returncode == 2 and "no session 'nosuchid'" in proc.stderr


def test_a_failed_provisioning_tears_down_what_it_made(test_labs: Path) -> None:
    proc = labrun("start", "bad-apply", "--labs-dir", str(test_labs))
    assert proc.returncode == 3, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert "terraform apply failed" in line and "nothing was left running" in line
    assert "Traceback" not in proc.stderr
    sessions = labrun_json("status", "--all")["sessions"]
    assert [s["status"] for s in sessions] == ["failed"]
    assert labrun_json("cloud", "status")["running"] is False


def test_a_misbehaving_checker_cannot_hang_or_crash_labrun(test_labs: Path) -> None:
    started = start("slow-check", test_labs)
    report = labrun_json("check", expect=1)
    by_id = {t["id"]: t for t in report["tasks"]}
    assert by_id["hangs"]["status"] == "error" and "timed out" in by_id["hangs"]["message"]
    assert by_id["raises"]["status"] == "error" and "KeyError" in by_id["raises"]["message"]
    assert by_id["fine"]["status"] == "pass"
    assert by_id["forgotten"]["status"] == "error"
    assert "no check function" in by_id["forgotten"]["message"]
    log = Path(started["workspace"]).parent / "logs" / "check.log"
    assert "Traceback" in log.read_text()
    assert labrun_json("stop")["ok"] is True


def checkers_of(home: Path) -> list[int]:
    """Checker processes started for LABRUN_HOME `home` (other test runs share the machine)."""
    found = subprocess.run(["pgrep", "-f", "labrun.checks._child"], capture_output=True, text=True)
    mine = f"LABRUN_HOME={home}".encode()
    pids = []
    for pid in map(int, found.stdout.split()):
        try:
            if mine in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                pids.append(pid)
        except OSError:  # gone already, or another user's
            pass
    return pids


def test_ctrl_c_exits_130_and_kills_the_checker(test_labs: Path, labrun_home: Path) -> None:
    start("slow-check", test_labs)
    proc = subprocess.Popen(
        [sys.executable, "-m", "labrun", "check"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)  # the checker is inside the hanging task by now
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert checkers_of(labrun_home) == []
    assert labrun_json("stop")["ok"] is True


def test_usage_errors_exit_2_with_one_line(test_labs: Path) -> None:
    cases = [
        (["start", "s3-hello", "--labs-dir", str(test_labs), "--ttl", "5h"], "longer than"),
        (["start", "s3-hello", "--labs-dir", str(test_labs), "--ttl", "soon"], "not a duration"),
        (["start", "s3-hello", "--labs-dir", str(test_labs), "--target", "aws"], "does not run on"),
        (["start", "s3-hello", "--target", "gcp"], "'gcp' is not one of"),
        (["start", "no-such-lab"], "no lab called 'no-such-lab'"),
        (["start", "Bad_Id"], "is not a lab id"),
        (["frobnicate"], "No such command"),
        (["check", "--colour"], "No such option"),
    ]
    for args, message in cases:
        proc = labrun(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert labrun_json("status", "--all")["sessions"] == []  # nothing was created


def test_help_and_version() -> None:
    proc = labrun("--help")
    assert proc.returncode == 0 and "labrun start" in proc.stdout
    for command in ("list", "show", "start", "env", "status", "check", "stop", "cloud"):
        assert labrun(command, "--help").returncode == 0
    assert labrun("--version").stdout.startswith("labrun, version")


def test_list_and_show_json(test_labs: Path) -> None:
    listing = labrun_json("list", "--labs-dir", str(test_labs))
    ids = [lab["id"] for lab in listing["labs"]]
    assert {"s3-hello", "docker-hello"} <= set(ids)
    shown = labrun_json("show", "s3-hello", "--labs-dir", str(test_labs))
    assert shown["id"] == "s3-hello" and shown["readme"].startswith("# Hello, S3")
    assert [t["id"] for t in shown["tasks"]] == ["upload", "content"]
    text = labrun("show", "s3-hello", "--labs-dir", str(test_labs))
    assert text.returncode == 0 and "Hello, S3" in text.stdout


@pytest.mark.docker
def test_a_docker_lab_loop_sweeps_the_learners_containers(
    test_labs: Path, docker_client: Any, owner: str
) -> None:
    from testing.docker_images import ensure_busybox_image

    image = ensure_busybox_image(docker_client)
    started = start("docker-hello", test_labs)
    session, network = started["session"], started["outputs"]["network"]
    assert labrun_json("check", expect=1)["tasks"][0]["status"] == "fail"
    # The learner's own `docker run` carries no labels: it is ours by the network it is on.
    web = docker_client.containers.run(
        image, ["httpd", "-f", "-p", "8000"], name=f"web-{session}", network=network, detach=True
    )
    assert labrun_json("check")["score"] == 1
    # Something carrying the session's label that Terraform does not know about.
    stray = docker_client.containers.run(
        image, ["sleep", "300"], labels={"labrun.session": session, "labrun.owner": owner},
        detach=True,
    )  # fmt: skip
    # Not ours: no mark, on no network of the session. It must survive.
    bystander = docker_client.containers.run(image, ["sleep", "300"], detach=True)
    try:
        receipt = labrun_json("stop")
        assert receipt["ok"] is True, receipt
        swept = {item["name"] for item in receipt["swept"]}
        assert {web.name, stray.name} <= swept
        assert {"kind": "docker:container", "name": bystander.name} in [
            {"kind": u["kind"], "name": u["name"]} for u in receipt["unowned"]
        ]
        assert not docker_client.networks.list(names=[network])
        bystander.reload()
        assert bystander.status == "running"
    finally:
        bystander.remove(force=True)


def test_a_docker_lab_refuses_to_start_without_an_engine(test_labs: Path) -> None:
    proc = labrun(
        "start", "docker-hello", "--labs-dir", str(test_labs),
        env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )  # fmt: skip
    assert proc.returncode == 3
    assert "no Docker engine answers" in proc.stderr
    assert labrun_json("status", "--all")["sessions"] == []


def test_json_outputs_are_one_document_each(test_labs: Path) -> None:
    start("slow-check", test_labs)
    for args in (["status"], ["env"], ["list", "--labs-dir", str(test_labs)], ["cloud", "status"]):
        proc = labrun(*args, "--json")
        assert proc.returncode == 0
        json.loads(proc.stdout)  # raises on anything but exactly one document
    assert labrun_json("stop")["ok"] is True


def test_labrun_terraform_names_an_executable(test_labs: Path) -> None:
    proc = labrun(
        "start", "slow-check", "--labs-dir", str(test_labs),
        env={"LABRUN_TERRAFORM": "no-such-terraform"},
    )  # fmt: skip
    assert proc.returncode == 2
    assert "LABRUN_TERRAFORM='no-such-terraform': no such executable" in proc.stderr
    assert labrun_json("status", "--all")["sessions"] == []  # refused before anything exists
