"""The AWS sweeper against a real moto server (the local cloud labrun starts).

One world is seeded per test: a resource of every registered type tagged with session s1
and owner o1, and survivors of several types that must never be touched: untagged ones,
ones of another live session (s2, same owner), ones of s1 but of another owner.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from labrun import localcloud
from labrun.sweep import FOREIGN, OURS, Found, Marks, sweep
from labrun.sweep.aws import (
    FAILED,
    THROTTLED,
    AwsSweeper,
    Retry,
    UnsupportedResource,
    account_id,
    classify,
    retry_reason,
    unknown_kind,
)
from labrun.sweep.aws_types import REGISTRY, carries, moment

LAMBDA = {"Service": "lambda.amazonaws.com"}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": LAMBDA, "Action": "sts:AssumeRole"}],
}
DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
AMI = "ami-12c6146b"  # moto accepts any


def tags(session: str | None, owner: str | None = "o1") -> dict[str, str]:
    marks = {"labrun:session": session, "labrun:owner": owner, "labrun:lab": "demo"}
    return {key: value for key, value in marks.items() if value is not None}


def tag_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in values.items()]


@dataclass
class Cloud:
    """boto3 clients on the local cloud, and what the test seeded (kind -> ids) per group."""

    env: dict[str, str]
    clients: dict[str, Any] = field(default_factory=dict)
    seeded: dict[str, set[tuple[str, str]]] = field(default_factory=dict)

    def __call__(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(
                service,
                endpoint_url=self.env["AWS_ENDPOINT_URL"],
                region_name=self.env["AWS_REGION"],
                aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            )
        return self.clients[service]

    def add(self, group: str, kind: str, id: str) -> None:
        self.seeded.setdefault(group, set()).add((kind, id))


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    status = localcloud.ensure_running()
    assert status.endpoint
    yield Cloud(localcloud.aws_env(status.endpoint))


# Seeding: one function per service, each adding what it made to `cloud.seeded[group]`.


def seed_s3(cloud: Cloud, group: str, name: str, marks: dict[str, str] | None) -> None:
    s3 = cloud("s3")
    s3.create_bucket(Bucket=name)
    if marks:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(marks)})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two", b"three"):
        s3.put_object(Bucket=name, Key="data.txt", Body=body)
    s3.put_object(Bucket=name, Key="other.txt", Body=b"x")
    s3.delete_object(Bucket=name, Key="data.txt")  # a delete marker on top of three versions
    cloud.add(group, "aws:s3:bucket", name)


def seed_simple(cloud: Cloud, group: str, prefix: str, marks: dict[str, str] | None) -> None:
    """A queue, a table, a log group and an ECR repository."""
    marks = marks or {}
    cloud("sqs").create_queue(QueueName=f"{prefix}-queue", tags=marks)
    cloud("dynamodb").create_table(
        TableName=f"{prefix}-table",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **({"Tags": tag_list(marks)} if marks else {}),
    )
    cloud("logs").create_log_group(
        logGroupName=f"/{prefix}/logs", **({"tags": marks} if marks else {})
    )
    cloud("ecr").create_repository(repositoryName=f"{prefix}-repo", tags=tag_list(marks))
    for kind, id in (
        ("aws:sqs:queue", f"{prefix}-queue"),
        ("aws:dynamodb:table", f"{prefix}-table"),
        ("aws:logs:log-group", f"/{prefix}/logs"),
        ("aws:ecr:repository", f"{prefix}-repo"),
    ):
        cloud.add(group, kind, id)


def seed_ec2(cloud: Cloud, group: str, prefix: str, marks: dict[str, str]) -> None:
    """An instance in a security group, its root volume, an attached data volume, an
    associated elastic IP and a key pair."""
    ec2 = cloud("ec2")
    spec = [{"ResourceType": kind, "Tags": tag_list(marks)} for kind in ("instance", "volume")]
    group_id = ec2.create_security_group(
        GroupName=f"{prefix}-sg",
        Description="web",
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(marks)}],
    )["GroupId"]
    instance = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[group_id], TagSpecifications=spec
    )["Instances"][0]
    root = instance["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    zone = instance["Placement"]["AvailabilityZone"]
    volume = ec2.create_volume(AvailabilityZone=zone, Size=1, TagSpecifications=spec[1:])
    ec2.attach_volume(
        VolumeId=volume["VolumeId"], InstanceId=instance["InstanceId"], Device="/dev/sdf"
    )
    address = ec2.allocate_address(
        Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": tag_list(marks)}]
    )
    ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=instance["InstanceId"])
    pair = ec2.create_key_pair(
        KeyName=f"{prefix}-key",
        TagSpecifications=[{"ResourceType": "key-pair", "Tags": tag_list(marks)}],
    )
    for kind, id in (
        ("aws:ec2:instance", instance["InstanceId"]),
        ("aws:ec2:security-group", group_id),
        ("aws:ec2:volume", root),
        ("aws:ec2:volume", volume["VolumeId"]),
        ("aws:ec2:elastic-ip", address["AllocationId"]),
        ("aws:ec2:key-pair", pair["KeyName"]),
    ):
        cloud.add(group, kind, id)


def seed_iam(cloud: Cloud, group: str, prefix: str, marks: dict[str, str]) -> str:
    """A role with an attached managed policy (two versions), an inline policy and an
    instance profile; a user with an access key, a login profile and the same policies.
    Returns the role's ARN."""
    iam = cloud("iam")
    policy = iam.create_policy(
        PolicyName=f"{prefix}-policy", PolicyDocument=json.dumps(DOCUMENT), Tags=tag_list(marks)
    )["Policy"]["Arn"]
    iam.create_policy_version(
        PolicyArn=policy, PolicyDocument=json.dumps(DOCUMENT), SetAsDefault=True
    )
    role = iam.create_role(
        RoleName=f"{prefix}-role", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=tag_list(marks)
    )["Role"]["Arn"]
    iam.attach_role_policy(RoleName=f"{prefix}-role", PolicyArn=policy)
    iam.put_role_policy(
        RoleName=f"{prefix}-role", PolicyName="inline", PolicyDocument=json.dumps(DOCUMENT)
    )
    iam.create_instance_profile(InstanceProfileName=f"{prefix}-profile")
    iam.add_role_to_instance_profile(
        InstanceProfileName=f"{prefix}-profile", RoleName=f"{prefix}-role"
    )
    iam.create_user(UserName=f"{prefix}-user", Tags=tag_list(marks))
    iam.create_access_key(UserName=f"{prefix}-user")
    iam.create_login_profile(UserName=f"{prefix}-user", Password="Sw33p-me-please!")
    iam.attach_user_policy(UserName=f"{prefix}-user", PolicyArn=policy)
    iam.put_user_policy(
        UserName=f"{prefix}-user", PolicyName="inline", PolicyDocument=json.dumps(DOCUMENT)
    )
    cloud.add(group, "aws:iam:policy", policy)
    cloud.add(group, "aws:iam:role", f"{prefix}-role")
    cloud.add(group, "aws:iam:instance-profile", f"{prefix}-profile")  # made after its role
    cloud.add(group, "aws:iam:user", f"{prefix}-user")
    return str(role)


