"""A session's cloud identity: recorded at start, used by stop, reap, check and env.

Real components: the CLI in child processes, the embedded Terraform, a moto server standing
in for a real AWS account (reached through AWS_ENDPOINT_URL, as `--target aws` would reach
an emulator), and botocore reading real AWS config files in a temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from labrun import awsenv
from labrun.session import utcnow
from labrun.store import SessionStore
from testing.cli import labrun, labrun_json
from testing.labfolders import queue_lab

ACCOUNT = "123456789012"  # moto's account for plain credentials
OTHER_ACCOUNT = "111111111111"  # reached by assuming a role there


@pytest.fixture
def account(moto_server: str, labrun_home: Path) -> str:
    """An empty "real" AWS account (a moto server) that labrun's config allows: its endpoint."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(request).close()
    labrun_home.mkdir(parents=True, exist_ok=True)
    (labrun_home / "config.toml").write_text(
        f'[aws]\nallowed_account_ids = ["{ACCOUNT}", "{OTHER_ACCOUNT}"]\n'
    )
    return moto_server


def shell(endpoint: str, region: str) -> dict[str, str]:
    """A user's shell that reaches the account in `region` with plain credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    }  # fmt: skip


def other_account_shell(endpoint: str, region: str) -> dict[str, str]:
    """A shell whose credentials (a role assumed there) reach OTHER_ACCOUNT."""
    sts = boto3.client(
        "sts", endpoint_url=endpoint, region_name=region,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/elsewhere"
    given = sts.assume_role(RoleArn=role, RoleSessionName="elsewhere")["Credentials"]
    return {
        **shell(endpoint, region), "AWS_ACCESS_KEY_ID": given["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": given["SecretAccessKey"],
        "AWS_SESSION_TOKEN": given["SessionToken"],
    }  # fmt: skip


def queues(endpoint: str, region: str) -> list[str]:
    sqs = boto3.client(
        "sqs", endpoint_url=endpoint, region_name=region,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    return [url.rsplit("/", 1)[-1] for url in sqs.list_queues().get("QueueUrls", [])]


def start_in(tmp_path: Path, account: str, region: str) -> Any:
    """`labrun start queue-lab --target aws --json` from a shell set to `region`."""
    labs = queue_lab(tmp_path)
    start = ["start", "queue-lab", "--labs-dir", str(labs), "--target", "aws"]
    return labrun_json(*start, env=shell(account, region))


def test_a_session_is_stopped_in_its_region_from_a_shell_set_to_another(
    tmp_path: Path, account: str
) -> None:
    started = start_in(tmp_path, account, "eu-west-1")
    queue = f"q-{started['session']}"
    assert queues(account, "eu-west-1") == [queue]
    identity = SessionStore.open().get(started["session"]).identity
    assert identity is not None
    assert (identity.account, identity.regions, identity.endpoint) == (
        ACCOUNT,
        ("eu-west-1",),
        account,
    )
    # `labrun env` and `check` see the session's region, not this shell's.
    exported = labrun_json("env", env=shell(account, "us-east-1"))
    assert exported["AWS_REGION"] == "eu-west-1"
    receipt = labrun_json("stop", env=shell(account, "us-east-1"))
    assert receipt["ok"] is True, receipt
    assert queues(account, "eu-west-1") == []  # really deleted where it was


def test_the_scheduled_reaper_tears_down_where_the_session_ran(
    tmp_path: Path, account: str, labrun_home: Path
) -> None:
    # The region is only in the profile (as with SSO), the credentials in the shared file.
    config, credentials = tmp_path / "aws-config", tmp_path / "aws-credentials"
    config.write_text("[profile lab]\nregion = eu-west-1\n")
    credentials.write_text("[lab]\naws_access_key_id = testing\naws_secret_access_key = x\n")
    profile = {
        "AWS_PROFILE": "lab", "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_ENDPOINT_URL": account,
    }  # fmt: skip
    labs = queue_lab(tmp_path)
    started = labrun_json(
        "start", "queue-lab", "--labs-dir", str(labs), "--target", "aws", env=profile
    )
    session = started["session"]
    assert queues(account, "eu-west-1") == [f"q-{session}"]
    SessionStore.open().update(session, expires_at=utcnow() - timedelta(minutes=1))
    # cron's environment: no AWS_* at all, and no DOCKER_HOST.
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DOCKER_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "labrun", "reap", "--json"],
        capture_output=True, text=True, env=bare, timeout=300, check=False,
    )  # fmt: skip
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, (report, proc.stderr)
    assert [s["session"] for s in report["sessions"]] == [session]
    assert report["sessions"][0]["ok"] is True
    assert queues(account, "eu-west-1") == []
    assert SessionStore.open().get(session).status == "ended"


def test_another_account_is_refused_and_the_session_stays_tearing_down(
    tmp_path: Path, account: str
) -> None:
    session = start_in(tmp_path, account, "eu-west-1")["session"]
    elsewhere = other_account_shell(account, "eu-west-1")
    refused = labrun("stop", session, env=elsewhere)
    assert refused.returncode == 3, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and ACCOUNT in lines[0] and OTHER_ACCOUNT in lines[0], lines
    assert SessionStore.open().get(session).status == "tearing-down"
    assert queues(account, "eu-west-1") == [f"q-{session}"]  # nothing was touched
    reaped = labrun("reap", "--json", env=elsewhere)
    assert reaped.returncode == 3, reaped.stderr
    failures = json.loads(reaped.stdout)["failures"]
    assert any(ACCOUNT in f and OTHER_ACCOUNT in f for f in failures), failures
    assert queues(account, "eu-west-1") == [f"q-{session}"]
    assert labrun_json("stop", session, env=shell(account, "us-east-1"))["ok"] is True
    assert queues(account, "eu-west-1") == []


def test_a_region_set_only_in_the_profile_prices_and_passes_the_policy(
    tmp_path: Path, labrun_home: Path
) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = eu-west-1\n")
    env = {"AWS_CONFIG_FILE": str(config)}
    assert awsenv.resolve_region(env) == "eu-west-1"
    assert awsenv.resolve_region({**env, "AWS_REGION": "us-west-2"}) == "us-west-2"
    # A plan whose aws provider names no region: Terraform takes the profile's.
    fixture = Path(__file__).parent / "fixtures" / "plans" / "gpu-training.json"
    document: dict[str, Any] = json.loads(fixture.read_text().replace("g4dn.xlarge", "t3.micro"))
    del document["configuration"]["provider_config"]["aws"]["expressions"]["region"]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(document))
    labrun_home.mkdir(parents=True, exist_ok=True)
    (labrun_home / "config.toml").write_text('[policy]\nallowed_regions = ["eu-west-1"]\n')
    found = labrun_json("plan", "--from-json", str(plan), env=env)
    assert found["violations"] == [], found["violations"]
    instance = next(r for r in found["resources"] if r["type"] == "aws_instance")
    assert "eu-west-1" in instance["note"], instance


def test_no_credential_is_stored_logged_or_printed(
    tmp_path: Path, account: str, labrun_home: Path
) -> None:
    secrets = {
        "AWS_ACCESS_KEY_ID": "AKIAKEEPOUTOFTHESTORE",
        "AWS_SECRET_ACCESS_KEY": "secret-keep-out-of-the-store",
        "AWS_SESSION_TOKEN": "token-keep-out-of-the-store",
    }
    env = {**shell(account, "eu-west-1"), **secrets}
    labs = queue_lab(tmp_path)
    printed = [
        labrun("start", "queue-lab", "--labs-dir", str(labs), "--target", "aws", "--json", env=env)
    ]
    session = json.loads(printed[0].stdout)["session"]
    for args in (["status", "--json"], ["status", "--all", "--json"], ["extend", "10m", "--json"],
                 ["check", "--json"], ["stop", "--json"]):  # fmt: skip
        printed.append(labrun(*args, env=env))
    assert SessionStore.open().get(session).status == "ended"
    for proc in printed:
        for value in secrets.values():
            assert value not in proc.stdout + proc.stderr, (proc.args, value)
    for path in labrun_home.rglob("*"):  # the store (WAL included), the journal, every log
        if path.is_file():
            content = path.read_bytes()
            for value in secrets.values():
                assert value.encode() not in content, (path, value)


@pytest.mark.docker
def test_a_session_is_reaped_on_the_engine_it_recorded(
    tmp_path: Path, test_labs: Path, docker_client: Any
) -> None:
    # The engine reached through another socket path than the default one.
    socket = tmp_path / "engine.sock"
    socket.symlink_to("/var/run/docker.sock")
    started = labrun_json(
        "start",
        "docker-hello",
        "--labs-dir",
        str(test_labs),
        env={"DOCKER_HOST": f"unix://{socket}"},
    )
    session, network = started["session"], started["outputs"]["network"]
    recorded = SessionStore.open().get(session).identity
    assert recorded is not None and recorded.docker_host == f"unix://{socket}"
    SessionStore.open().update(session, expires_at=utcnow() - timedelta(minutes=1))
    # The reaper's own DOCKER_HOST names no engine at all.
    report = labrun_json("reap", env={"DOCKER_HOST": f"unix://{tmp_path}/nothing.sock"})
    assert [(s["session"], s["ok"]) for s in report["sessions"]] == [(session, True)], report
    assert not docker_client.networks.list(names=[network])
    assert SessionStore.open().get(session).status == "ended"
