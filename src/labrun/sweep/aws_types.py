"""The AWS resource types labrun sweeps: one registry entry per type.

An entry is a small class registered with `@resource(kind)`. Its class attributes are its
metadata, as data:

- `service`: the boto3 client it uses (also the service part of its ARNs);
- `order`: its deletion rank, lower first, so dependents go before what they depend on
  (instances before their volumes, addresses and security groups; IAM policies last, once
  detached from the users and roles that go before them);
- `arn`: the pattern of its ARNs (group `id` is what `delete` takes), to recognise it in
  Resource Groups Tagging API answers;
- `tagging_api`: whether `find` trusts that API for the type. When False, the type is found
  by its own listing instead: IAM, ECR, elastic IPs and key pairs (moto's tagging API does
  not return them), instances (it keeps returning terminated ones) and security groups (the
  default one must be skipped, and the ARN does not tell which one it is).

Its methods are the type's calls: `list_all` (every resource of the type, with its creation
time: `unmarked_since` and the listings of `find` use it), `tags` (when the listing leaves
them out), `exists` and `delete`. A `delete` may raise a not-found error: the sweeper counts
it as success. Its preparatory steps (detaching, emptying) must swallow their own not-found
errors with `gone_ok`, so that they never pass for the resource itself being gone.

Real AWS is not moto. Two more things a type says about itself:

- `exists(client, id) -> bool`: the service's own word on whether the resource is still
  there. The sweeper asks it for each tagging-API hit before calling it remaining: that API
  keeps returning deleted resources for minutes ("ghosts"). A resource being deleted
  (DynamoDB `DELETING`, a NAT gateway `deleting`, an instance `shutting-down`, a key pending
  deletion) does not exist: it is on its way out and cannot come back. Use `described` (the
  answer of a describe call, or None when it says not found) to write one. The default asks
  `list_all` and looks for the id: right, but slow; a new type should override it with one
  describe call, and `list_all` must leave out what is being deleted, for the same reason.
- `settles`: seconds AWS may keep listing and describing a resource after a delete that
  succeeded (SQS: up to 60). Within that time after the sweeper's own successful delete,
  the resource counts as gone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from labrun.errors import LabrunError
from labrun.sweep import OURS, Marks
from labrun.sweep.aws_wait import wait_until_gone

SESSION_TAG = "labrun:session"
OWNER_TAG = "labrun:owner"
EXPIRES_TAG = "labrun:expires-at"
HARD_EXPIRES_TAG = "labrun:hard-expires-at"  # created_at + max_ttl: `extend` never passes it

# Error codes that mean the thing is already gone: deleting it again is success.
NOT_FOUND = frozenset(
    {
        "NoSuchBucket",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "ResourceNotFoundException",
        "NoSuchEntity",
        "InvalidInstanceID.NotFound",
        "InvalidVolume.NotFound",
        "InvalidGroup.NotFound",
        "InvalidAllocationID.NotFound",
        "InvalidAssociationID.NotFound",
        "InvalidKeyPair.NotFound",
        "RepositoryNotFoundException",
        "NatGatewayNotFound",
        "InvalidSubnetID.NotFound",
        "InvalidInternetGatewayID.NotFound",
        "InvalidVpcID.NotFound",
        "Gateway.NotAttached",
        "InvalidRouteTableID.NotFound",
        "InvalidNetworkAclID.NotFound",
        "InvalidNetworkInterfaceID.NotFound",
        "InvalidAttachmentID.NotFound",
        "InvalidVpcEndpointId.NotFound",
        "InvalidVpcEndpoint.NotFound",  # in DeleteVpcEndpoints' Unsuccessful list
        "InvalidGatewayID.NotFound",  # an egress-only internet gateway
        "NotFoundException",  # KMS
        "NotFound",  # S3 HeadBucket
        "404",
    }
)

Client = Any  # a boto3 client: botocore builds their classes at run time


@dataclass(frozen=True)
class Listed:
    """One resource as its type's listing returns it."""

    id: str  # what `delete` takes
    created: datetime | None  # None: the API does not say (security groups, elastic IPs)
    tags: dict[str, str] | None = None  # None: not in the listing, ask the type's `tags`
    ref: str | None = None  # what the type's tag call takes, when not the id (ARN, queue URL)
    inside: str | None = None  # lives and dies with this (a root volume: its instance)


