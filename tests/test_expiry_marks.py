"""Expiry marks stay true: every resource carries a hard upper bound (created_at + the lab's
max_ttl) that `labrun extend` never needs to move, `reap --all-owners` reads that one, and an
installation that shares its LABRUN_OWNER with another leaves the other's sessions alone.

Real components: the CLI, the embedded Terraform and labrun's local cloud (moto).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3

from labrun import localcloud
from labrun.session import parse_rfc3339, rfc3339, utcnow
from testing.cli import labrun_json


def s3() -> Any:
    status = localcloud.status()
    assert status.endpoint is not None
    env = localcloud.aws_env(status.endpoint)
    return boto3.client(
        "s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def bucket(name: str, tags: dict[str, str]) -> None:
    client = s3()
    client.create_bucket(Bucket=name)
    client.put_bucket_tagging(
        Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
    )


def buckets() -> set[str]:
    return {b["Name"] for b in s3().list_buckets()["Buckets"]}


def test_every_resource_carries_the_hard_expiry_and_all_owners_reads_it(
    test_labs: Path,
) -> None:
    started = labrun_json("start", "s3-hello", "--labs-dir", str(test_labs))
    session = started["session"]
    tags = {
        t["Key"]: t["Value"] for t in s3().get_bucket_tagging(Bucket=f"hello-{session}")["TagSet"]
    }
    created = parse_rfc3339(started["created_at"])
    assert tags["labrun:hard-expires-at"] == rfc3339(created + timedelta(hours=2))  # max_ttl
    assert tags["labrun:installation"].startswith("i-")
    extended = labrun_json("extend", session, "30m")
    assert parse_rfc3339(extended["expires_at"]) <= created + timedelta(hours=2)

    past = rfc3339(utcnow() - timedelta(minutes=5))
    future = rfc3339(utcnow() + timedelta(hours=1))
    # Another owner extended its session: its expires-at mark is stale, its hard bound is not.
    bucket(
        "extended-elsewhere",
        {
            "labrun:session": "yyyy0000",
            "labrun:owner": "someone-else",
            "labrun:expires-at": past,
            "labrun:hard-expires-at": future,
        },
    )
    bucket(
        "past-its-bound",
        {
            "labrun:session": "xxxx0000",
            "labrun:owner": "someone-else",
            "labrun:expires-at": past,
            "labrun:hard-expires-at": past,
        },
    )
    wide = labrun_json("reap", "--all-owners")
    assert {o["id"].split(":")[-1] for o in wide["orphans"]} == {"past-its-bound"}
    assert {"extended-elsewhere", f"hello-{session}"} <= buckets()
    assert "past-its-bound" not in buckets()
    labrun_json("stop", session)


def test_another_installation_with_the_same_owner_is_left_alone_with_a_warning(
    test_labs: Path, owner: str
) -> None:
    keeper = labrun_json("start", "s3-hello", "--labs-dir", str(test_labs))["session"]
    # The same LABRUN_OWNER in another LABRUN_HOME: its session is unknown here.
    bucket(
        "other-home",
        {
            "labrun:session": "wwww0000",
            "labrun:owner": owner,
            "labrun:installation": "i-000000000000",
        },
    )
    bucket("true-orphan", {"labrun:session": "vvvv0000", "labrun:owner": owner})
    report = labrun_json("reap")
    assert {o["id"].split(":")[-1] for o in report["orphans"]} == {"true-orphan"}
    assert "other-home" in buckets()
    assert any("i-000000000000" in w and "wwww0000" in w for w in report["warnings"]), report
    labrun_json("stop", keeper)
