"""Leases are fenced: a labrun process that lost its lease while paused creates nothing more.

Real components: the `labrun` command line in child processes paused with SIGSTOP, the
embedded Terraform, the moto server labrun starts. Only the stale-heartbeat delay is
shortened, through its documented variable (LABRUN_LEASE_STALE_AFTER).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import boto3
import pytest

from labrun import lease, localcloud
from labrun.errors import LeaseLost
from labrun.session import utcnow
from labrun.store import SessionStore
from testing.cli import labrun_json, spawn, wait_for
from testing.midway import group_members, recorded, sleeping

STALE = "2s"


def buckets() -> set[str]:
    status = localcloud.status()
    assert status.endpoint is not None
    env = localcloud.aws_env(status.endpoint)
    s3 = boto3.client(
        "s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )  # fmt: skip
    return {b["Name"] for b in s3.list_buckets()["Buckets"]}


@pytest.mark.parametrize("pause", ["recorded", "creating", "creating-with-terraform"])
def test_a_paused_start_creates_nothing_after_its_stop(
    test_labs: Path, monkeypatch: pytest.MonkeyPatch, pause: str
) -> None:
    monkeypatch.setenv(lease.STALE_AFTER_VAR, STALE)  # the start, the stop: every labrun here
    keeper = labrun_json("start", "s3-hello", "--labs-dir", str(test_labs))["session"]
    store = SessionStore.open()
    start = spawn("start", "late-bucket", "--labs-dir", str(test_labs))
    session = recorded(store, "late-bucket")
    if pause != "recorded":  # Terraform is in the slow step, before the bucket exists
        wait_for(lambda: sleeping(session))
    os.kill(start.pid, signal.SIGSTOP)  # Ctrl-Z: labrun stops, its Terraform runs on
    if pause == "creating-with-terraform":  # a suspended laptop: everything stops
        os.killpg(
            int((session.terraform_dir / ".labrun-terraform.pid").read_text()), signal.SIGSTOP
        )
    try:
        time.sleep(3)  # longer than STALE: the paused start's heartbeat goes stale
        receipt = labrun_json("stop", session.id)
    finally:
        os.kill(start.pid, signal.SIGCONT)
    _, stderr = start.communicate(timeout=120)

    assert receipt["ok"] is True, receipt
    assert start.returncode == 3, stderr
    last = stderr.strip().splitlines()[-1]
    assert "another labrun process took it over" in last and "Traceback" not in stderr
    time.sleep(6)  # longer than the lab's slow step: a late bucket would be there by now
    assert f"late-{session.id}" not in buckets()
    assert store.get(session.id).status == "ended"  # the stop's receipt stays true
    events = store.events(session.id)
    assert [e["status"] for e in events if e["event"] == "status"][-1] == "ended"
    assert "lease-taken-over" in [e["event"] for e in events]
    assert store.get(keeper).status == "active"
    labrun_json("stop", keeper)


def test_one_liveness_rule_for_stop_and_the_reaper(test_labs: Path) -> None:
    session = labrun_json("start", "s3-hello", "--labs-dir", str(test_labs))["session"]
    store = SessionStore.open()
    store.update(session, expires_at=utcnow() - timedelta(minutes=1))  # due for the reaper
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = lease.process_started(other.pid)
        assert started is not None
        # A running process, started when the lease says, holds it: stop and reap leave it.
        taken = store.acquire_lease(session, other.pid, started, lease.live)
        assert (taken.pid, taken.started) == (other.pid, started)
        assert lease.busy(store, session) == store.lease_record(session)
        assert labrun_json("reap", "--dry-run")["sessions"] == []
        assert "is busy" in labrun_json("stop", session, expect=3)["error"]
        # The same pid with another start time is a reused pid: the holder is gone.
        store.acquire_lease(session, other.pid, started + 1, lambda record: False)
        assert lease.busy(store, session) is None
        due = labrun_json("reap", "--dry-run")["sessions"]
        assert [(s["session"], s["reason"]) for s in due] == [(session, "expired")]
        assert labrun_json("stop", session)["ok"] is True
    finally:
        other.kill()
        other.wait()


def test_a_status_change_under_a_lost_lease_is_refused(test_labs: Path) -> None:
    session = labrun_json("start", "s3-hello", "--labs-dir", str(test_labs))["session"]
    store = SessionStore.open()
    gone = subprocess.Popen(["true"])
    gone.wait()
    with lease.held(store, session) as mine:
        # Another process takes the session over (this one looks dead to it), then ends.
        store.acquire_lease(session, gone.pid, None, lambda record: False)
        assert not mine.holds()
        with pytest.raises(LeaseLost):
            mine.update(status="ended")
    assert store.get(session).status == "active"
    assert labrun_json("stop", session)["ok"] is True


def test_terraform_stops_itself_once_its_lease_is_lost(test_labs: Path) -> None:
    keeper = labrun_json("start", "s3-hello", "--labs-dir", str(test_labs))["session"]
    store = SessionStore.open()
    start = spawn("start", "late-bucket", "--labs-dir", str(test_labs))
    session = recorded(store, "late-bucket")
    wait_for(lambda: sleeping(session))
    group = int((session.terraform_dir / ".labrun-terraform.pid").read_text())
    # Another labrun process judges the holder gone and takes the session over; nobody kills
    # anything: the running Terraform must notice by itself, and its labrun process too.
    taken = store.acquire_lease(session.id, os.getpid(), None, lambda record: False)
    _, stderr = start.communicate(timeout=120)

    assert start.returncode == 3, stderr
    assert "another labrun process took it over" in stderr.strip().splitlines()[-1]
    assert group_members(group) == []  # Terraform and its provisioners are gone
    time.sleep(6)  # longer than the lab's slow step: a late bucket would be there by now
    assert f"late-{session.id}" not in buckets()
    assert store.get(session.id).status == "provisioning"  # the old holder changed nothing
    store.release_lease(session.id, taken.generation)
    assert labrun_json("stop", session.id)["ok"] is True
    labrun_json("stop", keeper)