class AwsType:
    """One AWS resource type: metadata as class attributes, its AWS calls as methods."""

    kind: ClassVar[str] = ""  # set by @resource
    service: ClassVar[str]
    order: ClassVar[int]
    arn: ClassVar[str]  # a regular expression with an `id` group
    tagging_api: ClassVar[bool] = True
    settles: ClassVar[float] = 0.0  # seconds AWS may still list it after a successful delete

    def id_from_arn(self, arn: str) -> str | None:
        match = re.fullmatch(self.arn, arn)
        return match["id"] if match else None

    def list_all(self, client: Client) -> Iterator[Listed]:
        raise NotImplementedError

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        raise NotImplementedError

    def delete(self, client: Client, id: str) -> None:
        raise NotImplementedError

    def exists(self, client: Client, id: str) -> bool:
        """Whether the resource is still there (and not being deleted): see the module doc."""
        return any(item.id == id for item in self.list_all(client))

    def list_marked(self, client: Client, marks: Marks) -> Iterator[tuple[str, dict[str, str]]]:
        """(id, tags) of each resource `marks` selects (ours or foreign), by `list_all`."""
        for item in self.list_all(client):
            tags = self.tags_of(client, item)
            if tags is not None and claim(tags, marks) is not None:
                yield item.id, tags

    def tags_of(self, client: Client, item: Listed) -> dict[str, str] | None:
        """The item's tags; None when it went away since the listing."""
        if item.tags is not None:
            return item.tags
        tags: dict[str, str] | None = described(self.tags, client=client, item=item)
        return tags


REGISTRY: dict[str, AwsType] = {}
T = TypeVar("T", bound=type[AwsType])


def resource(kind: str) -> Callable[[T], T]:
    """Register one resource type under `kind` (e.g. "aws:sqs:queue")."""

    def register(cls: T) -> T:
        cls.kind = kind
        REGISTRY[kind] = cls()
        return cls

    return register


def claim(tags: dict[str, str], marks: Marks) -> str | None:
    """OURS, FOREIGN or None for a resource with these tags (see `Marks.claim`)."""
    return marks.claim(tags.get(SESSION_TAG), tags.get(OWNER_TAG))


def carries(tags: dict[str, str], marks: Marks) -> bool:
    """The sweep deletes a resource with these tags."""
    return claim(tags, marks) == OURS


def described(call: Callable[..., Any], **kwargs: Any) -> Any | None:
    """The answer of a describe call, or None when it says the resource does not exist."""
    try:
        return call(**kwargs)
    except Exception as exc:
        if error_code(exc) in NOT_FOUND:
            return None
        raise


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (None for any other exception)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def gone_ok(call: Callable[..., object], **kwargs: Any) -> None:
    """Make one call; a not-found error means there was nothing left to do."""
    try:
        call(**kwargs)
    except Exception as exc:
        if error_code(exc) not in NOT_FOUND:
            raise


