"""The AWS types and dependencies that need more than a listing and a delete, one test
each, against the local cloud's moto server: what real AWS refuses (and moto mostly
lets through) is checked here as what labrun must do in the right order.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
import pytest

from labrun import localcloud
from labrun.errors import LabrunError
from labrun.sweep import Found, Marks, SweepResult, sweep
from labrun.sweep.aws import AwsSweeper
from labrun.sweep.aws_wait import WAIT_ENV, wait_limit
from testing.strict_aws import StrictAws

SESSION = {"labrun:session": "s1", "labrun:owner": "o1"}
MARKS = Marks("s1", "o1")
AMI = "ami-12c6146b"  # moto accepts any
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}

Clients = Callable[[str], Any]


def tag_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in values.items()]


def spec(kind: str, values: dict[str, str] = SESSION) -> list[dict[str, Any]]:
    """TagSpecifications marking one EC2 resource of `kind` with `values`."""
    return [{"ResourceType": kind, "Tags": tag_list(values)}]


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    status = localcloud.ensure_running()
    assert status.endpoint
    yield localcloud.aws_env(status.endpoint)


@pytest.fixture
def aws(env: dict[str, str]) -> Clients:
    """boto3 clients on the local cloud, one per service."""

    @cache
    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    return client


def swept(env: dict[str, str], max_passes: int = 5) -> SweepResult:
    """Sweep session s1 of owner o1 in the AWS `env` points at."""
    return sweep(AwsSweeper(env), MARKS, max_passes=max_passes)


def keys(found: list[Found]) -> set[tuple[str, str]]:
    return {(f.kind, f.id) for f in found}


def errors(result: SweepResult) -> dict[tuple[str, str], str]:
    return {(f.kind, f.id): error for f, error in result.failed}


def refusals(strict: StrictAws) -> list[str]:
    """The calls the strict AWS refused because something still depended on their target:
    labrun waits, or removes the dependency first, and never makes one."""
    answered = ("moto", "accepted", "emulated")
    return [f"{c.action}: {c.answer}" for c in strict.calls if c.answer not in answered]


# The network


def make_vpc(ec2: Any, cidr: str) -> tuple[str, str]:
    """A marked VPC with one marked subnet: (vpc id, subnet id)."""
    vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=spec("vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(
        VpcId=vpc, CidrBlock=cidr.replace(".0.0/16", ".1.0/24"), TagSpecifications=spec("subnet")
    )["Subnet"]["SubnetId"]
    return vpc, subnet


def default_vpc_parts(ec2: Any) -> dict[str, set[str]]:
    """Everything AWS made in the default VPC: never to be touched."""
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    inside = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    return {
        "vpc": {vpc["VpcId"]},
        "subnets": {s["SubnetId"] for s in ec2.describe_subnets(Filters=inside)["Subnets"]},
        "groups": {g["GroupId"] for g in ec2.describe_security_groups(Filters=inside)[
            "SecurityGroups"]},
        "tables": {t["RouteTableId"] for t in ec2.describe_route_tables(Filters=inside)[
            "RouteTables"]},
        "acls": {a["NetworkAclId"] for a in ec2.describe_network_acls(Filters=inside)[
            "NetworkAcls"]},
    }  # fmt: skip


def test_a_vpc_goes_with_its_route_tables_acls_interfaces_endpoints_and_gateways(
    strict_aws: StrictAws,
) -> None:
    ec2, env = strict_aws.moto("ec2"), strict_aws.env
    defaults = default_vpc_parts(ec2)
    vpc, subnet = make_vpc(ec2, "10.21.0.0/16")
    table = ec2.create_route_table(VpcId=vpc, TagSpecifications=spec("route-table"))
    table_id = table["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet)
    acl = ec2.create_network_acl(VpcId=vpc, TagSpecifications=spec("network-acl"))
    acl_id = acl["NetworkAcl"]["NetworkAclId"]
    subnet_filter = [{"Name": "association.subnet-id", "Values": [subnet]}]
    current = ec2.describe_network_acls(Filters=subnet_filter)["NetworkAcls"][0]
    association = next(a for a in current["Associations"] if a["SubnetId"] == subnet)
    ec2.replace_network_acl_association(
        AssociationId=association["NetworkAclAssociationId"], NetworkAclId=acl_id
    )
    eigw = ec2.create_egress_only_internet_gateway(
        VpcId=vpc, TagSpecifications=spec("egress-only-internet-gateway")
    )["EgressOnlyInternetGateway"]["EgressOnlyInternetGatewayId"]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName="com.amazonaws.us-east-1.s3",
        VpcEndpointType="Gateway",  # AWS's default; moto fails to delete one made without it
        RouteTableIds=[table_id],
        TagSpecifications=spec("vpc-endpoint"),
    )["VpcEndpoint"]["VpcEndpointId"]
    instance = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=subnet, TagSpecifications=spec("instance")
    )["Instances"][0]["InstanceId"]
    interface = ec2.create_network_interface(
        SubnetId=subnet, TagSpecifications=spec("network-interface")
    )["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=interface, InstanceId=instance, DeviceIndex=1)

    result = swept(env)

    assert result.failed == [] and result.remaining == []
    assert refusals(strict_aws) == []  # each dependency went before what it held
    assert keys(result.removed) >= {
        ("aws:ec2:vpc", vpc), ("aws:ec2:subnet", subnet), ("aws:ec2:route-table", table_id),
        ("aws:ec2:network-acl", acl_id), ("aws:ec2:egress-only-internet-gateway", eigw),
        ("aws:ec2:vpc-endpoint", endpoint), ("aws:ec2:network-interface", interface),
        ("aws:ec2:instance", instance),
    }  # fmt: skip
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Vpcs"] == []
    assert default_vpc_parts(ec2) == defaults


def test_nothing_of_a_default_vpc_is_touched_even_when_marked(
    aws: Clients, env: dict[str, str]
) -> None:
    ec2 = aws("ec2")
    defaults = default_vpc_parts(ec2)
    everything = [id for ids in defaults.values() for id in ids]
    ec2.create_tags(Resources=everything, Tags=tag_list(SESSION))  # a learner's slip

    result = swept(env)

    assert result.removed == [] and result.remaining == []
    assert default_vpc_parts(ec2) == defaults


def test_groups_naming_each_other_go_and_a_foreign_rule_is_never_edited(
    aws: Clients, env: dict[str, str]
) -> None:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.22.0.0/16")["Vpc"]["VpcId"]  # not the session's

    def group(name: str, marked: bool) -> str:
        tags = spec("security-group") if marked else []
        created = ec2.create_security_group(
            GroupName=name, Description=name, VpcId=vpc, TagSpecifications=tags
        )
        return str(created["GroupId"])

    def allow(owner: str, source: str, egress: bool = False) -> None:
        rule = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                 "UserIdGroupPairs": [{"GroupId": source}]}]  # fmt: skip
        if egress:
            ec2.authorize_security_group_egress(GroupId=owner, IpPermissions=rule)
        else:
            ec2.authorize_security_group_ingress(GroupId=owner, IpPermissions=rule)

    web, db, shared, foreign = (
        group("web", True),
        group("db", True),
        group("shared", True),
        group("foreign", False),
    )
    allow(web, db), allow(db, web), allow(db, web, egress=True)  # they name each other
    allow(foreign, shared)  # a group labrun may not edit names one it must delete

    result = swept(env)

    assert ("aws:ec2:security-group", web) in keys(result.removed)
    assert ("aws:ec2:security-group", db) in keys(result.removed)
    assert keys(result.remaining) == {("aws:ec2:security-group", shared)}
    assert errors(result)[("aws:ec2:security-group", shared)] == (
        f"ForeignReference: {shared} is named by the rules of {foreign}, which labrun does not "
        "edit (not this session's): remove those rules, then stop again"
    )
    rules = ec2.describe_security_groups(GroupIds=[foreign])["SecurityGroups"][0]["IpPermissions"]
    assert [pair["GroupId"] for rule in rules for pair in rule["UserIdGroupPairs"]] == [shared]


def lambda_interface(ec2: Any, subnet: str) -> str:
    """An interface like those AWS makes for a Lambda function in a VPC (not the lab's:
    no mark), which AWS releases minutes after the function is gone."""
    created = ec2.create_network_interface(SubnetId=subnet, Description="AWS Lambda VPC ENI-f1-x")
    return str(created["NetworkInterface"]["NetworkInterfaceId"])


# Under strict AWS (testing/strict_aws/): deletes refused while dependencies exist, NAT
# gateways `deleting` for a while.


def test_a_subnet_waits_for_aws_to_release_its_lambda_interfaces(
    strict_aws: StrictAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WAIT_ENV, "30")
    ec2 = strict_aws.moto("ec2")
    vpc, subnet = make_vpc(ec2, "10.23.0.0/16")
    interface = lambda_interface(ec2, subnet)
    done = threading.Event()

    def asked() -> bool:  # the sweep looked for what still uses the subnet
        return any(
            call.action == "ec2:DescribeNetworkInterfaces" and subnet in str(call.params)
            for call in list(strict_aws.calls)
        )

    def release() -> None:  # what AWS does in its own time: here, once the sweep waits
        while not done.wait(0.1):
            if asked():
                ec2.delete_network_interface(NetworkInterfaceId=interface)
                return

    worker = threading.Thread(target=release)
    worker.start()
    try:
        result = swept(strict_aws.env)
    finally:
        done.set()
        worker.join()

    assert result.remaining == [] and result.failed == []
    assert keys(result.removed) == {("aws:ec2:vpc", vpc), ("aws:ec2:subnet", subnet)}
    assert refusals(strict_aws) == []


def test_an_interface_never_released_is_an_error_at_the_deadline_not_a_hang(
    strict_aws: StrictAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WAIT_ENV, "0.2")
    ec2 = strict_aws.moto("ec2")
    vpc, subnet = make_vpc(ec2, "10.24.0.0/16")
    interface = lambda_interface(ec2, subnet)

    result = swept(strict_aws.env, max_passes=2)

    assert keys(result.remaining) == {("aws:ec2:subnet", subnet), ("aws:ec2:vpc", vpc)}
    assert errors(result)[("aws:ec2:subnet", subnet)] == (
        f"DependencyTimeout: gave up after 0.2 s waiting for AWS to release the NAT gateways "
        f"and network interfaces in {subnet}: {interface} (AWS releases them in its own time; "
        "a later stop or reap retries)"
    )
    ec2.delete_network_interface(NetworkInterfaceId=interface)  # AWS, at last
    assert swept(strict_aws.env).remaining == []


def test_groups_naming_each_other_are_both_deleted_where_aws_refuses_a_named_group(
    strict_aws: StrictAws,
) -> None:
    ec2 = strict_aws.moto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.25.0.0/16")["Vpc"]["VpcId"]
    web, db = (
        ec2.create_security_group(
            GroupName=name, Description=name, VpcId=vpc, TagSpecifications=spec("security-group")
        )["GroupId"]
        for name in ("web", "db")
    )
    for owner, source in ((web, db), (db, web)):
        rule = [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                 "UserIdGroupPairs": [{"GroupId": source}]}]  # fmt: skip
        ec2.authorize_security_group_ingress(GroupId=owner, IpPermissions=rule)
        ec2.authorize_security_group_egress(GroupId=owner, IpPermissions=rule)

    result = swept(strict_aws.env)

    assert result.remaining == [] and result.failed == []
    assert keys(result.removed) == {("aws:ec2:security-group", web), ("aws:ec2:security-group", db)}
    assert refusals(strict_aws) == []


def nat_network(ec2: Any, cidr: str) -> dict[str, str]:
    """A marked VPC, subnet, attached internet gateway, elastic IP and NAT gateway: kind -> id."""
    vpc, subnet = make_vpc(ec2, cidr)
    igw = ec2.create_internet_gateway(TagSpecifications=spec("internet-gateway"))
    igw_id = igw["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=spec("elastic-ip"))
    nat = ec2.create_nat_gateway(
        SubnetId=subnet, AllocationId=eip["AllocationId"], TagSpecifications=spec("natgateway")
    )["NatGateway"]["NatGatewayId"]
    return {
        "aws:ec2:vpc": vpc, "aws:ec2:subnet": subnet, "aws:ec2:internet-gateway": igw_id,
        "aws:ec2:elastic-ip": eip["AllocationId"], "aws:ec2:natgateway": nat,
    }  # fmt: skip


def test_a_nat_gateway_already_deleting_still_holds_its_address_and_subnet(
    strict_aws: StrictAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WAIT_ENV, "30")
    network = nat_network(strict_aws.moto("ec2"), "10.26.0.0/16")
    strict_aws.slow_delete("ec2:DeleteNatGateway", 12.0)  # longer than five passes take
    # Terraform's destroy (or an earlier pass) asked: it is `deleting`, no longer listed.
    strict_aws.client("ec2").delete_nat_gateway(NatGatewayId=network["aws:ec2:natgateway"])

    result = swept(strict_aws.env)

    assert result.remaining == [] and result.failed == []
    assert keys(result.removed) == {
        (kind, id) for kind, id in network.items() if kind != "aws:ec2:natgateway"
    }
    assert refusals(strict_aws) == []


def test_a_nat_gateway_deleting_past_the_deadline_is_an_error_not_a_hang(
    strict_aws: StrictAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WAIT_ENV, "0.2")
    network = nat_network(strict_aws.moto("ec2"), "10.27.0.0/16")
    nat, address = network["aws:ec2:natgateway"], network["aws:ec2:elastic-ip"]
    strict_aws.slow_delete("ec2:DeleteNatGateway", 600.0)  # stuck, as it happens

    result = swept(strict_aws.env, max_passes=2)

    assert ("aws:ec2:natgateway", nat) in keys(result.removed)  # `deleting` counts as gone
    assert errors(result)[("aws:ec2:elastic-ip", address)] == (
        f"DependencyTimeout: gave up after 0.2 s waiting for the NAT gateways holding {address} "
        f"to be deleted: {nat} (AWS releases them in its own time; a later stop or reap retries)"
    )
    assert ("aws:ec2:subnet", network["aws:ec2:subnet"]) in keys(result.remaining)


def instance_with_volume_and_group(ec2: Any) -> dict[str, str]:
    """A marked instance in a marked group, with a marked data volume attached: kind -> id."""
    group = ec2.create_security_group(
        GroupName="s1-web", Description="web", TagSpecifications=spec("security-group")
    )["GroupId"]
    instance = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[group],
        TagSpecifications=spec("instance"),
    )["Instances"][0]  # fmt: skip
    zone = instance["Placement"]["AvailabilityZone"]
    volume = ec2.create_volume(AvailabilityZone=zone, Size=1, TagSpecifications=spec("volume"))
    ec2.attach_volume(
        VolumeId=volume["VolumeId"], InstanceId=instance["InstanceId"], Device="/dev/sdf"
    )
    return {
        "aws:ec2:instance": instance["InstanceId"], "aws:ec2:volume": volume["VolumeId"],
        "aws:ec2:security-group": group,
    }  # fmt: skip


def test_volumes_and_groups_wait_for_their_instance_to_terminate(
    strict_aws: StrictAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WAIT_ENV, "30")
    made = instance_with_volume_and_group(strict_aws.moto("ec2"))
    strict_aws.slow_delete("ec2:TerminateInstances", 3.0)  # `shutting-down` meanwhile

    result = swept(strict_aws.env)

    assert result.remaining == [] and result.failed == []
    assert set(made.items()) <= keys(result.removed)
    assert refusals(strict_aws) == []


def test_an_instance_shutting_down_past_the_deadline_is_an_error_not_a_hang(
    strict_aws: StrictAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WAIT_ENV, "0.2")
    made = instance_with_volume_and_group(strict_aws.moto("ec2"))
    instance, volume = made["aws:ec2:instance"], made["aws:ec2:volume"]
    strict_aws.slow_delete("ec2:TerminateInstances", 600.0)

    result = swept(strict_aws.env, max_passes=2)

    assert ("aws:ec2:instance", instance) in keys(result.removed)  # shutting down: gone
    assert errors(result)[("aws:ec2:volume", volume)] == (
        f"DependencyTimeout: gave up after 0.2 s waiting for instances to terminate: {instance} "
        "(AWS releases them in its own time; a later stop or reap retries)"
    )
    assert ("aws:ec2:security-group", made["aws:ec2:security-group"]) in keys(result.remaining)


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_bad_wait_limit_is_one_clear_line(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WAIT_ENV, value)
    with pytest.raises(LabrunError, match=f"^{WAIT_ENV} must be a number of seconds, not "):
        wait_limit()


# EC2 termination protection, S3 Object Lock


def test_a_protected_instance_is_unprotected_then_terminated(
    aws: Clients, env: dict[str, str]
) -> None:
    ec2 = aws("ec2")
    instance = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, TagSpecifications=spec("instance")
    )["Instances"][0]["InstanceId"]
    ec2.modify_instance_attribute(InstanceId=instance, DisableApiTermination={"Value": True})
    spared = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.modify_instance_attribute(InstanceId=spared, DisableApiTermination={"Value": True})

    result = swept(env)

    assert result.remaining == [] and ("aws:ec2:instance", instance) in keys(result.removed)
    states = {
        i["InstanceId"]: (i["State"]["Name"])
        for r in ec2.describe_instances(InstanceIds=[instance, spared])["Reservations"]
        for i in r["Instances"]
    }
    assert states == {instance: "terminated", spared: "running"}
    protection = ec2.describe_instance_attribute(
        InstanceId=spared, Attribute="disableApiTermination"
    )
    assert protection["DisableApiTermination"]["Value"] is True


def locked_bucket(s3: Any, name: str, mode: str) -> None:
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(SESSION)})
    until = datetime.now(UTC) + timedelta(days=1)
    for key in ("a.txt", "b.txt"):
        s3.put_object(
            Bucket=name, Key=key, Body=b"x", ObjectLockMode=mode, ObjectLockRetainUntilDate=until
        )


def test_object_lock_governance_is_bypassed_and_compliance_is_reported(
    aws: Clients, env: dict[str, str]
) -> None:
    s3 = aws("s3")
    locked_bucket(s3, "s1-governed", "GOVERNANCE")
    locked_bucket(s3, "s1-compliant", "COMPLIANCE")

    result = swept(env, max_passes=2)

    assert ("aws:s3:bucket", "s1-governed") in keys(result.removed)
    assert keys(result.remaining) == {("aws:s3:bucket", "s1-compliant")}
    error = errors(result)[("aws:s3:bucket", "s1-compliant")]
    assert error.startswith(
        "ObjectLocked: bucket s1-compliant keeps 2 locked object version(s) that nobody can "
        "delete before their date or the end of their legal hold: a.txt (compliance mode until "
    )
    assert "s1-governed" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


# KMS keys and Secrets Manager secrets: deletion is scheduled


def test_a_kms_key_is_scheduled_for_deletion_and_counts_as_gone(
    aws: Clients, env: dict[str, str]
) -> None:
    kms = aws("kms")
    key = kms.create_key(Tags=[{"TagKey": k, "TagValue": v} for k, v in SESSION.items()])
    key_id = key["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/s1-key", TargetKeyId=key_id)
    other = kms.create_key()["KeyMetadata"]["KeyId"]

    result = swept(env)

    assert keys(result.removed) == {("aws:kms:key", key_id)} and result.remaining == []
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert kms.describe_key(KeyId=other)["KeyMetadata"]["KeyState"] == "Enabled"
    assert "alias/s1-key" not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    again = swept(env)  # the tagging API still lists the key: it must not count as remaining
    assert (again.passes, again.remaining) == (0, [])


def test_a_secret_is_deleted_without_recovery_and_a_scheduled_one_counts_as_gone(
    aws: Clients, env: dict[str, str]
) -> None:
    secrets = aws("secretsmanager")
    secret = secrets.create_secret(Name="s1/db", SecretString="pw", Tags=tag_list(SESSION))["ARN"]
    scheduled = secrets.create_secret(Name="s1/old", SecretString="pw", Tags=tag_list(SESSION))
    secrets.delete_secret(SecretId=scheduled["ARN"], RecoveryWindowInDays=7)  # Terraform's way
    other = secrets.create_secret(Name="plain", SecretString="pw")["ARN"]

    result = swept(env)

    assert keys(result.removed) == {("aws:secretsmanager:secret", secret)}
    assert result.remaining == []
    left = {s["ARN"] for s in secrets.list_secrets(IncludePlannedDeletion=True)["SecretList"]}
    assert left == {scheduled["ARN"], other}  # the first without even a recovery window
    secrets.create_secret(Name="s1/db", SecretString="pw")  # its name is free again


# IAM


def test_a_user_goes_with_its_keys_certificates_and_virtual_mfa_device(
    aws: Clients, env: dict[str, str]
) -> None:
    iam = aws("iam")
    iam.create_user(UserName="s1-user", Tags=tag_list(SESSION))
    iam.create_login_profile(UserName="s1-user", Password="Sw33p-me-please!")
    iam.create_access_key(UserName="s1-user")
    ssh_key, certificate = key_and_certificate()
    iam.upload_ssh_public_key(UserName="s1-user", SSHPublicKeyBody=ssh_key)
    iam.upload_signing_certificate(UserName="s1-user", CertificateBody=certificate)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="s1-user-mfa")
    serial = device["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="s1-user", SerialNumber=serial, AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )  # fmt: skip
    spare = iam.create_virtual_mfa_device(VirtualMFADeviceName="someone-else")

    result = swept(env)

    assert keys(result.removed) == {("aws:iam:user", "s1-user")} and result.remaining == []
    devices = {d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]}
    assert devices == {spare["VirtualMFADevice"]["SerialNumber"]}


def test_an_adopted_instance_profile_is_not_reported_as_unowned(
    aws: Clients, env: dict[str, str]
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    iam = aws("iam")
    iam.create_role(
        RoleName="s1-role", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=tag_list(SESSION)
    )
    for name in ("s1-adopted", "stray"):
        iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName="s1-adopted", RoleName="s1-role")

    reported = AwsSweeper(env).unmarked_since(since)

    assert ("aws:iam:instance-profile", "stray") in keys(reported)
    assert ("aws:iam:instance-profile", "s1-adopted") not in keys(reported)  # the role's


def test_a_users_service_specific_credentials_go_when_aws_names_them(
    strict_aws: StrictAws,
) -> None:
    iam = strict_aws.client("iam")  # the proxy keeps these credentials: moto has no such API
    iam.create_user(UserName="s1-git", Tags=tag_list(SESSION))
    iam.create_service_specific_credential(
        UserName="s1-git", ServiceName="codecommit.amazonaws.com"
    )

    result = swept(strict_aws.env)

    assert keys(result.removed) == {("aws:iam:user", "s1-git")} and result.remaining == []
    # Listed only once DeleteUser names them: the local cloud does not implement the listing.
    assert refusals(strict_aws) == ["iam:DeleteUser: DeleteConflict"]
    assert strict_aws.answers("iam:DeleteServiceSpecificCredential") == ["emulated"]


def test_instance_profiles_go_with_the_session_and_a_foreign_one_only_loses_the_role(
    aws: Clients, env: dict[str, str]
) -> None:
    iam = aws("iam")
    iam.create_instance_profile(InstanceProfileName="older")  # made before the session
    iam.create_role(
        RoleName="s1-role", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=tag_list(SESSION)
    )
    iam.add_role_to_instance_profile(InstanceProfileName="older", RoleName="s1-role")
    iam.create_instance_profile(InstanceProfileName="s1-marked", Tags=tag_list(SESSION))
    iam.create_instance_profile(InstanceProfileName="s1-adopted")  # by Terraform, untagged
    iam.add_role_to_instance_profile(InstanceProfileName="s1-adopted", RoleName="s1-role")
    other = {**SESSION, "labrun:owner": "o2"}
    iam.create_instance_profile(InstanceProfileName="o2-profile", Tags=tag_list(other))

    result = swept(env)

    # this session's mark with another owner's: reported, never deleted (the marks rule)
    assert keys(result.remaining) == {("aws:iam:instance-profile", "o2-profile")}
    assert keys(result.removed) == {
        ("aws:iam:role", "s1-role"),
        ("aws:iam:instance-profile", "s1-marked"),
        ("aws:iam:instance-profile", "s1-adopted"),
    }
    profiles = {p["InstanceProfileName"]: p["Roles"] for p in iam.list_instance_profiles()[
        "InstanceProfiles"]}  # fmt: skip
    assert profiles == {"older": [], "o2-profile": []}


def test_a_policy_bounding_a_foreign_role_is_reported_never_stripped_from_it(
    strict_aws: StrictAws,
) -> None:
    iam = strict_aws.moto("iam")
    policy = iam.create_policy(
        PolicyName="s1-boundary", PolicyDocument=json.dumps(DOCUMENT), Tags=tag_list(SESSION)
    )["Policy"]["Arn"]
    for name, tags in (("s1-bounded", tag_list(SESSION)), ("someone", [])):
        iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST),
            PermissionsBoundary=policy, Tags=tags,
        )  # fmt: skip

    result = swept(strict_aws.env, max_passes=2)

    assert keys(result.removed) == {("aws:iam:role", "s1-bounded")}
    assert keys(result.remaining) == {("aws:iam:policy", policy)}
    assert errors(result)[("aws:iam:policy", policy)] == (
        f"BoundaryInUse: {policy} is the permissions boundary of role someone: labrun never "
        "removes a boundary from what is not the session's (it would widen its rights)"
    )
    role = iam.get_role(RoleName="someone")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == policy


def key_and_certificate() -> tuple[str, str]:
    """An SSH public key and a self-signed X.509 certificate, both real."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ssh = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labrun")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return ssh.decode(), certificate.public_bytes(serialization.Encoding.PEM).decode()