def seed_lambda(cloud: Cloud, group: str, name: str, role: str, marks: dict[str, str]) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("handler.py", "def handle(event, context):\n    return 1\n")
    cloud("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="handler.handle",
        Code={"ZipFile": archive.getvalue()},
        Tags=marks,
    )  # moto stores it; nothing runs, so no Docker is needed
    cloud.add(group, "aws:lambda:function", name)


@pytest.fixture
def world(cloud: Cloud) -> Cloud:
    """s1/o1: one of every registered type. Survivors: untagged, s2/o1, s1/other."""
    s1 = tags("s1")
    seed_s3(cloud, "s1", "s1-bucket", s1)
    seed_simple(cloud, "s1", "s1", s1)
    seed_ec2(cloud, "s1", "s1", s1)
    role = seed_iam(cloud, "s1", "s1", s1)
    seed_lambda(cloud, "s1", "s1-function", role, s1)

    seed_s3(cloud, "untagged", "plain-bucket", None)
    seed_simple(cloud, "untagged", "plain", None)
    cloud("iam").create_role(RoleName="plain-role", AssumeRolePolicyDocument=json.dumps(TRUST))
    cloud.add("untagged", "aws:iam:role", "plain-role")

    s2 = tags("s2")
    seed_s3(cloud, "s2", "s2-bucket", s2)
    seed_simple(cloud, "s2", "s2", s2)
    seed_ec2(cloud, "s2", "s2", s2)
    seed_iam(cloud, "s2", "s2", s2)

    other = tags("s1", owner="other")
    seed_s3(cloud, "other", "other-bucket", other)
    seed_simple(cloud, "other", "other", other)
    seed_iam(cloud, "other", "other", other)
    return cloud