def pages(client: Client, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item under `key`, across all pages of `operation`."""
    if not client.can_paginate(operation):
        yield from getattr(client, operation)(**kwargs).get(key, [])
        return
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def tag_dict(tags: Iterable[dict[str, str]]) -> dict[str, str]:
    """[{"Key": k, "Value": v}, ...] (any capitalisation) as {k: v}."""
    pairs = ((tag.get("Key", tag.get("key")), tag.get("Value", tag.get("value"))) for tag in tags)
    return {str(key): str(value or "") for key, value in pairs if key is not None}


def moment(value: object) -> datetime | None:
    """A creation time as AWS APIs give it (datetime, RFC 3339 text, Unix seconds), in UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        return moment(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        pass
    try:
        return moment(float(value))  # SQS gives Unix seconds as text
    except ValueError:
        return None


def arn_pattern(service: str, resource: str, region: bool = True) -> str:
    """The regular expression of ARNs of `service` whose resource part matches `resource`."""
    where = "[^:]*:[^:]*" if region else ":[^:]*"
    return f"arn:[^:]+:{service}:{where}:{resource}"


# EC2: instances, then what they hold (elastic IPs, key pairs, volumes, security groups).
# Instances shutting down count as gone: AWS stops billing them there, and they cannot come
# back. What an instance holds waits for its shutdown before being deleted.

LIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped"]


def wait_for_shutdowns(ec2: Client, filters: list[dict[str, Any]]) -> None:
    """Wait (bounded) until the instances matching `filters` that are shutting down are
    terminated."""

    def shutting_down() -> list[str]:
        reservations = pages(ec2, "describe_instances", "Reservations", Filters=filters)
        instances = [i for r in reservations for i in r["Instances"]]
        return [i["InstanceId"] for i in instances if i["State"]["Name"] == "shutting-down"]

    wait_until_gone("instances to terminate", shutting_down)


@resource("aws:ec2:instance")
class Instance(AwsType):
    service = "ec2"
    order = 10
    arn = arn_pattern("ec2", "instance/(?P<id>.+)")
    tagging_api = False  # it keeps answering with terminated instances

    def list_all(self, client: Client) -> Iterator[Listed]:
        live = [{"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES}]
        for reservation in pages(client, "describe_instances", "Reservations", Filters=live):
            for instance in reservation["Instances"]:
                tags = tag_dict(instance.get("Tags", []))
                yield Listed(instance["InstanceId"], moment(instance.get("LaunchTime")), tags)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_instances, InstanceIds=[id])
        states = [i["State"]["Name"] for r in (answer or {}).get("Reservations", [])
                  for i in r["Instances"]]  # fmt: skip
        return any(state in LIVE_INSTANCE_STATES for state in states)

    def delete(self, client: Client, id: str) -> None:
        try:
            client.terminate_instances(InstanceIds=[id])
        except Exception as exc:
            if error_code(exc) != "OperationNotPermitted":
                raise
            # Termination protection (disableApiTermination) on a session-marked instance:
            # the mark proves it is the session's, so the protection goes first.
            client.modify_instance_attribute(InstanceId=id, DisableApiTermination={"Value": False})
            client.terminate_instances(InstanceIds=[id])


@resource("aws:ec2:elastic-ip")
class ElasticIp(AwsType):
    service = "ec2"
    order = 20
    arn = arn_pattern("ec2", "elastic-ip/(?P<id>.+)")
    tagging_api = False

    def list_all(self, client: Client) -> Iterator[Listed]:
        for address in client.describe_addresses()["Addresses"]:
            if "AllocationId" in address:  # EC2-Classic addresses are gone from AWS
                tags = tag_dict(address.get("Tags", []))
                yield Listed(address["AllocationId"], None, tags)

    def delete(self, client: Client, id: str) -> None:
        # A NAT gateway holds its address until it is deleted, a minute after being asked.
        wait_until_gone(
            f"the NAT gateways holding {id} to be deleted", lambda: nat_holders(client, id)
        )
        for address in client.describe_addresses(AllocationIds=[id])["Addresses"]:
            if address.get("AssociationId"):
                gone_ok(client.disassociate_address, AssociationId=address["AssociationId"])
        client.release_address(AllocationId=id)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_addresses, AllocationIds=[id])
        return bool(answer and answer["Addresses"])


@resource("aws:ec2:key-pair")
class KeyPair(AwsType):
    service = "ec2"
    order = 20
    arn = arn_pattern("ec2", "key-pair/(?P<id>.+)")
    tagging_api = False

    def list_all(self, client: Client) -> Iterator[Listed]:
        for pair in client.describe_key_pairs()["KeyPairs"]:
            tags = tag_dict(pair.get("Tags", []))
            yield Listed(pair["KeyName"], moment(pair.get("CreateTime")), tags)

    def delete(self, client: Client, id: str) -> None:
        # By name: moto answers a delete by KeyPairId with success and deletes nothing.
        client.delete_key_pair(KeyName=id)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_key_pairs, KeyNames=[id])
        return bool(answer and answer["KeyPairs"])


@resource("aws:ec2:volume")
class Volume(AwsType):
    service = "ec2"
    order = 30
    arn = arn_pattern("ec2", "volume/(?P<id>.+)")

    def list_all(self, client: Client) -> Iterator[Listed]:
        holders = deleted_with_instances(client)
        for volume in pages(client, "describe_volumes", "Volumes"):
            id, tags = volume["VolumeId"], tag_dict(volume.get("Tags", []))
            yield Listed(id, moment(volume.get("CreateTime")), tags, inside=holders.get(id))

    def delete(self, client: Client, id: str) -> None:
        volumes = client.describe_volumes(VolumeIds=[id])["Volumes"]
        holders = [a["InstanceId"] for v in volumes for a in v.get("Attachments", [])]
        if holders:
            wait_for_shutdowns(client, [{"Name": "instance-id", "Values": holders}])
        client.delete_volume(VolumeId=id)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_volumes, VolumeIds=[id])
        volumes = answer["Volumes"] if answer else []
        return any(v.get("State") not in ("deleting", "deleted") for v in volumes)


def deleted_with_instances(ec2: Client) -> dict[str, str]:
    """volume id -> "aws:ec2:instance ID", for volumes their instance deletes on termination.

    Read from the instances' block device mappings: moto leaves DeleteOnTermination out of
    the volumes' own attachments.
    """
    holders = {}
    for reservation in pages(ec2, "describe_instances", "Reservations"):
        for instance in reservation["Instances"]:
            for mapping in instance.get("BlockDeviceMappings", []):
                ebs = mapping.get("Ebs", {})
                if ebs.get("DeleteOnTermination") and "VolumeId" in ebs:
                    holders[ebs["VolumeId"]] = f"aws:ec2:instance {instance['InstanceId']}"
    return holders


@resource("aws:ec2:security-group")
class SecurityGroup(AwsType):
    service = "ec2"
    order = 40
    arn = arn_pattern("ec2", "security-group/(?P<id>.+)")
    tagging_api = False  # its answers do not say which group is a VPC's default one

    def list_all(self, client: Client) -> Iterator[Listed]:
        for group in pages(client, "describe_security_groups", "SecurityGroups"):
            if group["GroupName"] != "default":  # AWS deletes it with its VPC, never alone
                yield Listed(group["GroupId"], None, tag_dict(group.get("Tags", [])))

    def delete(self, client: Client, id: str) -> None:
        wait_for_shutdowns(client, [{"Name": "instance.group-id", "Values": [id]}])
        revoke_references(client, id)
        wait_until_gone(
            f"AWS to release the network interfaces using {id}",
            lambda: interfaces_aws_releases(client, "group-id", id),
        )
        client.delete_security_group(GroupId=id)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_security_groups, GroupIds=[id])
        return bool(answer and answer["SecurityGroups"])


class ForeignReference(LabrunError):
    """A group labrun may delete is named by the rules of a group it may not edit."""


