"""The cost-hygiene lab's account: a small ML platform, with forgotten experiments beside it.

Run by main.tf's provisioners with labrun's Python (boto3 reaches the session's cloud through
the AWS_* variables labrun sets, so the same script works on the local cloud and real AWS):

    seed.py create    make the resources of RESOURCES (and the network they live in)
    seed.py destroy   delete everything of the session's that is left; what the learner
                      already deleted is skipped (labrun may run it twice: it is idempotent)

Settings come from the environment main.tf passes: LAB_SESSION and LAB_TAGS (the session's
tags as JSON). Every resource is created already carrying the session's tags (EC2's
TagSpecifications), so labrun can prove it is the session's from its first moment; destroy
finds what is left by the tag labrun:session, not by ids kept somewhere.

The resources that must stay carry the tag keep=true; the forgotten ones do not.
check.py reads RESOURCES too (by Name tag), so the two always agree.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

SESSION_TAG = "labrun:session"
KEEP = {"keep": "true", "team": "ml-platform"}
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
INSTANCE_TYPE = "t3.micro"  # the cheapest current type; the names tell what it stood for

# (kind, Name tag, must stay, details)
RESOURCES: list[tuple[str, str, bool, dict[str, Any]]] = [
    ("vpc", "ml-platform-vpc", True, {}),
    ("internet-gateway", "ml-platform-igw", True, {}),
    ("subnet", "ml-platform-subnet", True, {}),
    ("instance", "model-api", True, {"purpose": "serves the churn model's predictions"}),
    ("instance", "experiment-train-gpu", False, {"purpose": "one-off training run, October"}),
    ("instance", "experiment-notebook", False, {"purpose": "data exploration", "stopped": True}),
    ("elastic-ip", "model-api-ip", True, {"instance": "model-api"}),
    ("elastic-ip", "experiment-ip", False, {}),
    ("elastic-ip", "experiment-nat-ip", False, {}),
    ("natgateway", "experiment-nat", False, {"address": "experiment-nat-ip"}),
    ("volume", "feature-store-data", True, {"size": 20, "type": "gp3"}),
    ("volume", "experiment-scratch", False, {"size": 100, "type": "gp3"}),
    ("volume", "old-training-cache", False, {"size": 50, "type": "gp2"}),
]


def names(kind: str, keep: bool) -> list[str]:
    """The Name tags of the resources of `kind` that must stay (keep) or were forgotten."""
    return [name for k, name, stays, _ in RESOURCES if k == kind and stays == keep]


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def spec(kind: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": tag_list(tags)}]


def create(session_tags: dict[str, str]) -> None:
    import boto3

    ec2 = boto3.client("ec2")
    made: dict[str, str] = {}  # Name -> id
    zone, image = "", ""

    def tags_of(name: str, stays: bool, details: dict[str, Any]) -> dict[str, str]:
        tags = {**session_tags, "Name": name}
        if stays:
            tags.update(KEEP)
        else:
            tags["owner"] = "data-science"
        if "purpose" in details:
            tags["purpose"] = details["purpose"]
        return tags

    for kind, name, stays, details in RESOURCES:
        tags = tags_of(name, stays, details)
        if kind == "vpc":
            vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=spec(kind, tags))
            made[name] = vpc["Vpc"]["VpcId"]
            ec2.get_waiter("vpc_available").wait(VpcIds=[made[name]])
        elif kind == "internet-gateway":
            igw = ec2.create_internet_gateway(TagSpecifications=spec(kind, tags))
            made[name] = igw["InternetGateway"]["InternetGatewayId"]
            ec2.attach_internet_gateway(InternetGatewayId=made[name], VpcId=made["ml-platform-vpc"])
        elif kind == "subnet":
            offered = instance_zone(ec2)
            where = {"AvailabilityZone": offered} if offered else {}
            subnet = ec2.create_subnet(
                VpcId=made["ml-platform-vpc"],
                CidrBlock="10.42.1.0/24",
                TagSpecifications=spec(kind, tags),
                **where,
            )["Subnet"]
            made[name] = subnet["SubnetId"]
            zone = subnet["AvailabilityZone"]
        elif kind == "instance":
            image = image or image_id(boto3)
            instance = ec2.run_instances(
                ImageId=image,
                InstanceType=INSTANCE_TYPE,
                MinCount=1,
                MaxCount=1,
                SubnetId=made["ml-platform-subnet"],
                TagSpecifications=[*spec("instance", tags), *spec("volume", tags)],
            )["Instances"][0]
            made[name] = instance["InstanceId"]
        elif kind == "elastic-ip":
            address = ec2.allocate_address(Domain="vpc", TagSpecifications=spec(kind, tags))
            made[name] = address["AllocationId"]
            if "instance" in details:
                instance_id = made[details["instance"]]
                ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id])
                ec2.associate_address(AllocationId=made[name], InstanceId=instance_id)
        elif kind == "natgateway":
            nat = ec2.create_nat_gateway(
                SubnetId=made["ml-platform-subnet"],
                AllocationId=made[details["address"]],
                TagSpecifications=spec(kind, tags),
            )
            made[name] = nat["NatGateway"]["NatGatewayId"]
        elif kind == "volume":
            volume = ec2.create_volume(
                AvailabilityZone=zone,
                Size=details["size"],
                VolumeType=details["type"],
                TagSpecifications=spec(kind, tags),
            )
            made[name] = volume["VolumeId"]
    stopped = [made[name] for _, name, _, d in RESOURCES if d.get("stopped")]
    ec2.get_waiter("instance_running").wait(InstanceIds=stopped)
    ec2.stop_instances(InstanceIds=stopped)  # forgotten, stopped: its disk still costs


def instance_zone(ec2: Any) -> str | None:
    """An availability zone that offers INSTANCE_TYPE (not all of them do: us-east-1e)."""
    offerings = ec2.describe_instance_type_offerings(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": [INSTANCE_TYPE]}],
    )["InstanceTypeOfferings"]
    zones = sorted(o["Location"] for o in offerings)
    return zones[0] if zones else None


def image_id(boto3: Any) -> str:
    """The current Amazon Linux 2023 image of the region (AWS's public SSM parameter)."""
    parameter = boto3.client("ssm").get_parameter(Name=AMI_PARAMETER)
    return str(parameter["Parameter"]["Value"])


# --- destroy ---------------------------------------------------------------------------------


def destroy(session: str) -> None:
    import boto3

    ec2 = boto3.client("ec2")
    mine = [{"Name": f"tag:{SESSION_TAG}", "Values": [session]}]

    def listing(operation: str, key: str, filters: list[dict[str, Any]]) -> list[Any]:
        found: list[Any] = []
        for page in ec2.get_paginator(operation).paginate(Filters=filters):
            found += page[key]
        return found

    def nat_gateways(*states: str) -> list[Any]:
        state = {"Name": "state", "Values": list(states)}
        return listing("describe_nat_gateways", "NatGateways", [*mine, state])

    for nat in nat_gateways("pending", "available", "failed"):
        gone_ok(ec2.delete_nat_gateway, NatGatewayId=nat["NatGatewayId"])
    # A NAT gateway holds its address and its subnet until it is deleted (a minute on AWS).
    wait_until(lambda: not nat_gateways("pending", "available", "deleting"))

    live = {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}
    reservations = listing("describe_instances", "Reservations", [*mine, live])
    instances = [i["InstanceId"] for r in reservations for i in r["Instances"]]
    if instances:
        gone_ok(ec2.terminate_instances, InstanceIds=instances)
    dying = {"Name": "instance-state-name", "Values": ["shutting-down"]}
    reservations = listing("describe_instances", "Reservations", [*mine, dying])
    if reservations:
        ids = [i["InstanceId"] for r in reservations for i in r["Instances"]]
        ec2.get_waiter("instance_terminated").wait(
            InstanceIds=ids, WaiterConfig={"Delay": 5, "MaxAttempts": 120}
        )

    for address in ec2.describe_addresses(Filters=mine)["Addresses"]:
        if address.get("AssociationId"):
            gone_ok(ec2.disassociate_address, AssociationId=address["AssociationId"])
        gone_ok(ec2.release_address, AllocationId=address["AllocationId"])
    for volume in listing("describe_volumes", "Volumes", mine):
        gone_ok(ec2.delete_volume, VolumeId=volume["VolumeId"])
    for igw in listing("describe_internet_gateways", "InternetGateways", mine):
        for attachment in igw.get("Attachments", []):
            gone_ok(
                ec2.detach_internet_gateway,
                InternetGatewayId=igw["InternetGatewayId"],
                VpcId=attachment["VpcId"],
            )
        gone_ok(ec2.delete_internet_gateway, InternetGatewayId=igw["InternetGatewayId"])
    for subnet in listing("describe_subnets", "Subnets", mine):
        gone_ok(ec2.delete_subnet, SubnetId=subnet["SubnetId"])
    for vpc in listing("describe_vpcs", "Vpcs", mine):
        gone_ok(ec2.delete_vpc, VpcId=vpc["VpcId"])


def gone_ok(call: Any, patience: float = 180, **kwargs: Any) -> None:
    """Make one call; an "already gone" error is success. A DependencyViolation is retried
    for a while: on AWS, what a deleted NAT gateway or instance held is let go a little after
    it is reported deleted."""
    deadline = time.monotonic() + patience
    while True:
        try:
            call(**kwargs)
            return
        except Exception as exc:
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code.endswith("NotFound"):  # InvalidVolume.NotFound, InvalidVpcID.NotFound...
                return
            if code != "DependencyViolation" or time.monotonic() > deadline:
                raise
            time.sleep(5)


def wait_until(done: Any, timeout: float = 600, interval: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting after {timeout:.0f} s")
        time.sleep(interval)


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) == 2 else ""
    session = os.environ["LAB_SESSION"]
    if action == "create":
        try:
            create(json.loads(os.environ["LAB_TAGS"]))
        except BaseException:
            destroy(session)  # leave nothing half-made behind (Terraform will not destroy it)
            raise
    elif action == "destroy":
        destroy(session)
    else:
        print("usage: seed.py create|destroy", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
