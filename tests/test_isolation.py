"""Failures are isolated and reported, never fatal: one session's or one place's error does
not stop the others, a session whose work folder is gone is still torn down by its marks,
and a destroy that keeps failing has an explicit, recorded way out.

Real components: the CLI, the embedded Terraform, labrun's local cloud, and the strict-AWS
proxy (testing/strict_aws.py) in front of a moto server for what real AWS refuses.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

from labrun.session import utcnow
from labrun.store import SessionStore
from testing.cli import labrun, labrun_json
from testing.labfolders import STUCK_LAB, queue_lab
from testing.strict_aws import StrictAws


def expire(*sessions: str) -> None:
    store = SessionStore.open()
    for session in sessions:
        store.update(session, expires_at=utcnow() - timedelta(minutes=1))


def test_a_session_whose_work_folder_is_gone_is_torn_down_by_its_marks(test_labs: Path) -> None:
    gone = labrun_json("start", "s3-hello", "--labs-dir", str(test_labs))["session"]
    kept = labrun_json("start", "s3-hello", "--labs-dir", str(test_labs))["session"]
    store = SessionStore.open()
    shutil.rmtree(store.get(gone).workdir)  # deleted by hand, or never made (a kill -9)
    expire(gone, kept)
    report = labrun_json("reap")
    assert {s["session"]: s["ok"] for s in report["sessions"]} == {gone: True, kept: True}
    swept = report["sessions"][0 if report["sessions"][0]["session"] == gone else 1]["receipt"]
    assert [item["id"] for item in swept["swept"]] == [f"hello-{gone}"]  # found by its tag
    assert {store.get(s).status for s in (gone, kept)} == {"ended"}


def test_access_denied_in_one_session_does_not_stop_the_reap(
    tmp_path: Path, strict_aws: StrictAws, labrun_home: Path
) -> None:
    labrun_home.mkdir(parents=True, exist_ok=True)
    (labrun_home / "config.toml").write_text('[aws]\nallowed_account_ids = ["123456789012"]\n')
    labs = queue_lab(tmp_path)
    start = ["start", "queue-lab", "--labs-dir", str(labs), "--target", "aws"]
    first = labrun_json(*start, env=strict_aws.env)["session"]
    second = labrun_json(*start, env=strict_aws.env)["session"]
    expire(first, second)
    strict_aws.deny("iam:ListRoles")  # normal for a restricted learner user
    proc = labrun("reap", "--json", env=strict_aws.env)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1, (report, proc.stderr)
    attempted = {s["session"]: s["ok"] for s in report["sessions"]}
    assert attempted == {first: False, second: False}  # both attempted, neither hidden
    for session in (first, second):
        assert any(f.startswith(f"session {session}:") for f in report["failures"]), report
        assert SessionStore.open().get(session).status == "tearing-down"
    assert any("ListRoles" in f or "AccessDenied" in f for f in report["failures"]), report
    strict_aws.clear()  # the permission is granted: the next reap finishes both
    assert labrun_json("reap", env=strict_aws.env)["ok"] is True
    assert {SessionStore.open().get(s).status for s in (first, second)} == {"ended"}


def test_a_destroy_that_keeps_failing_ends_only_with_forget_state(tmp_path: Path) -> None:
    labs = queue_lab(tmp_path, main_tf=STUCK_LAB)
    session = labrun_json("start", "queue-lab", "--labs-dir", str(labs))["session"]
    stuck = labrun_json("stop", session, expect=1)
    assert stuck["remaining"] == [{"kind": "terraform", "id": "terraform_data.stuck"}]
    assert SessionStore.open().get(session).status == "tearing-down"
    receipt = labrun_json("stop", session, "--forget-state")
    assert receipt["ok"] is True, receipt
    assert receipt["forgotten"] == ["terraform_data.stuck"]
    assert "aws-marks" in receipt["checked"]  # the sweep's proof that nothing marked remains
    store = SessionStore.open()
    assert store.get(session).status == "ended"
    forgotten = [e for e in store.events(session) if e["event"] == "state-forgotten"]
    assert forgotten[0]["addresses"] == ["terraform_data.stuck"]
    assert "always fails" in " ".join(forgotten[0]["destroy_errors"])


def test_forget_state_is_refused_while_the_sweep_proves_nothing(
    tmp_path: Path, strict_aws: StrictAws, labrun_home: Path
) -> None:
    labrun_home.mkdir(parents=True, exist_ok=True)
    (labrun_home / "config.toml").write_text('[aws]\nallowed_account_ids = ["123456789012"]\n')
    labs = queue_lab(tmp_path, main_tf=STUCK_LAB)
    start = ["start", "queue-lab", "--labs-dir", str(labs), "--target", "aws"]
    session = labrun_json(*start, env=strict_aws.env)["session"]
    strict_aws.deny("tag:GetResources")  # the sweep cannot list: it proves nothing
    refused = labrun_json("stop", session, "--forget-state", expect=1, env=strict_aws.env)
    assert refused["forgotten"] == []
    assert any("--forget-state refused" in e for e in refused["errors"]), refused["errors"]
    assert SessionStore.open().get(session).status == "tearing-down"
    strict_aws.clear()
    receipt = labrun_json("stop", session, "--forget-state", env=strict_aws.env)
    assert receipt["ok"] is True and receipt["forgotten"] == ["terraform_data.stuck"]


def test_a_type_that_cannot_be_listed_does_not_stop_the_other_orphans_being_reaped(
    tmp_path: Path, strict_aws: StrictAws, labrun_home: Path, owner: str
) -> None:
    labrun_home.mkdir(parents=True, exist_ok=True)
    (labrun_home / "config.toml").write_text(
        '[aws]\nallowed_account_ids = ["123456789012"]\nreap = true\n'
    )
    labs = queue_lab(tmp_path)
    start = ["start", "queue-lab", "--labs-dir", str(labs), "--target", "aws"]
    session = labrun_json(*start, env=strict_aws.env)["session"]  # live: its account is a place
    sqs = strict_aws.moto("sqs")  # a queue of a session this store never knew
    tags = {"labrun:session": "zorphan1", "labrun:owner": owner,
            "labrun:expires-at": "2020-01-01T00:00:00Z"}  # fmt: skip
    sqs.create_queue(QueueName="orphan-zorphan1", tags=tags)
    strict_aws.deny("iam:ListRoles")
    proc = labrun("reap", "--yes", "--json", env=strict_aws.env)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1, (report, proc.stderr)
    assert any("ListRoles" in f or "AccessDenied" in f for f in report["failures"]), report
    assert [o["session"] for o in report["orphans"]] == ["zorphan1"], report
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="orphan-")  # reaped all the same
    strict_aws.clear()
    assert labrun_json("stop", session, env=strict_aws.env)["ok"] is True