def revoke_references(ec2: Client, id: str) -> None:
    """Revoke the rules (ingress and egress) that name group `id` in the groups of its own
    session, so that groups naming each other can go. Any other group is never edited: it
    makes the delete fail, with its name."""
    group = ec2.describe_security_groups(GroupIds=[id])["SecurityGroups"][0]
    tags = tag_dict(group.get("Tags", []))
    foreign = []
    for other in referencing_groups(ec2, id):
        if other["GroupId"] == id:
            continue  # a group naming itself does not keep itself alive
        if not same_session(tag_dict(other.get("Tags", [])), tags):
            foreign.append(other["GroupId"])
            continue
        rules = pages(
            ec2, "describe_security_group_rules", "SecurityGroupRules",
            Filters=[{"Name": "group-id", "Values": [other["GroupId"]]}],
        )  # fmt: skip
        naming = [r for r in rules if r.get("ReferencedGroupInfo", {}).get("GroupId") == id]
        for egress, revoke in ((False, ec2.revoke_security_group_ingress),
                               (True, ec2.revoke_security_group_egress)):  # fmt: skip
            ids = [r["SecurityGroupRuleId"] for r in naming if r["IsEgress"] is egress]
            if ids:
                gone_ok(revoke, GroupId=other["GroupId"], SecurityGroupRuleIds=ids)
    if foreign:
        raise ForeignReference(
            f"{id} is named by the rules of {', '.join(sorted(foreign))}, which labrun "
            "does not edit (not this session's): remove those rules, then stop again"
        )


def referencing_groups(ec2: Client, id: str) -> list[dict[str, Any]]:
    """Group id -> group, for the groups whose ingress or egress rules name group `id`."""
    found = {}
    for name in ("ip-permission.group-id", "egress.ip-permission.group-id"):
        filters = [{"Name": name, "Values": [id]}]
        for group in pages(ec2, "describe_security_groups", "SecurityGroups", Filters=filters):
            found[group["GroupId"]] = group
    return list(found.values())


def same_session(tags: dict[str, str], of: dict[str, str]) -> bool:
    """`tags` mark the session `of` marks, with no other owner's mark (the marks rule)."""
    owner = tags.get(OWNER_TAG)
    return tags.get(SESSION_TAG) == of.get(SESSION_TAG) and owner in (None, of.get(OWNER_TAG))


def interfaces_aws_releases(ec2: Client, name: str, value: str) -> list[str]:
    """The network interfaces that AWS made (for a Lambda function, a NAT gateway, a VPC
    endpoint) and releases itself, still using what the filter `name`=`value` names."""
    filters = [{"Name": name, "Values": [value]}]
    interfaces = pages(ec2, "describe_network_interfaces", "NetworkInterfaces", Filters=filters)
    return [i["NetworkInterfaceId"] for i in interfaces if released_by_aws(i)]


def released_by_aws(interface: dict[str, Any]) -> bool:
    # Lambda's are also told by their description: the way Terraform's AWS provider does.
    return (
        bool(interface.get("RequesterManaged"))
        or interface.get("InterfaceType") in ("lambda", "nat_gateway", "vpc_endpoint")
        or str(interface.get("Description", "")).startswith("AWS Lambda VPC ENI")
    )


def nat_gateways(ec2: Client, *filters: dict[str, Any]) -> list[dict[str, Any]]:
    """The NAT gateways matching `filters` that are being deleted: until deleted, they hold
    their elastic IP and their subnet. (One still in use is not waited for: its delete
    failed, or it is not the session's; what it holds fails at once, saying so.)"""
    gateways = pages(ec2, "describe_nat_gateways", "NatGateways", Filter=list(filters))
    return [gateway for gateway in gateways if gateway.get("State") == "deleting"]


def nat_holders(ec2: Client, allocation: str) -> list[str]:
    """The NAT gateways being deleted that still hold the elastic IP `allocation`."""
    return [
        gateway["NatGatewayId"]
        for gateway in nat_gateways(ec2)
        if any(a.get("AllocationId") == allocation for a in gateway.get("NatGatewayAddresses", []))
    ]


# The network a lab builds: NAT gateways first (they hold elastic IPs and subnets, and are
# the costly part), then internet gateways and subnets, then their VPC (aws_vpc has the rest
# of its parts). Nothing of a default VPC is a candidate, even marked.


@resource("aws:ec2:natgateway")
class NatGateway(AwsType):
    service = "ec2"
    order = 15  # before the elastic IPs it holds
    arn = arn_pattern("ec2", "natgateway/(?P<id>.+)")
    tagging_api = False  # moto keeps listing deleted gateways, tags and all

    def list_all(self, client: Client) -> Iterator[Listed]:
        live = [{"Name": "state", "Values": ["pending", "available", "failed"]}]
        for gateway in pages(client, "describe_nat_gateways", "NatGateways", Filter=live):
            tags = tag_dict(gateway.get("Tags", []))
            yield Listed(gateway["NatGatewayId"], moment(gateway.get("CreateTime")), tags)

    def delete(self, client: Client, id: str) -> None:
        # `deleting` counts as gone (AWS bills it no more). What it holds waits for it:
        # its elastic IP (ElasticIp.delete) and its subnet (Subnet.delete).
        client.delete_nat_gateway(NatGatewayId=id)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_nat_gateways, NatGatewayIds=[id])
        gateways = answer["NatGateways"] if answer else []
        return any(g.get("State") in ("pending", "available", "failed") for g in gateways)


