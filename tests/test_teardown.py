"""Forced teardown: crashes at any point, expired sessions, orphans, and what must survive.

Real components: the embedded Terraform, the moto server labrun starts, the real CLI in
child processes killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from labrun import localcloud
from labrun.session import utcnow
from labrun.store import SessionStore
from testing.cli import labrun, labrun_json, spawn, wait_for


def s3() -> Any:
    status = localcloud.status()
    assert status.endpoint is not None
    env = localcloud.aws_env(status.endpoint)
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def buckets() -> set[str]:
    return {b["Name"] for b in s3().list_buckets()["Buckets"]}


def only_session() -> dict[str, Any]:
    sessions = labrun_json("status", "--all")["sessions"]
    assert len(sessions) == 1, sessions
    return sessions[0]


def keep_cloud_alive(test_labs: Path) -> str:
    """A second, live session: the cloud stays up and its bucket must survive everything."""
    return labrun_json("start", "s3-hello", "--labs-dir", str(test_labs), "--new")["session"]


def test_kill_9_during_start_then_stop_removes_everything(test_labs: Path) -> None:
    keeper = keep_cloud_alive(test_labs)
    proc = spawn("start", "slow-lab", "--labs-dir", str(test_labs))
    wait_for(lambda: any(b.startswith("slow-") for b in buckets()))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    slow = next(s for s in labrun_json("status")["sessions"] if s["lab"] == "slow-lab")
    assert slow["status"] == "provisioning"  # recorded before anything was created
    receipt = labrun_json("stop", slow["session"])
    assert receipt["ok"] is True
    assert f"slow-{slow['session']}" not in buckets()
    assert f"hello-{keeper}" in buckets()  # another live session's bucket is intact
    labrun_json("stop", keeper)


def test_kill_9_during_stop_then_reap_finishes(test_labs: Path) -> None:
    keeper = keep_cloud_alive(test_labs)
    started = labrun_json("start", "slow-lab", "--labs-dir", str(test_labs))
    session = started["session"]
    proc = spawn("stop", session)
    # Killed mid-teardown (its destroy sleeps 6 s); the log is written in a batch, too late.
    wait_for(lambda: SessionStore.open().get(session).status == "tearing-down")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert labrun_json("status", session)["sessions"][0]["status"] == "tearing-down"
    report = labrun_json("reap")
    assert [(s["session"], s["reason"], s["ok"]) for s in report["sessions"]] == [
        (session, "teardown unfinished", True)
    ]
    assert f"slow-{session}" not in buckets()
    assert f"hello-{keeper}" in buckets()
    assert labrun_json("status", session)["sessions"][0]["status"] == "ended"
    labrun_json("stop", keeper)


def test_an_expired_session_is_reaped_and_two_reapers_do_not_collide(test_labs: Path) -> None:
    keeper = keep_cloud_alive(test_labs)
    expired = [
        labrun_json("start", "s3-hello", "--labs-dir", str(test_labs), "--new")["session"]
        for _ in range(3)
    ]
    store = SessionStore.open()
    for session in expired:
        store.update(session, expires_at=utcnow() - timedelta(minutes=1))
    assert {s["session"] for s in labrun_json("reap", "--dry-run")["sessions"]} == set(expired)
    assert {f"hello-{s}" for s in expired} <= buckets()  # a dry run touches nothing
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: labrun("reap", "--json"), range(2)))
    for proc in reports:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not {f"hello-{s}" for s in expired} & buckets()
    for session in expired:
        assert store.get(session).status == "ended"
    assert store.get(keeper).status == "active"  # not expired: left alone
    assert f"hello-{keeper}" in buckets()
    labrun_json("stop", keeper)


def test_orphans_are_reaped_and_everything_not_provably_ours_survives(
    test_labs: Path, owner: str
) -> None:
    keeper = keep_cloud_alive(test_labs)
    client = s3()

    def bucket(name: str, tags: dict[str, str] | None) -> None:
        client.create_bucket(Bucket=name)
        client.put_object(Bucket=name, Key="data.txt", Body=b"x")
        if tags:
            tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
            client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_set})

    future = (utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    past = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    bucket("orphan-unknown-session", {"labrun:session": "zzzz0000", "labrun:owner": owner})
    bucket("untagged-bucket", None)
    bucket("other-owner", {"labrun:session": "yyyy0000", "labrun:owner": "someone-else",
                           "labrun:expires-at": future})  # fmt: skip
    bucket("other-owner-expired", {"labrun:session": "xxxx0000", "labrun:owner": "someone-else",
                                   "labrun:expires-at": past})  # fmt: skip
    report = labrun_json("reap")
    assert {o["id"].split(":")[-1] for o in report["orphans"]} == {"orphan-unknown-session"}
    left = buckets()
    assert "orphan-unknown-session" not in left
    assert {"untagged-bucket", "other-owner", "other-owner-expired", f"hello-{keeper}"} <= left
    # An instructor's account-wide reaper takes other owners' resources, once expired only.
    wide = labrun_json("reap", "--all-owners")
    assert {o["id"].split(":")[-1] for o in wide["orphans"]} == {"other-owner-expired"}
    assert {"untagged-bucket", "other-owner", f"hello-{keeper}"} <= buckets()
    labrun_json("stop", keeper)


def test_a_cloud_that_does_not_answer_keeps_the_session_tearing_down(test_labs: Path) -> None:
    session = labrun_json("start", "s3-hello", "--labs-dir", str(test_labs), "--new")["session"]
    status = localcloud.status()
    assert status.pid is not None
    os.kill(status.pid, signal.SIGSTOP)
    try:
        proc = labrun("stop", "--json")
        assert proc.returncode == 1
        receipt = json.loads(proc.stdout)
        assert receipt["ok"] is False and "does not answer" in receipt["errors"][0]
        assert labrun_json("status", session)["sessions"][0]["status"] == "tearing-down"
    finally:
        os.kill(status.pid, signal.SIGCONT)
    report = labrun_json("reap")
    assert report["sessions"][0]["ok"] is True
    assert SessionStore.open().get(session).status == "ended"


def test_a_busy_session_is_refused_not_torn_down_twice(test_labs: Path) -> None:
    started = labrun_json("start", "slow-lab", "--labs-dir", str(test_labs))
    first = spawn("stop", started["session"])
    # The stop holds the lease while it tears down (its destroy sleeps 6 s). Terraform's
    # events reach the log in a batch, so the log cannot tell that the destroy is under way.
    wait_for(lambda: SessionStore.open().get(started["session"]).status == "tearing-down")
    second = labrun("stop", started["session"])
    assert second.returncode == 3 and "is busy" in second.stderr
    assert first.wait(timeout=60) == 0


@pytest.mark.parametrize("every", ["5m", "1m"])
def test_reaper_install_status_uninstall_with_cron(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every: str
) -> None:
    # The OS boundary: a crontab that keeps its table in a file, on a machine without systemd.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    table = tmp_path / "crontab.txt"
    fake = bin_dir / "crontab"
    fake.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-l" ]; then cat {table} 2>/dev/null || exit 1; else cat > {table}; fi\n'
    )
    fake.chmod(0o755)
    (bin_dir / "systemctl").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "systemctl").chmod(0o755)
    table.write_text("0 3 * * * backup.sh\n")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    assert labrun_json("reaper", "status", env=env)["installed"] is False
    installed = labrun_json("reaper", "install", "--every", every, env=env)
    assert (installed["method"], installed["every"]) == ("cron", every)
    lines = table.read_text().splitlines()
    assert lines[0] == "0 3 * * * backup.sh"  # the user's own lines are kept
    spec = "*" if every == "1m" else "*/5"
    assert lines[1].startswith(f"{spec} * * * * LABRUN_HOME=") and "-m labrun reap" in lines[1]
    labrun_json("reaper", "install", "--every", every, env=env)
    assert len(table.read_text().splitlines()) == 2  # installing twice does not duplicate
    assert labrun_json("reaper", "status", env=env)["installed"] is True
    assert labrun_json("reaper", "uninstall", env=env)["removed"] is True
    assert table.read_text().splitlines() == ["0 3 * * * backup.sh"]
    bad = labrun("reaper", "install", "--every", "10s", env=env)
    assert bad.returncode == 3 and "at most once a minute" in bad.stderr


def aws_capable_lab(tmp_path: Path, test_labs: Path) -> Path:
    import shutil

    labs = tmp_path / "labs"
    shutil.copytree(test_labs / "s3-hello", labs / "s3-hello")
    manifest = labs / "s3-hello" / "lab.toml"
    text = manifest.read_text().replace('targets = ["local"]', 'targets = ["local", "aws"]')
    manifest.write_text(text)
    return labs


def test_target_aws_refuses_an_account_not_allowed_then_runs_in_an_allowed_one(
    tmp_path: Path, test_labs: Path, labrun_home: Path
) -> None:
    # A "real" account: the moto server stands in for AWS, reached through the user's own
    # AWS_* settings, exactly as an emulator's endpoint would be.
    labs = aws_capable_lab(tmp_path, test_labs)
    cloud = localcloud.ensure_running()
    assert cloud.endpoint is not None
    env = localcloud.aws_env(cloud.endpoint)
    refused = labrun("start", "s3-hello", "--labs-dir", str(labs), "--target", "aws", env=env)
    assert refused.returncode == 3
    assert "AWS account 123456789012 is not in aws.allowed_account_ids" in refused.stderr
    assert labrun_json("status", "--all")["sessions"] == []  # refused before anything exists
    assert not any(b.startswith("hello-") for b in buckets())

    (labrun_home / "config.toml").write_text('[aws]\nallowed_account_ids = ["123456789012"]\n')
    started = labrun_json("start", "s3-hello", "--labs-dir", str(labs), "--target", "aws", env=env)
    assert started["target"] == "aws"
    assert f"hello-{started['session']}" in buckets()
    receipt = labrun_json("stop", env=env)
    assert receipt["ok"] is True and "aws-marks" in receipt["checked"]
    assert f"hello-{started['session']}" not in buckets()


def test_a_bad_config_is_one_line(tmp_path: Path, labrun_home: Path, test_labs: Path) -> None:
    labs = aws_capable_lab(tmp_path, test_labs)
    labrun_home.mkdir(parents=True, exist_ok=True)
    (labrun_home / "config.toml").write_text('[aws]\nallowed_account_ids = "all"\n')
    proc = labrun("start", "s3-hello", "--labs-dir", str(labs), "--target", "aws")
    assert proc.returncode == 2
    assert "config.toml: aws.allowed_account_ids: must be a list of account ids" in proc.stderr


def test_orphans_in_a_real_account_are_listed_until_confirmed(
    labrun_home: Path, owner: str
) -> None:
    from moto.server import ThreadedMotoServer

    # A second emulator plays the real account; labrun's own local cloud is not running.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {**localcloud.aws_env(f"http://{host}:{port}")}
        # moto keeps its state per process: start this "account" empty.
        urllib.request.urlopen(
            urllib.request.Request(f"{env['AWS_ENDPOINT_URL']}/moto-api/reset", method="POST")
        ).close()
        real = boto3.client(
            "s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip
        real.create_bucket(Bucket="forgotten")
        real.put_bucket_tagging(
            Bucket="forgotten",
            Tagging={"TagSet": [{"Key": "labrun:session", "Value": "gone0000"},
                                {"Key": "labrun:owner", "Value": owner}]},
        )  # fmt: skip
        real.create_bucket(Bucket="not-ours")
        labrun_home.mkdir(parents=True, exist_ok=True)
        (labrun_home / "config.toml").write_text(
            '[aws]\nallowed_account_ids = ["123456789012"]\nreap = true\n'
        )
        listed = labrun_json("reap", env=env)
        assert [(o["name"], o["removed"]) for o in listed["orphans"]] == [("forgotten", False)]
        assert {b["Name"] for b in real.list_buckets()["Buckets"]} == {"forgotten", "not-ours"}
        confirmed = labrun_json("reap", "--yes", env=env)
        assert [o["removed"] for o in confirmed["orphans"]] == [True]
        assert {b["Name"] for b in real.list_buckets()["Buckets"]} == {"not-ours"}
    finally:
        server.stop()


@pytest.mark.docker
def test_a_lab_whose_destroy_removes_nothing_is_swept_clean(
    test_labs: Path, docker_client: Any
) -> None:
    keeper = keep_cloud_alive(test_labs)
    started = labrun_json("start", "leaky", "--labs-dir", str(test_labs))
    session = started["session"]
    bucket = f"leaky-{session}"
    assert bucket in buckets()
    assert docker_client.volumes.get(bucket)
    receipt = labrun_json("stop", session)
    assert receipt["ok"] is True, receipt
    assert sorted(receipt["destroyed"]) == ["terraform_data.cloud", "terraform_data.volume"]
    kinds = sorted(item["kind"] for item in receipt["swept"])
    assert kinds == ["aws:s3:bucket", "aws:sqs:queue", "docker:volume"], receipt["swept"]
    assert bucket not in buckets()
    assert not docker_client.volumes.list(filters={"name": bucket})
    assert f"hello-{keeper}" in buckets()
    labrun_json("stop", keeper)
