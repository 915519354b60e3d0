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
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from labrun.sweep import OURS, Marks

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
    """Wait until the instances matching `filters` that are shutting down are terminated."""
    state = {"Name": "instance-state-name", "Values": ["shutting-down"]}
    reservations = pages(ec2, "describe_instances", "Reservations", Filters=[*filters, state])
    ids = [i["InstanceId"] for r in reservations for i in r["Instances"]]
    if ids:
        waiter = ec2.get_waiter("instance_terminated")
        waiter.wait(InstanceIds=ids, WaiterConfig={"Delay": 5, "MaxAttempts": 60})


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
        client.delete_security_group(GroupId=id)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_security_groups, GroupIds=[id])
        return bool(answer and answer["SecurityGroups"])


# The network a lab builds: NAT gateways first (they hold elastic IPs and subnets, and are
# the costly part), then internet gateways and subnets, then their VPC. Default VPCs carry
# no labrun mark, so they are never candidates.


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
        client.delete_nat_gateway(NatGatewayId=id)
        # Its elastic IP and subnet are released only once it is gone: wait (bounded).
        for _ in range(60):
            gateways = client.describe_nat_gateways(NatGatewayIds=[id])["NatGateways"]
            if all(g.get("State") in ("deleted", None) for g in gateways):
                return
            time.sleep(5)

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
        for gateway in pages(client, "describe_internet_gateways", "InternetGateways"):
            yield Listed(gateway["InternetGatewayId"], None, tag_dict(gateway.get("Tags", [])))

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
            yield Listed(subnet["SubnetId"], None, tag_dict(subnet.get("Tags", [])))

    def delete(self, client: Client, id: str) -> None:
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
        """Every object version and delete marker, unfinished uploads, then the bucket."""
        for page in client.get_paginator("list_object_versions").paginate(Bucket=id):
            delete_objects(client, id, object_versions(page))
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


def object_versions(page: dict[str, Any]) -> list[dict[str, str]]:
    """The versions and delete markers of a `list_object_versions` page, as delete_objects
    takes them (an unversioned bucket's objects have the version "null")."""
    entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
    return [{"Key": entry["Key"], "VersionId": entry["VersionId"]} for entry in entries]


def delete_objects(s3: Client, bucket: str, objects: list[dict[str, str]]) -> None:
    """Delete up to 1,000 objects (a listing page); raise the first error S3 reports."""
    if not objects:
        return
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    errors = answer.get("Errors", [])
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
    ("list_mfa_devices", "MFADevices", "deactivate_mfa_device", "SerialNumber"),
    ("list_ssh_public_keys", "SSHPublicKeys", "delete_ssh_public_key", "SSHPublicKeyId"),
    ("list_signing_certificates", "Certificates", "delete_signing_certificate", "CertificateId"),
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
        undo_attachments(client, {"UserName": id}, USER_ATTACHMENTS)
        gone_ok(client.delete_login_profile, UserName=id)
        client.delete_user(UserName=id)

    def exists(self, client: Client, id: str) -> bool:
        return described(client.get_user, UserName=id) is not None


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
        undo_attachments(client, {"RoleName": id}, ROLE_ATTACHMENTS)
        client.delete_role(RoleName=id)

    def exists(self, client: Client, id: str) -> bool:
        return described(client.get_role, RoleName=id) is not None


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
        for page in client.get_paginator("list_entities_for_policy").paginate(PolicyArn=id):
            for key, field, detach in POLICY_ENTITIES:
                for entity in page.get(key, []):
                    gone_ok(getattr(client, detach), PolicyArn=id, **{field: entity[field]})
        for version in pages(client, "list_policy_versions", "Versions", PolicyArn=id):
            if not version["IsDefaultVersion"]:
                gone_ok(client.delete_policy_version, PolicyArn=id, VersionId=version["VersionId"])
        client.delete_policy(PolicyArn=id)

    def exists(self, client: Client, id: str) -> bool:
        return described(client.get_policy, PolicyArn=id) is not None