@resource("aws:ec2:internet-gateway")
class InternetGateway(AwsType):
    service = "ec2"
    order = 45
    arn = arn_pattern("ec2", "internet-gateway/(?P<id>.+)")
    tagging_api = False

    def list_all(self, client: Client) -> Iterator[Listed]:
        defaults = set(default_vpcs(client))
        for gateway in pages(client, "describe_internet_gateways", "InternetGateways"):
            if not {a["VpcId"] for a in gateway.get("Attachments", [])} & defaults:
                tags = tag_dict(gateway.get("Tags", []))
                yield Listed(gateway["InternetGatewayId"], None, tags)

    def delete(self, client: Client, id: str) -> None:
        for gateway in client.describe_internet_gateways(InternetGatewayIds=[id])[
            "InternetGateways"
        ]:
            for attachment in gateway.get("Attachments", []):
                gone_ok(client.detach_internet_gateway, InternetGatewayId=id,
                        VpcId=attachment["VpcId"])  # fmt: skip
        client.delete_internet_gateway(InternetGatewayId=id)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_internet_gateways, InternetGatewayIds=[id])
        return bool(answer and answer["InternetGateways"])


@resource("aws:ec2:subnet")
class Subnet(AwsType):
    service = "ec2"
    order = 45
    arn = arn_pattern("ec2", "subnet/(?P<id>.+)")
    tagging_api = False

    def list_all(self, client: Client) -> Iterator[Listed]:
        for subnet in pages(client, "describe_subnets", "Subnets"):
            if not subnet.get("DefaultForAz"):  # a default VPC's
                yield Listed(subnet["SubnetId"], None, tag_dict(subnet.get("Tags", [])))

    def delete(self, client: Client, id: str) -> None:
        def blockers() -> list[str]:
            nats = nat_gateways(client, {"Name": "subnet-id", "Values": [id]})
            interfaces = interfaces_aws_releases(client, "subnet-id", id)
            return [*(nat["NatGatewayId"] for nat in nats), *interfaces]

        wait_until_gone(f"AWS to release the NAT gateways and network interfaces in {id}", blockers)
        client.delete_subnet(SubnetId=id)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_subnets, SubnetIds=[id])
        return bool(answer and answer["Subnets"])


@resource("aws:ec2:vpc")
class Vpc(AwsType):
    service = "ec2"
    order = 48  # after everything that lives in it
    arn = arn_pattern("ec2", "vpc/(?P<id>.+)")
    tagging_api = False

    def list_all(self, client: Client) -> Iterator[Listed]:
        for vpc in pages(client, "describe_vpcs", "Vpcs"):
            if not vpc.get("IsDefault"):
                yield Listed(vpc["VpcId"], None, tag_dict(vpc.get("Tags", [])))

    def delete(self, client: Client, id: str) -> None:
        client.delete_vpc(VpcId=id)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_vpcs, VpcIds=[id])
        return bool(answer and answer["Vpcs"])


def default_vpcs(ec2: Client) -> list[str]:
    """The ids of the region's default VPCs: never touched, nor what AWS made in them."""
    filters = [{"Name": "is-default", "Values": ["true"]}]
    return [vpc["VpcId"] for vpc in pages(ec2, "describe_vpcs", "Vpcs", Filters=filters)]


# Lambda functions go early: nothing depends on them, and they name an IAM role.


@resource("aws:lambda:function")
class Function(AwsType):
    service = "lambda"
    order = 10
    arn = arn_pattern("lambda", "function:(?P<id>[^:]+)")

    def list_all(self, client: Client) -> Iterator[Listed]:
        # No creation time in the API: LastModified is the creation for a function never
        # updated since, and later for one that was (which a report can live with).
        for function in pages(client, "list_functions", "Functions"):
            when = moment(function.get("LastModified"))
            yield Listed(function["FunctionName"], when, ref=function["FunctionArn"])

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        return dict(client.list_tags(Resource=item.ref)["Tags"])

    def delete(self, client: Client, id: str) -> None:
        client.delete_function(FunctionName=id)

    def exists(self, client: Client, id: str) -> bool:
        return described(client.get_function, FunctionName=id) is not None


# Storage and messaging: nothing of labrun's depends on them.


