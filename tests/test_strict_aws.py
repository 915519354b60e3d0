"""The strict-AWS harness itself: each strictness it adds, seen through plain boto3 clients."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from testing.strict_aws import StrictAws

AMI = "ami-12c6146b"
EC2 = {"Service": "ec2.amazonaws.com"}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": EC2, "Action": "sts:AssumeRole"}],
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
MARKS = {"labrun:session": "s1", "labrun:owner": "o1"}


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def tagged(strict: StrictAws) -> set[str]:
    """The ARNs GetResources returns through the proxy for the s1 mark."""
    pages = strict.client("resourcegroupstaggingapi").get_paginator("get_resources")
    filters = [{"Key": "labrun:session", "Values": ["s1"]}]
    return {m["ResourceARN"] for p in pages.paginate(TagFilters=filters)
            for m in p["ResourceTagMappingList"]}  # fmt: skip


def test_calls_pass_through_and_are_named_like_aws_names_them(strict_aws: StrictAws) -> None:
    s3, sqs, ec2 = strict_aws.client("s3"), strict_aws.client("sqs"), strict_aws.client("ec2")
    s3.create_bucket(Bucket="strict-bucket")
    s3.put_bucket_tagging(Bucket="strict-bucket", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["strict-bucket"]
    sqs.create_queue(QueueName="strict-queue")
    ec2.describe_vpcs()
    strict_aws.client("iam").list_roles()
    strict_aws.client("resourcegroupstaggingapi").get_resources()
    assert [(c.action, c.answer) for c in strict_aws.calls] == [
        ("s3:CreateBucket", "moto"), ("s3:PutBucketTagging", "moto"), ("s3:ListBuckets", "moto"),
        ("sqs:CreateQueue", "moto"), ("ec2:DescribeVpcs", "moto"), ("iam:ListRoles", "moto"),
        ("tag:GetResources", "moto"),
    ]  # fmt: skip


def test_deny_refuses_one_action_with_access_denied(strict_aws: StrictAws) -> None:
    strict_aws.deny("iam:ListRoles")
    iam = strict_aws.client("iam")
    with pytest.raises(ClientError) as denied:
        iam.list_roles()
    assert code(denied) == "AccessDenied"
    assert "iam:ListRoles" in str(denied.value)
    iam.list_users()  # only that action
    strict_aws.deny("dynamodb:ListTables", times=1)
    with pytest.raises(ClientError) as json_denied:
        strict_aws.client("dynamodb").list_tables()
    assert code(json_denied) == "AccessDeniedException"
    strict_aws.client("dynamodb").list_tables()  # once only
    assert strict_aws.answers("iam:ListRoles") == ["AccessDenied"]


@pytest.mark.parametrize(
    ("service", "call", "expected"),
    [
        ("ec2", lambda c: c.describe_vpcs(), "RequestLimitExceeded"),
        ("iam", lambda c: c.list_users(), "Throttling"),
        ("s3", lambda c: c.list_buckets(), "SlowDown"),
        ("sqs", lambda c: c.list_queues(), "RequestThrottled"),
        ("dynamodb", lambda c: c.list_tables(), "ThrottlingException"),
        ("lambda", lambda c: c.list_functions(), "TooManyRequestsException"),
        ("resourcegroupstaggingapi", lambda c: c.get_resources(), "ThrottledException"),
    ],
)
def test_throttling_answers_with_each_services_own_code(
    strict_aws: StrictAws, service: str, call: Any, expected: str
) -> None:
    strict_aws.throttle(service.replace("resourcegroupstaggingapi", "tag"), times=2)
    client = strict_aws.client(service)
    for _ in range(2):
        with pytest.raises(ClientError) as throttled:
            call(client)
        assert code(throttled) == expected
    call(client)  # the burst is over
    # botocore's standard retry mode takes them for throttling: it retries through a burst
    strict_aws.throttle(service.replace("resourcegroupstaggingapi", "tag"), times=2)
    retrying = boto3.client(
        service,
        endpoint_url=strict_aws.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    call(retrying)


def test_5xx_request_timeouts_and_dropped_connections(strict_aws: StrictAws) -> None:
    sqs = strict_aws.client("sqs")
    strict_aws.fail("sqs:ListQueues", status=503)
    with pytest.raises(ClientError) as unavailable:
        sqs.list_queues()
    assert unavailable.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    strict_aws.fail("s3", status=500)
    with pytest.raises(ClientError) as internal:
        strict_aws.client("s3").list_buckets()
    assert (code(internal), internal.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InternalError", 500,
    )  # fmt: skip
    strict_aws.timeout("iam:ListUsers")
    with pytest.raises(ClientError) as timed_out:
        strict_aws.client("iam").list_users()
    assert code(timed_out) == "RequestTimeout"
    strict_aws.drop("ec2:DescribeVpcs")
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        strict_aws.client("ec2").describe_vpcs()
    strict_aws.client("ec2").describe_vpcs()
    assert strict_aws.answers("ec2:DescribeVpcs") == ["dropped", "moto"]


def test_ghosts_stay_in_the_tagging_api_after_their_delete(strict_aws: StrictAws) -> None:
    sqs = strict_aws.client("sqs")
    url = sqs.create_queue(QueueName="ghost-queue", tags=MARKS)["QueueUrl"]
    kept = sqs.create_queue(QueueName="kept-queue", tags={"labrun:session": "s2"})["QueueUrl"]
    arn = "arn:aws:sqs:us-east-1:123456789012:ghost-queue"
    assert tagged(strict_aws) == {arn}
    strict_aws.ghosts(seconds=0.5)
    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=kept)  # another session's ghost: not selected by the filter
    assert tagged(strict_aws) == {arn}  # gone from SQS, still in the tagging API
    assert sqs.list_queues().get("QueueUrls", []) == []
    time.sleep(0.6)
    assert tagged(strict_aws) == set()


def test_late_arrivals_are_missing_from_the_tagging_api_for_a_while(
    strict_aws: StrictAws,
) -> None:
    sqs = strict_aws.client("sqs")
    sqs.create_queue(QueueName="old-queue", tags=MARKS)
    strict_aws.late(seconds=0.5)
    sqs.create_queue(QueueName="new-queue", tags=MARKS)
    old = "arn:aws:sqs:us-east-1:123456789012:old-queue"
    assert tagged(strict_aws) == {old}
    assert len(sqs.list_queues()["QueueUrls"]) == 2  # the service itself lists it
    time.sleep(0.6)
    assert tagged(strict_aws) == {old, "arn:aws:sqs:us-east-1:123456789012:new-queue"}


def test_ec2_refuses_to_delete_what_something_still_depends_on(strict_aws: StrictAws) -> None:
    ec2 = strict_aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    instance = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[group]
    )["Instances"][0]["InstanceId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)

    for call in (
        lambda: ec2.delete_security_group(GroupId=group),
        lambda: ec2.delete_subnet(SubnetId=subnet),
        lambda: ec2.delete_vpc(VpcId=vpc),
        lambda: ec2.delete_internet_gateway(InternetGatewayId=igw),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert code(refused) == "DependencyViolation"

    ec2.terminate_instances(InstanceIds=[instance])
    ec2.delete_security_group(GroupId=group)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.delete_vpc(VpcId=vpc)


def test_iam_refuses_with_delete_conflict_until_detached(strict_aws: StrictAws) -> None:
    iam = strict_aws.client("iam")
    policy = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.create_user(UserName="u")
    key = iam.create_access_key(UserName="u")["AccessKey"]["AccessKeyId"]
    iam.attach_user_policy(UserName="u", PolicyArn=policy)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.create_instance_profile(InstanceProfileName="ip")
    iam.add_role_to_instance_profile(InstanceProfileName="ip", RoleName="r")

    for call in (
        lambda: iam.delete_user(UserName="u"),
        lambda: iam.delete_role(RoleName="r"),
        lambda: iam.delete_policy(PolicyArn=policy),
        lambda: iam.delete_instance_profile(InstanceProfileName="ip"),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert code(refused) == "DeleteConflict"
    assert iam.get_user(UserName="u")  # still there: moto was never asked

    iam.delete_access_key(UserName="u", AccessKeyId=key)
    iam.detach_user_policy(UserName="u", PolicyArn=policy)
    iam.delete_user(UserName="u")
    iam.delete_policy(PolicyArn=policy)
    iam.remove_role_from_instance_profile(InstanceProfileName="ip", RoleName="r")
    iam.delete_role(RoleName="r")
    iam.delete_instance_profile(InstanceProfileName="ip")


def test_service_specific_credentials_are_emulated_and_block_delete_user(
    strict_aws: StrictAws,
) -> None:
    iam = strict_aws.client("iam")
    iam.create_user(UserName="dev")
    created = iam.create_service_specific_credential(
        UserName="dev", ServiceName="codecommit.amazonaws.com"
    )["ServiceSpecificCredential"]
    listed = iam.list_service_specific_credentials(UserName="dev")["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in listed] == [
        created["ServiceSpecificCredentialId"]
    ]
    with pytest.raises(ClientError) as conflict:
        iam.delete_user(UserName="dev")
    assert code(conflict) == "DeleteConflict"
    iam.delete_service_specific_credential(
        UserName="dev", ServiceSpecificCredentialId=created["ServiceSpecificCredentialId"]
    )
    iam.delete_user(UserName="dev")
    assert strict_aws.answers("iam:DeleteUser") == ["DeleteConflict", "moto"]


def test_a_policy_used_as_a_boundary_is_listed_as_such_and_cannot_be_deleted(
    strict_aws: StrictAws,
) -> None:
    iam = strict_aws.client("iam")
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}  # fmt: skip
    policy = iam.create_policy(PolicyName="edge", PolicyDocument=json.dumps(document))
    arn = policy["Policy"]["Arn"]
    iam.create_role(RoleName="bounded", AssumeRolePolicyDocument="{}", PermissionsBoundary=arn)
    boundary = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsBoundary")
    assert [role["RoleName"] for role in boundary["PolicyRoles"]] == ["bounded"]
    with pytest.raises(ClientError) as conflict:
        iam.delete_policy(PolicyArn=arn)
    assert code(conflict) == "DeleteConflict"
    iam.delete_role_permissions_boundary(RoleName="bounded")
    iam.delete_policy(PolicyArn=arn)


def test_dependencies_can_be_lenient_like_moto(strict_aws: StrictAws) -> None:
    strict_aws.dependencies(False)
    ec2 = strict_aws.client("ec2")
    group = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[group])
    ec2.delete_security_group(GroupId=group)  # moto allows it, AWS would not


def test_a_nat_gateway_stays_deleting_and_holds_its_address(strict_aws: StrictAws) -> None:
    ec2 = strict_aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=address)["NatGateway"]
    strict_aws.slow_delete("ec2:DeleteNatGateway", seconds=1.0)

    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])

    def state() -> str:
        described = ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])
        return str(described["NatGateways"][0]["State"])

    assert state() == "deleting"
    live = [{"Name": "state", "Values": ["pending", "available"]}]
    assert ec2.describe_nat_gateways(Filter=live)["NatGateways"] == []
    with pytest.raises(ClientError) as in_use:
        ec2.release_address(AllocationId=address)
    assert code(in_use) == "InvalidIPAddress.InUse"
    association = ec2.describe_addresses(AllocationIds=[address])["Addresses"][0]["AssociationId"]
    with pytest.raises(ClientError) as held:  # nor can it be taken from the gateway
        ec2.disassociate_address(AssociationId=association)
    assert code(held) == "InvalidIPAddress.InUse"
    with pytest.raises(ClientError) as subnet_used:
        ec2.delete_subnet(SubnetId=subnet)
    assert code(subnet_used) == "DependencyViolation"
    deadline = time.monotonic() + 30
    while state() != "deleted" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state() == "deleted"
    ec2.release_address(AllocationId=address)
    ec2.delete_subnet(SubnetId=subnet)


def test_an_instance_stays_shutting_down_and_holds_its_volume(strict_aws: StrictAws) -> None:
    ec2 = strict_aws.client("ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    id, zone = instance["InstanceId"], instance["Placement"]["AvailabilityZone"]
    volume = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=id, Device="/dev/sdf")
    strict_aws.slow_delete("ec2:TerminateInstances", seconds=600.0)

    answer = ec2.terminate_instances(InstanceIds=[id])["TerminatingInstances"]

    assert answer[0]["CurrentState"]["Name"] == "shutting-down"
    described = ec2.describe_instances(InstanceIds=[id])["Reservations"][0]["Instances"][0]
    assert described["State"]["Name"] == "shutting-down"
    live = [{"Name": "instance-state-name", "Values": ["running"]}]
    assert ec2.describe_instances(Filters=live)["Reservations"][0]["Instances"] == []
    with pytest.raises(ClientError) as in_use:
        ec2.delete_volume(VolumeId=volume)
    assert code(in_use) == "VolumeInUse"


def test_slow_table_and_queue_deletes(strict_aws: StrictAws) -> None:
    dynamodb, sqs = strict_aws.client("dynamodb"), strict_aws.client("sqs")
    dynamodb.create_table(
        TableName="slow-table",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    url = sqs.create_queue(QueueName="slow-queue")["QueueUrl"]
    strict_aws.slow_delete("dynamodb:DeleteTable", seconds=30)
    strict_aws.slow_delete("sqs:DeleteQueue", seconds=30)

    answer = dynamodb.delete_table(TableName="slow-table")
    assert answer["TableDescription"]["TableStatus"] == "DELETING"
    assert dynamodb.describe_table(TableName="slow-table")["Table"]["TableStatus"] == "DELETING"
    assert dynamodb.list_tables()["TableNames"] == ["slow-table"]
    with pytest.raises(ClientError) as again:
        dynamodb.delete_table(TableName="slow-table")
    assert code(again) == "ResourceInUseException"

    sqs.delete_queue(QueueUrl=url)
    assert sqs.list_queues()["QueueUrls"] == [url]
    sqs.delete_queue(QueueUrl=url)  # accepted again
    with pytest.raises(ValueError, match="not emulated"):
        strict_aws.slow_delete("s3:DeleteBucket", seconds=1)
