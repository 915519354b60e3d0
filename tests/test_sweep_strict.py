"""The AWS sweep against a strict AWS (testing.strict_aws): what real AWS does and moto does not.

Each test seeds the moto server directly, sets the strictness it is about, and sweeps
through the proxy, as a teardown on real AWS would.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from labrun.sweep import UNLISTED, Found, Marks, sweep
from labrun.sweep.aws import AwsSweeper
from testing.cli import labrun, labrun_json
from testing.strict_aws import StrictAws

MARKS = Marks("s1", "o1")
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def tags(session: str = "s1", owner: str | None = "o1") -> dict[str, str]:
    marks = {"labrun:session": session, "labrun:owner": owner}
    return {key: value for key, value in marks.items() if value is not None}


def tag_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in values.items()]


def keys(found: list[Found]) -> set[tuple[str, str]]:
    return {(f.kind, f.id) for f in found}


def queue(strict: StrictAws, name: str, marks: dict[str, str]) -> tuple[str, str]:
    strict.moto("sqs").create_queue(QueueName=name, tags=marks)
    return ("aws:sqs:queue", name)


def bucket(strict: StrictAws, name: str, marks: dict[str, str]) -> tuple[str, str]:
    s3 = strict.moto("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(marks)})
    s3.put_object(Bucket=name, Key="data.txt", Body=b"x")
    return ("aws:s3:bucket", name)


def table(strict: StrictAws, name: str, marks: dict[str, str]) -> tuple[str, str]:
    strict.moto("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=tag_list(marks),
    )
    return ("aws:dynamodb:table", name)


def log_group(strict: StrictAws, name: str, marks: dict[str, str]) -> tuple[str, str]:
    strict.moto("logs").create_log_group(logGroupName=name, tags=marks)
    return ("aws:logs:log-group", name)


def role(strict: StrictAws, name: str, marks: dict[str, str]) -> tuple[str, str]:
    strict.moto("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST), Tags=tag_list(marks)
    )
    return ("aws:iam:role", name)


def queues(strict: StrictAws) -> list[str]:
    return [u.rsplit("/", 1)[-1] for u in strict.moto("sqs").list_queues().get("QueueUrls", [])]


def test_ghosts_in_the_tagging_api_are_not_reported_as_remaining(strict_aws: StrictAws) -> None:
    strict_aws.ghosts(seconds=600)
    seeded = {
        queue(strict_aws, "ghost-queue", tags()),
        bucket(strict_aws, "ghost-bucket", tags()),
        table(strict_aws, "ghost-table", tags()),
        log_group(strict_aws, "/ghost/logs", tags()),
    }

    result = sweep(AwsSweeper(strict_aws.env), MARKS)

    assert (result.remaining, result.failed) == ([], [])
    assert keys(result.removed) == seeded
    assert len(strict_aws.live_ghosts()) == 4  # the tagging API still answers with all four


def test_late_arrivals_are_found_and_swept_before_nothing_remains(strict_aws: StrictAws) -> None:
    strict_aws.late(seconds=600)
    seeded = {queue(strict_aws, "new-queue", tags()), bucket(strict_aws, "new-bucket", tags())}

    result = sweep(AwsSweeper(strict_aws.env), MARKS)

    assert (result.remaining, result.failed) == ([], [])
    assert keys(result.removed) == seeded
    assert queues(strict_aws) == []
    assert strict_aws.moto("s3").list_buckets()["Buckets"] == []


def test_a_queue_being_deleted_and_a_deleting_table_count_as_gone(strict_aws: StrictAws) -> None:
    strict_aws.slow_delete("sqs:DeleteQueue", seconds=600)  # AWS: up to 60 s
    strict_aws.slow_delete("dynamodb:DeleteTable", seconds=600)
    seeded = {queue(strict_aws, "slow-queue", tags()), table(strict_aws, "slow-table", tags())}

    result = sweep(AwsSweeper(strict_aws.env), MARKS)

    assert (result.remaining, result.failed) == ([], [])
    assert keys(result.removed) == seeded
    assert queues(strict_aws) == ["slow-queue"]  # still listed: its delete is under way
    described = strict_aws.client("dynamodb").describe_table(TableName="slow-table")
    assert described["Table"]["TableStatus"] == "DELETING"
    assert strict_aws.answers("dynamodb:DeleteTable") == ["accepted"]  # asked once, not again


def test_a_resource_tagged_with_the_session_alone_is_swept(strict_aws: StrictAws) -> None:
    by_hand = queue(strict_aws, "by-hand-queue", {"labrun:session": "s1"})
    theirs = queue(strict_aws, "their-queue", tags(owner="someone-else"))

    result = sweep(AwsSweeper(strict_aws.env), MARKS)

    assert keys(result.removed) == {by_hand}
    # This session's id with another owner's mark: not deleted, reported, never silent.
    assert keys(result.remaining) == {theirs}
    assert "another owner's (someone-else)" in result.remaining[0].reason
    assert queues(strict_aws) == ["their-queue"]


def test_access_denied_on_one_listing_does_not_stop_the_others(strict_aws: StrictAws) -> None:
    strict_aws.deny("iam:ListRoles")
    seeded = {queue(strict_aws, "q1", tags()), bucket(strict_aws, "b1-bucket", tags())}
    role(strict_aws, "r1", tags())

    result = sweep(AwsSweeper(strict_aws.env), MARKS)

    assert keys(result.removed) == seeded
    assert [(f.kind, f.id) for f, _ in result.failed] == [("aws:iam:role", UNLISTED)]
    assert "AccessDenied" in result.errors[0] and "iam:ListRoles" in result.errors[0]
    assert strict_aws.moto("iam").get_role(RoleName="r1")  # unknown to the sweep: untouched


def test_a_failing_tagging_api_still_lets_each_type_be_listed(strict_aws: StrictAws) -> None:
    strict_aws.deny("tag:GetResources")
    seeded = {queue(strict_aws, "q1", tags()), role(strict_aws, "r1", tags())}

    result = sweep(AwsSweeper(strict_aws.env), MARKS)

    assert keys(result.removed) == seeded  # the queue by SQS's own listing
    assert [(f.kind, f.id) for f, _ in result.failed] == [("aws:tagging-api", UNLISTED)]


def test_a_throttled_page_is_asked_again_without_restarting_the_listing(
    strict_aws: StrictAws,
) -> None:
    seeded = {log_group(strict_aws, f"/many/{n:02}", tags()) for n in range(60)}  # two pages
    strict_aws.throttle("tag:GetResources", times=2, after=1)

    found = AwsSweeper(strict_aws.env).find(MARKS)

    assert keys(found) == seeded
    assert strict_aws.answers("tag:GetResources") == [
        "moto", "ThrottledException", "ThrottledException", "moto",
    ]  # fmt: skip


def test_5xx_timeouts_and_dropped_connections_are_retried(strict_aws: StrictAws) -> None:
    seeded = {
        queue(strict_aws, "q1", tags()),
        bucket(strict_aws, "b1-bucket", tags()),
        table(strict_aws, "t1", tags()),
        role(strict_aws, "r1", tags()),
    }
    strict_aws.timeout("tag:GetResources")
    strict_aws.drop("iam:ListRoles")
    strict_aws.fail("s3:ListObjectVersions", status=503)
    strict_aws.fail("dynamodb:DeleteTable", status=500)
    strict_aws.throttle("sqs:DeleteQueue", times=2)

    result = sweep(AwsSweeper(strict_aws.env), MARKS)

    assert (result.remaining, result.failed) == ([], [])
    assert keys(result.removed) == seeded
    assert result.passes == 1  # each call retried on its own: no second pass was needed
    assert strict_aws.answers("iam:ListRoles")[:2] == ["dropped", "moto"]
    assert strict_aws.answers("sqs:DeleteQueue") == ["RequestThrottled"] * 2 + ["moto"]


def test_a_labs_network_is_swept_on_strict_aws(strict_aws: StrictAws) -> None:
    """DependencyViolation until each dependent is gone; the NAT gateway stays `deleting`
    for a while and holds its address and subnet meanwhile."""
    strict_aws.slow_delete("ec2:DeleteNatGateway", seconds=2)
    ec2 = strict_aws.moto("ec2")

    def spec(kind: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": tag_list(tags())}]

    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=spec("vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24", TagSpecifications=spec("subnet"))
    igw = ec2.create_internet_gateway(TagSpecifications=spec("internet-gateway"))
    igw_id = igw["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc)
    address = ec2.allocate_address(Domain="vpc", TagSpecifications=spec("elastic-ip"))
    ec2.create_nat_gateway(
        SubnetId=subnet["Subnet"]["SubnetId"],
        AllocationId=address["AllocationId"],
        TagSpecifications=spec("natgateway"),
    )

    result = sweep(AwsSweeper(strict_aws.env), MARKS)

    assert (result.remaining, result.failed) == ([], [])
    assert {kind for kind, _ in keys(result.removed)} == {
        "aws:ec2:vpc", "aws:ec2:subnet", "aws:ec2:internet-gateway", "aws:ec2:elastic-ip",
        "aws:ec2:natgateway",
    }  # fmt: skip
    assert [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")] == []


def test_stop_on_strict_aws_sweeps_what_it_may_and_names_what_it_could_not(
    strict_aws: StrictAws, tmp_path: Path, test_labs: Path, labrun_home: Path
) -> None:
    """The whole `labrun stop`, on a restricted learner's AWS: no iam:ListRoles."""
    labs = tmp_path / "labs"
    shutil.copytree(test_labs / "s3-hello", labs / "s3-hello")
    manifest = labs / "s3-hello" / "lab.toml"
    manifest.write_text(manifest.read_text().replace('["local"]', '["local", "aws"]'))
    labrun_home.mkdir(parents=True, exist_ok=True)
    (labrun_home / "config.toml").write_text('[aws]\nallowed_account_ids = ["123456789012"]\n')
    start = ("start", "s3-hello", "--labs-dir", str(labs), "--target", "aws")
    session = labrun_json(*start, env=strict_aws.env)["session"]
    # The learner's own queue, tagged by hand with the session's id alone.
    queue(strict_aws, "learners-queue", {"labrun:session": session})
    strict_aws.deny("iam:ListRoles")
    strict_aws.throttle("s3", times=2)

    stopped = labrun("stop", "--json", env=strict_aws.env)

    receipt = json.loads(stopped.stdout)
    assert stopped.returncode == 1 and receipt["ok"] is False
    denied = [e for e in receipt["errors"] if e.startswith("aws:iam:role *: ")]
    assert len(denied) == 1 and "AccessDenied" in denied[0] and "iam:ListRoles" in denied[0]
    assert {(r["kind"], r["id"]) for r in receipt["swept"]} >= {("aws:sqs:queue", "learners-queue")}
    assert queues(strict_aws) == []
    assert strict_aws.moto("s3").list_buckets()["Buckets"] == []


def test_a_call_that_keeps_failing_is_tried_three_times_then_named(strict_aws: StrictAws) -> None:
    seeded = {queue(strict_aws, "q1", tags())}
    role(strict_aws, "r1", tags())
    strict_aws.drop("iam:ListRoles", times=None)  # the connection drops, every time

    result = sweep(AwsSweeper(strict_aws.env), MARKS)

    assert keys(result.removed) == seeded
    assert [(f.kind, f.id) for f, _ in result.failed] == [("aws:iam:role", UNLISTED)]
    assert "ConnectionClosedError" in result.errors[0]
    # Three attempts in each of the two listings (the first, and the final one, at once
    # after a pass where every delete succeeded), not eight: a place that is down is
    # reported, not waited for.
    assert strict_aws.answers("iam:ListRoles") == ["dropped"] * 6