@resource("aws:s3:bucket")
class Bucket(AwsType):
    service = "s3"
    order = 50
    arn = arn_pattern("s3", "(?P<id>[^/]+)", region=False)

    def list_all(self, client: Client) -> Iterator[Listed]:
        for bucket in pages(client, "list_buckets", "Buckets"):
            yield Listed(bucket["Name"], moment(bucket.get("CreationDate")))

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        try:
            return tag_dict(client.get_bucket_tagging(Bucket=item.id)["TagSet"])
        except Exception as exc:
            if error_code(exc) == "NoSuchTagSet":
                return {}
            raise

    def delete(self, client: Client, id: str) -> None:
        """Every object version and delete marker, unfinished uploads, then the bucket.

        Object Lock: governance-mode retention is bypassed (the bucket carries the
        session's mark); compliance-mode retention and legal holds cannot be, and the
        delete fails saying until when."""
        bypass = object_lock_enabled(client, id)
        for page in client.get_paginator("list_object_versions").paginate(Bucket=id):
            delete_objects(client, id, object_versions(page), bypass)
        for upload in pages(client, "list_multipart_uploads", "Uploads", Bucket=id):
            gone_ok(
                client.abort_multipart_upload,
                Bucket=id,
                Key=upload["Key"],
                UploadId=upload["UploadId"],
            )
        client.delete_bucket(Bucket=id)

    def exists(self, client: Client, id: str) -> bool:
        return described(client.head_bucket, Bucket=id) is not None


def explain_lock(
    s3: Client, bucket: str, objects: list[dict[str, str]], errors: list[dict[str, str]]
) -> None:
    """Raise ObjectLocked when the versions S3 refused to delete are locked for good."""
    refused = {(e.get("Key"), e.get("VersionId")) for e in errors}
    refused_keys = {key for key, _ in refused}
    locks = []
    for entry in objects:  # moto's errors leave the version out: match by key then
        if (entry["Key"], entry["VersionId"]) in refused or entry["Key"] in refused_keys:
            head = s3.head_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
            if head.get("ObjectLockLegalHoldStatus") == "ON":
                locks.append(f"{entry['Key']} (legal hold)")
            elif head.get("ObjectLockMode") == "COMPLIANCE":
                until = moment(head.get("ObjectLockRetainUntilDate"))
                locks.append(f"{entry['Key']} (compliance mode until {until:%Y-%m-%d %H:%M} UTC)")
    if locks:
        raise ObjectLocked(
            f"bucket {bucket} keeps {len(locks)} locked object version(s) that nobody can "
            f"delete before their date or the end of their legal hold: {', '.join(locks[:3])}"
            + (" ..." if len(locks) > 3 else "")
        )


def object_versions(page: dict[str, Any]) -> list[dict[str, str]]:
    """The versions and delete markers of a `list_object_versions` page, as delete_objects
    takes them (an unversioned bucket's objects have the version "null")."""
    entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
    return [{"Key": entry["Key"], "VersionId": entry["VersionId"]} for entry in entries]


def object_lock_enabled(s3: Client, bucket: str) -> bool:
    try:
        config = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except Exception as exc:
        if error_code(exc) == "ObjectLockConfigurationNotFoundError":
            return False
        raise
    return bool(config.get("ObjectLockEnabled") == "Enabled")


class ObjectLocked(LabrunError):
    """Objects under Object Lock compliance retention or a legal hold: nobody can delete
    them before their date (compliance) or before the hold is lifted."""


def delete_objects(s3: Client, bucket: str, objects: list[dict[str, str]], bypass: bool) -> None:
    """Delete up to 1,000 objects (a listing page); raise the first error S3 reports.
    `bypass`: bypass governance-mode retention (the bucket has Object Lock)."""
    if not objects:
        return
    delete = {"Objects": objects, "Quiet": True}
    extra = {"BypassGovernanceRetention": True} if bypass else {}
    errors = s3.delete_objects(Bucket=bucket, Delete=delete, **extra).get("Errors", [])
    if bypass and errors:
        explain_lock(s3, bucket, objects, errors)
    if errors:
        from botocore.exceptions import ClientError  # raised as a call's error: retried alike

        first = errors[0]
        error = {
            "Code": first.get("Code", ""),
            "Message": f"{first.get('Key')}: {first.get('Message')}",
        }
        raise ClientError({"Error": error}, "DeleteObjects")


@resource("aws:sqs:queue")
class Queue(AwsType):
    service = "sqs"
    order = 50
    arn = arn_pattern("sqs", "(?P<id>[^:/]+)")
    settles = 60.0  # "the deletion process takes up to 60 seconds" (DeleteQueue)

    def list_all(self, client: Client) -> Iterator[Listed]:
        for url in pages(client, "list_queues", "QueueUrls"):
            names = ["CreatedTimestamp"]
            attributes = described(client.get_queue_attributes, QueueUrl=url, AttributeNames=names)
            if attributes is None:
                continue  # deleted since the listing
            created = moment(attributes["Attributes"].get("CreatedTimestamp"))
            yield Listed(url.rsplit("/", 1)[-1], created, ref=url)

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        return dict(client.list_queue_tags(QueueUrl=item.ref).get("Tags", {}))

    def delete(self, client: Client, id: str) -> None:
        url = client.get_queue_url(QueueName=id)["QueueUrl"]
        client.delete_queue(QueueUrl=url)

    def exists(self, client: Client, id: str) -> bool:
        return described(client.get_queue_url, QueueName=id) is not None