# How to list every resource of each type, straight from its API: (kind, service, operation,
# result key, id field, arguments). No id field: the item is the id, or a URL ending with it.
LISTINGS: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
    ("aws:s3:bucket", "s3", "list_buckets", "Buckets", "Name", {}),
    ("aws:sqs:queue", "sqs", "list_queues", "QueueUrls", "", {}),
    ("aws:dynamodb:table", "dynamodb", "list_tables", "TableNames", "", {}),
    ("aws:logs:log-group", "logs", "describe_log_groups", "logGroups", "logGroupName", {}),
    ("aws:ecr:repository", "ecr", "describe_repositories", "repositories", "repositoryName", {}),
    ("aws:lambda:function", "lambda", "list_functions", "Functions", "FunctionName", {}),
    ("aws:iam:user", "iam", "list_users", "Users", "UserName", {}),
    ("aws:iam:role", "iam", "list_roles", "Roles", "RoleName", {}),
    ("aws:iam:policy", "iam", "list_policies", "Policies", "Arn", {"Scope": "Local"}),
    (
        "aws:iam:instance-profile",
        "iam",
        "list_instance_profiles",
        "InstanceProfiles",
        "InstanceProfileName",
        {},
    ),
    ("aws:ec2:volume", "ec2", "describe_volumes", "Volumes", "VolumeId", {}),
    ("aws:ec2:security-group", "ec2", "describe_security_groups", "SecurityGroups", "GroupId", {}),
    ("aws:ec2:elastic-ip", "ec2", "describe_addresses", "Addresses", "AllocationId", {}),
    ("aws:ec2:key-pair", "ec2", "describe_key_pairs", "KeyPairs", "KeyName", {}),
]
LIVE = [{"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]}]


def inventory(cloud: Cloud) -> set[tuple[str, str]]:
    """Every resource of the registered types, listed straight from the APIs."""
    found = set()
    for kind, service, operation, key, id_field, arguments in LISTINGS:
        for item in getattr(cloud(service), operation)(**arguments).get(key, []):
            found.add((kind, item[id_field] if id_field else item.rsplit("/", 1)[-1]))
    reservations = cloud("ec2").describe_instances(Filters=LIVE)["Reservations"]
    found |= {("aws:ec2:instance", i["InstanceId"]) for r in reservations for i in r["Instances"]}
    return found


def keys(found: list[Found]) -> set[tuple[str, str]]:
    return {(f.kind, f.id) for f in found}


def test_find_selects_by_session_and_owner(world: Cloud) -> None:
    sweeper = AwsSweeper(world.env)
    s1, s2, other = world.seeded["s1"], world.seeded["s2"], world.seeded["other"]
    # The world covers every registered type but the network's, which has its own test,
    # and those tests/test_sweep_aws_types.py covers, one test each.
    network = {"aws:ec2:natgateway", "aws:ec2:internet-gateway", "aws:ec2:subnet", "aws:ec2:vpc"}
    alone = {"aws:ec2:vpc-endpoint", "aws:ec2:network-interface", "aws:ec2:route-table",
             "aws:ec2:network-acl", "aws:ec2:egress-only-internet-gateway",
             "aws:kms:key", "aws:secretsmanager:secret"}  # fmt: skip
    assert {kind for kind, _ in s1} == set(REGISTRY) - network - alone

    found = sweeper.find(Marks("s1", "o1"))
    assert keys(found) == s1
    assert len(found) == len(s1)  # each once: the tagging API and the listers do not overlap
    assert {(f.session, f.owner) for f in found} == {("s1", "o1")}
    kinds = [f.kind for f in found]
    for first, then in [
        ("aws:ec2:instance", "aws:ec2:volume"),
        ("aws:ec2:instance", "aws:ec2:security-group"),
        ("aws:ec2:elastic-ip", "aws:ec2:security-group"),
        ("aws:lambda:function", "aws:iam:role"),
        ("aws:iam:role", "aws:iam:policy"),
        ("aws:iam:user", "aws:iam:policy"),
    ]:
        assert kinds.index(first) < kinds.index(then), (first, then)

    assert keys(sweeper.find(Marks(None, "o1"))) == s1 | s2
    assert keys(sweeper.find(Marks("s1", None))) == s1 | other
    assert keys(sweeper.find(Marks(None, None))) == s1 | s2 | other
    assert sweeper.find(Marks("nobody", None)) == []


def test_sweep_removes_the_session_and_spares_everything_else(world: Cloud) -> None:
    sweeper = AwsSweeper(world.env)
    survivors = world.seeded["untagged"] | world.seeded["s2"] | world.seeded["other"]
    assert inventory(world) >= world.seeded["s1"] | survivors

    result = sweep(sweeper, Marks("s1", "o1"))

    # s1's resources with another owner's mark are not deleted: reported as remaining
    assert result.failed == [] and keys(result.remaining) == world.seeded["other"]
    assert all("another owner's (other)" in r.reason for r in result.remaining)
    assert keys(result.removed) == world.seeded["s1"]
    left = inventory(world)
    assert left & world.seeded["s1"] == set()
    assert left >= survivors
    for bucket in ("plain-bucket", "s2-bucket", "other-bucket"):  # contents untouched too
        versions = world("s3").list_object_versions(Bucket=bucket)
        assert len(versions["Versions"]) == 4 and len(versions["DeleteMarkers"]) == 1
    iam = world("iam")
    assert iam.list_attached_role_policies(RoleName="s2-role")["AttachedPolicies"]
    assert iam.list_access_keys(UserName="other-user")["AccessKeyMetadata"]

    again = sweep(sweeper, Marks("s1", "o1"))
    assert (again.passes, again.removed) == (0, [])
    assert keys(again.remaining) == world.seeded["other"]
    for resource in result.removed:  # deleting what is gone is success
        sweeper.delete(resource)


def test_unmarked_since_reports_only_untagged_resources_made_after_it(cloud: Cloud) -> None:
    seed_simple(cloud, "before", "old", None)
    cloud("iam").create_user(UserName="old-user")
    time.sleep(1.05)  # some APIs keep whole seconds only
    since = datetime.now(UTC).replace(microsecond=0)
    seed_simple(cloud, "after", "new", None)
    seed_simple(cloud, "tagged", "mine", tags("s1"))
    seed_s3(cloud, "after", "new-bucket", None)
    iam = cloud("iam")
    iam.create_user(UserName="new-user")
    role = iam.create_role(RoleName="new-role", AssumeRolePolicyDocument=json.dumps(TRUST))
    cloud.add("after", "aws:iam:user", "new-user")
    cloud.add("after", "aws:iam:role", "new-role")
    seed_lambda(cloud, "after", "new-function", role["Role"]["Arn"], {})
    instance = cloud("ec2").run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]
    cloud.add("after", "aws:ec2:instance", instance["InstanceId"])  # its root volume goes with it

    reported = AwsSweeper(cloud.env).unmarked_since(since)

    assert keys(reported) == cloud.seeded["after"]
    assert {f.reason for f in reported} == {"unmarked"}


def test_a_tagged_resource_of_an_unknown_type_is_reported_not_left_silently(cloud: Cloud) -> None:
    topic = cloud("sns").create_topic(Name="s1-topic", Tags=tag_list(tags("s1")))["TopicArn"]
    sweeper = AwsSweeper(cloud.env)

    result = sweep(sweeper, Marks("s1", "o1"), max_passes=2)

    assert keys(result.remaining) == {("aws:sns", topic)}
    assert [error for _, error in result.failed] == [
        f"UnsupportedResource: labrun cannot delete aws:sns resources: delete {topic} by hand"
    ]
    with pytest.raises(UnsupportedResource):
        sweeper.delete(result.remaining[0])


def test_account_id_is_the_local_clouds(cloud: Cloud) -> None:
    assert account_id(cloud.env) == "123456789012"


# Without a cloud: retries, ARNs, marks, times.


def test_retries_follow_botocores_standard_mode() -> None:
    for code in ("Throttling", "RequestLimitExceeded", "SlowDown", "ThrottledException"):
        assert retry_reason(code, 400, None) == THROTTLED
    assert retry_reason("RequestTimeout", 400, None) == FAILED
    assert retry_reason("InternalError", 500, None) == retry_reason(None, 503, None) == FAILED
    assert retry_reason("AccessDenied", 403, None) is None
    assert retry_reason("DependencyViolation", 400, None) is None
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

    assert retry_reason(None, None, ConnectionClosedError(endpoint_url="http://x")) == FAILED
    assert retry_reason(None, None, ReadTimeoutError(endpoint_url="http://x")) == FAILED
    assert retry_reason(None, None, ValueError("bad input")) is None
    retry = Retry(attempts=8, failed_attempts=3)
    assert retry.allows(THROTTLED, 7) and not retry.allows(THROTTLED, 8)
    assert retry.allows(FAILED, 2) and not retry.allows(FAILED, 3)


def test_backoff_grows_with_full_jitter_and_a_cap() -> None:
    retry = Retry(attempts=8, base=0.5, cap=4.0)
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (7, 4.0)):
        delays = [retry.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jittered over the whole range


@pytest.mark.parametrize(
    ("arn", "kind", "id"),
    [
        ("arn:aws:s3:::my-bucket", "aws:s3:bucket", "my-bucket"),
        ("arn:aws:sqs:us-east-1:123456789012:q1", "aws:sqs:queue", "q1"),
        ("arn:aws:ec2:us-east-1:123456789012:instance/i-0abc", "aws:ec2:instance", "i-0abc"),
        ("arn:aws:ec2:us-east-1:123456789012:volume/vol-1", "aws:ec2:volume", "vol-1"),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/t1", "aws:dynamodb:table", "t1"),
        ("arn:aws:logs:us-east-1:123456789012:log-group:/a/b:*", "aws:logs:log-group", "/a/b"),
        ("arn:aws:logs:us-east-1:123456789012:log-group:/a/b", "aws:logs:log-group", "/a/b"),
        ("arn:aws:lambda:us-east-1:123456789012:function:f1", "aws:lambda:function", "f1"),
        ("arn:aws:ecr:us-east-1:123456789012:repository/a/b", "aws:ecr:repository", "a/b"),
        ("arn:aws:iam::123456789012:user/dev/u1", "aws:iam:user", "u1"),
        ("arn:aws:iam::123456789012:role/r1", "aws:iam:role", "r1"),
        ("arn:aws:iam::123:policy/p1", "aws:iam:policy", "arn:aws:iam::123:policy/p1"),
        ("arn:aws-cn:s3:::cn-bucket", "aws:s3:bucket", "cn-bucket"),
    ],
)
def test_arns_are_recognised(arn: str, kind: str, id: str) -> None:
    rtype, found_id = classify(arn)
    assert rtype is not None and (rtype.kind, found_id) == (kind, id)


def test_unknown_arns_get_a_kind_from_their_service_and_type() -> None:
    tgw = "arn:aws:ec2:us-east-1:123456789012:transit-gateway/tgw-1"
    assert classify(tgw) == (None, tgw)
    assert unknown_kind(tgw) == "aws:ec2:transit-gateway"
    assert unknown_kind("arn:aws:sns:us-east-1:123456789012:topic") == "aws:sns"
    assert unknown_kind("arn:aws:rds:us-east-1:123456789012:db:main") == "aws:rds:db"


def test_marks_match_session_and_owner_tags() -> None:
    assert carries(tags("s1"), Marks("s1", "o1"))
    assert carries(tags("s1"), Marks(None, None))
    assert not carries(tags("s1"), Marks("s2", None))
    assert not carries(tags("s1", owner="other"), Marks(None, "o1"))
    assert not carries({"labrun:owner": "o1"}, Marks(None, "o1"))  # no session mark at all


def test_the_session_id_is_the_mark_and_another_owners_mark_only_excludes() -> None:
    session = Marks("s1", "o1")
    assert session.claim("s1", "o1") == OURS
    assert session.claim("s1", None) == OURS  # tagged by hand with the session id alone
    assert session.claim("s1", "o2") == FOREIGN  # reported, never deleted
    assert session.claim("s2", "o1") is None and session.claim(None, "o1") is None
    orphans = Marks(None, "o1")  # an owner's orphans: only what carries the owner's mark
    assert orphans.claim("s9", "o1") == OURS
    assert orphans.claim("s9", None) is None and orphans.claim("s9", "o2") is None
    assert Marks(None, None).claim("s9", "o2") == OURS  # --all-owners


def test_creation_times_of_every_shape_are_read_as_utc() -> None:
    expected = datetime(2026, 11, 27, 10, 5, 31, tzinfo=UTC)
    assert moment("2026-11-27T10:05:31.000000000Z") == expected  # Lambda, moto
    assert moment("2026-11-27T10:05:31.000+0000") == expected  # Lambda, AWS
    assert moment(str(expected.timestamp())) == expected  # SQS: Unix seconds as text
    assert moment(expected.timestamp() * 1000 / 1000) == expected
    assert moment(datetime(2026, 11, 27, 10, 5, 31)) == expected  # naive: UTC
    assert moment(None) is None and moment("soon") is None


def test_clients_follow_the_session_env_not_labruns_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # labrun's own environment
    real = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-3"}
    assert AwsSweeper(real).client("sqs").meta.endpoint_url == "https://sqs.eu-west-3.amazonaws.com"
    local = {**real, "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}
    assert AwsSweeper(local).client("sqs").meta.endpoint_url == "http://127.0.0.1:4566"


def test_a_labs_network_is_swept_nat_gateway_first_and_the_default_vpc_survives(
    cloud: Cloud,
) -> None:
    ec2 = cloud("ec2")
    marks = tags("net1")

    def tagged(kind: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": tag_list(marks)}]

    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=tagged("vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(
        VpcId=vpc, CidrBlock="10.9.1.0/24", TagSpecifications=tagged("subnet")
    )["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway(TagSpecifications=tagged("internet-gateway"))[
        "InternetGateway"
    ]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=tagged("elastic-ip"))
    nat = ec2.create_nat_gateway(
        SubnetId=subnet, AllocationId=eip["AllocationId"], TagSpecifications=tagged("natgateway")
    )["NatGateway"]["NatGatewayId"]
    default_vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault")]

    sweeper = AwsSweeper(cloud.env)
    found = sweeper.find(Marks("net1", "o1"))
    order = [f.kind for f in found]
    assert order.index("aws:ec2:natgateway") < order.index("aws:ec2:elastic-ip")
    assert order.index("aws:ec2:subnet") < order.index("aws:ec2:vpc")
    result = sweep(sweeper, Marks("net1", "o1"))
    assert result.remaining == [] and result.failed == []
    assert {(f.kind, f.id) for f in result.removed} >= {
        ("aws:ec2:natgateway", nat), ("aws:ec2:vpc", vpc), ("aws:ec2:subnet", subnet),
        ("aws:ec2:internet-gateway", igw), ("aws:ec2:elastic-ip", eip["AllocationId"]),
    }  # fmt: skip
    assert [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault")] == default_vpcs