@resource("aws:dynamodb:table")
class Table(AwsType):
    service = "dynamodb"
    order = 50
    arn = arn_pattern("dynamodb", "table/(?P<id>[^/]+)")

    def list_all(self, client: Client) -> Iterator[Listed]:
        for name in pages(client, "list_tables", "TableNames"):
            answer = described(client.describe_table, TableName=name)
            if answer is None or answer["Table"].get("TableStatus") == "DELETING":
                continue  # deleted since the listing, or on its way out
            table = answer["Table"]
            yield Listed(name, moment(table.get("CreationDateTime")), ref=table["TableArn"])

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        return tag_dict(pages(client, "list_tags_of_resource", "Tags", ResourceArn=item.ref))

    def delete(self, client: Client, id: str) -> None:
        client.delete_table(TableName=id)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_table, TableName=id)
        return answer is not None and answer["Table"].get("TableStatus") != "DELETING"


@resource("aws:logs:log-group")
class LogGroup(AwsType):
    service = "logs"
    order = 50
    arn = arn_pattern("logs", "log-group:(?P<id>.+?)(?::\\*)?")

    def list_all(self, client: Client) -> Iterator[Listed]:
        for group in pages(client, "describe_log_groups", "logGroups"):
            arn = group.get("logGroupArn") or group["arn"].removesuffix(":*")
            created = moment(group["creationTime"] / 1000)  # milliseconds
            yield Listed(group["logGroupName"], created, ref=arn)

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        return dict(client.list_tags_for_resource(resourceArn=item.ref).get("tags", {}))

    def delete(self, client: Client, id: str) -> None:
        client.delete_log_group(logGroupName=id)

    def exists(self, client: Client, id: str) -> bool:
        groups = pages(client, "describe_log_groups", "logGroups", logGroupNamePrefix=id)
        return any(group["logGroupName"] == id for group in groups)


@resource("aws:ecr:repository")
class Repository(AwsType):
    service = "ecr"
    order = 50
    arn = arn_pattern("ecr", "repository/(?P<id>.+)")
    tagging_api = False  # moto's tagging API does not return repositories (AWS's does)

    def list_all(self, client: Client) -> Iterator[Listed]:
        for repo in pages(client, "describe_repositories", "repositories"):
            when = moment(repo.get("createdAt"))
            yield Listed(repo["repositoryName"], when, ref=repo["repositoryArn"])

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        return tag_dict(client.list_tags_for_resource(resourceArn=item.ref).get("tags", []))

    def delete(self, client: Client, id: str) -> None:
        client.delete_repository(repositoryName=id, force=True)  # force: with its images

    def exists(self, client: Client, id: str) -> bool:
        return described(client.describe_repositories, repositoryNames=[id]) is not None


# IAM: users and roles lose what is attached to them, then go; customer managed policies go
# last, once detached from whatever is left and stripped of their non-default versions.
# Each attachment: (list operation, its result key, the call that undoes one, its argument).

Attachment = tuple[str, str, str, str]
USER_ATTACHMENTS: tuple[Attachment, ...] = (
    ("list_access_keys", "AccessKeyMetadata", "delete_access_key", "AccessKeyId"),
    ("list_user_policies", "PolicyNames", "delete_user_policy", "PolicyName"),
    ("list_attached_user_policies", "AttachedPolicies", "detach_user_policy", "PolicyArn"),
    ("list_groups_for_user", "Groups", "remove_user_from_group", "GroupName"),
    ("list_ssh_public_keys", "SSHPublicKeys", "delete_ssh_public_key", "SSHPublicKeyId"),
    ("list_signing_certificates", "Certificates", "delete_signing_certificate", "CertificateId"),
)
# Listed only when DeleteUser refuses: the local cloud does not implement this API.
SERVICE_CREDENTIALS: Attachment = (
    "list_service_specific_credentials",
    "ServiceSpecificCredentials",
    "delete_service_specific_credential",
    "ServiceSpecificCredentialId",
)
ROLE_ATTACHMENTS: tuple[Attachment, ...] = (
    ("list_role_policies", "PolicyNames", "delete_role_policy", "PolicyName"),
    ("list_attached_role_policies", "AttachedPolicies", "detach_role_policy", "PolicyArn"),
    (
        "list_instance_profiles_for_role",
        "InstanceProfiles",
        "remove_role_from_instance_profile",
        "InstanceProfileName",
    ),
)
# list_entities_for_policy: (result key, the name's field, the call that detaches)
POLICY_ENTITIES = (
    ("PolicyUsers", "UserName", "detach_user_policy"),
    ("PolicyRoles", "RoleName", "detach_role_policy"),
    ("PolicyGroups", "GroupName", "detach_group_policy"),
)


def undo_attachments(iam: Client, owner: dict[str, str], table: Iterable[Attachment]) -> None:
    """Undo every attachment in `table` of the user or role `owner` names."""
    for list_operation, key, undo, field in table:
        for item in list(pages(iam, list_operation, key, **owner)):
            value = item if isinstance(item, str) else item[field]
            gone_ok(getattr(iam, undo), **owner, **{field: value})


@resource("aws:iam:user")
class User(AwsType):
    service = "iam"
    order = 60
    arn = arn_pattern("iam", "user/(?:.*/)?(?P<id>[^/]+)", region=False)
    tagging_api = False  # never returned by it, in AWS as in moto

    def list_all(self, client: Client) -> Iterator[Listed]:
        for user in pages(client, "list_users", "Users"):
            yield Listed(user["UserName"], moment(user.get("CreateDate")))

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        return tag_dict(pages(client, "list_user_tags", "Tags", UserName=item.id))

    def delete(self, client: Client, id: str) -> None:
        if "PermissionsBoundary" in client.get_user(UserName=id)["User"]:
            client.delete_user_permissions_boundary(UserName=id)
        undo_attachments(client, {"UserName": id}, USER_ATTACHMENTS)
        remove_mfa_devices(client, id)
        gone_ok(client.delete_login_profile, UserName=id)
        try:
            client.delete_user(UserName=id)
        except Exception as exc:
            if error_code(exc) != "DeleteConflict":
                raise
            undo_attachments(client, {"UserName": id}, (SERVICE_CREDENTIALS,))
            client.delete_user(UserName=id)

    def exists(self, client: Client, id: str) -> bool:
        return described(client.get_user, UserName=id) is not None


def remove_mfa_devices(iam: Client, user: str) -> None:
    """Deactivate the user's MFA devices; delete the virtual ones (a virtual device left
    behind keeps its name taken, and is the session's: it was the session user's)."""
    for device in list(pages(iam, "list_mfa_devices", "MFADevices", UserName=user)):
        serial = device["SerialNumber"]
        gone_ok(iam.deactivate_mfa_device, UserName=user, SerialNumber=serial)
        if serial.startswith("arn:") and ":mfa/" in serial:  # hardware ones have plain serials
            gone_ok(iam.delete_virtual_mfa_device, SerialNumber=serial)


@resource("aws:iam:role")
class Role(AwsType):
    service = "iam"
    order = 60
    arn = arn_pattern("iam", "role/(?:.*/)?(?P<id>[^/]+)", region=False)
    tagging_api = False

    def list_all(self, client: Client) -> Iterator[Listed]:
        for role in pages(client, "list_roles", "Roles"):
            if not role.get("Path", "/").startswith(("/aws-service-role/", "/aws-reserved/")):
                yield Listed(role["RoleName"], moment(role.get("CreateDate")))

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        return tag_dict(pages(client, "list_role_tags", "Tags", RoleName=item.id))

    def delete(self, client: Client, id: str) -> None:
        if "PermissionsBoundary" in client.get_role(RoleName=id)["Role"]:
            client.delete_role_permissions_boundary(RoleName=id)
        undo_attachments(client, {"RoleName": id}, ROLE_ATTACHMENTS)
        client.delete_role(RoleName=id)

    def exists(self, client: Client, id: str) -> bool:
        return described(client.get_role, RoleName=id) is not None


class BoundaryInUse(LabrunError):
    """A session policy bounds the permissions of a user or role that is not the session's."""


def policy_users(iam: Client, policy: str, usage: str) -> Iterator[dict[str, Any]]:
    """The pages of list_entities_for_policy for one usage (permissions or boundary)."""
    paginator = iam.get_paginator("list_entities_for_policy")
    yield from paginator.paginate(PolicyArn=policy, PolicyUsageFilter=usage)


@resource("aws:iam:policy")
class Policy(AwsType):
    service = "iam"
    order = 70
    arn = arn_pattern("iam", "(?P<id>policy/.+)", region=False)
    tagging_api = False

    def id_from_arn(self, arn: str) -> str | None:
        return arn if super().id_from_arn(arn) else None  # the ARN is the policy's id

    def list_all(self, client: Client) -> Iterator[Listed]:
        for policy in pages(client, "list_policies", "Policies", Scope="Local"):
            yield Listed(policy["Arn"], moment(policy.get("CreateDate")))

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        return tag_dict(pages(client, "list_policy_tags", "Tags", PolicyArn=item.id))

    def delete(self, client: Client, id: str) -> None:
        for page in policy_users(client, id, "PermissionsPolicy"):
            for key, field, detach in POLICY_ENTITIES:
                for entity in page.get(key, []):
                    gone_ok(getattr(client, detach), PolicyArn=id, **{field: entity[field]})
        bounded = [
            f"{field.removesuffix('Name').lower()} {entity[field]}"
            for page in policy_users(client, id, "PermissionsBoundary")
            for key, field, _ in POLICY_ENTITIES
            for entity in page.get(key, [])
        ]
        if bounded:  # the session's own users and roles went before, with their boundary
            raise BoundaryInUse(
                f"{id} is the permissions boundary of {', '.join(bounded)}: labrun never "
                "removes a boundary from what is not the session's (it would widen its rights)"
            )
        for version in pages(client, "list_policy_versions", "Versions", PolicyArn=id):
            if not version["IsDefaultVersion"]:
                gone_ok(client.delete_policy_version, PolicyArn=id, VersionId=version["VersionId"])
        client.delete_policy(PolicyArn=id)

    def exists(self, client: Client, id: str) -> bool:
        return described(client.get_policy, PolicyArn=id) is not None
