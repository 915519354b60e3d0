"""Checks of the cost-hygiene lab: which of the session's resources are still there.

terraform/seed.py made them, each with a Name tag, the session's tags, and keep=true on the
ones that must stay; its RESOURCES table is the checker's list too. Every check lists the
session's resources as they are now (by their labrun:session tag) and judges each by name.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from labrun.checks import CheckFailed, task

LAB_DIR = Path(__file__).resolve().parent
LIVE_INSTANCE = {"pending", "running", "stopping", "stopped"}
LIVE_NAT = {"pending", "available", "failed"}  # "deleting" and "deleted" cost nothing more
KIND_NAMES = {
    "vpc": "VPC",
    "subnet": "subnet",
    "internet-gateway": "internet gateway",
    "instance": "instance",
    "elastic-ip": "elastic IP",
    "natgateway": "NAT gateway",
    "volume": "volume",
}


def _seed() -> types.ModuleType:
    """terraform/seed.py as a module (executed from its source: no __pycache__ in the lab)."""
    name = "cost_hygiene_seed"
    if name not in sys.modules:
        path = LAB_DIR / "terraform" / "seed.py"
        module = types.ModuleType(name)
        module.__file__ = str(path)
        sys.modules[name] = module
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return sys.modules[name]


def names(kind: str, keep: bool) -> list[str]:
    return _seed().names(kind, keep)


class Account:
    """The session's resources as they are now: kind -> Name -> [resource, ...]."""

    def __init__(self, ctx) -> None:
        self.ec2 = ctx.aws.client("ec2")
        self.session = ctx.session
        self.by_kind: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def _mine(self, items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            if tags.get("labrun:session") == self.session:
                item["TagMap"] = tags
                found.setdefault(tags.get("Name", ""), []).append(item)
        return found

    def _pages(self, operation: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.ec2.get_paginator(operation).paginate():
            items += page[key]
        return items

    def get(self, kind: str) -> dict[str, list[dict[str, Any]]]:
        if kind not in self.by_kind:
            if kind == "instance":
                reservations = self._pages("describe_instances", "Reservations")
                items = [i for r in reservations for i in r["Instances"]]
            elif kind == "volume":
                items = self._pages("describe_volumes", "Volumes")
            elif kind == "elastic-ip":
                items = self.ec2.describe_addresses()["Addresses"]
            elif kind == "natgateway":
                items = self._pages("describe_nat_gateways", "NatGateways")
            elif kind == "vpc":
                items = self._pages("describe_vpcs", "Vpcs")
            elif kind == "subnet":
                items = self._pages("describe_subnets", "Subnets")
            elif kind == "internet-gateway":
                items = self._pages("describe_internet_gateways", "InternetGateways")
            else:
                raise ValueError(kind)
            self.by_kind[kind] = self._mine(items)
        return self.by_kind[kind]

    def alive(self, kind: str, name: str) -> list[dict[str, Any]]:
        """The resources called `name` that still exist (and cost money)."""
        items = self.get(kind).get(name, [])
        if kind == "instance":
            return [i for i in items if i["State"]["Name"] in LIVE_INSTANCE]
        if kind == "natgateway":
            return [n for n in items if n["State"] in LIVE_NAT]
        return items


def _listing(names_left: list[str]) -> str:
    return ", ".join(names_left)


def _score(total: int, left: int) -> float:
    return round((total - left) / total, 2)


# --- the forgotten resources -----------------------------------------------------------------


@task("instances")
def instances(ctx):
    account = Account(ctx)
    forgotten = names("instance", keep=False)
    left = [n for n in forgotten if account.alive("instance", n)]
    if not left:
        return
    stopped = [
        n
        for n in left
        if all(i["State"]["Name"] == "stopped" for i in account.alive("instance", n))
    ]
    message = f"{len(left)} of {len(forgotten)} forgotten instances still exist: {_listing(left)}"
    hint = None
    if stopped:
        message += f" ({_listing(stopped)}: stopped, not terminated)"
        hint = (
            "A stopped instance is not gone: you still pay for its EBS disk, and anyone can "
            "start it again. Terminate it: aws ec2 terminate-instances --instance-ids ID "
            "(boto3: ec2.terminate_instances(InstanceIds=[ID]))."
        )
    raise CheckFailed(message, hint=hint, score=_score(len(forgotten), len(left)))


@task("volumes")
def volumes(ctx):
    account = Account(ctx)
    forgotten = names("volume", keep=False)
    left = [n for n in forgotten if account.alive("volume", n)]
    if not left:
        return
    raise CheckFailed(
        f"{len(left)} of {len(forgotten)} forgotten volumes still exist: {_listing(left)}",
        hint="An EBS volume is billed for its size every hour, attached or not. List the "
        "unattached ones (aws ec2 describe-volumes --filters Name=status,Values=available), "
        "read their tags, and delete those without keep=true: aws ec2 delete-volume "
        "--volume-id ID.",
        score=_score(len(forgotten), len(left)),
    )


@task("nat-gateway")
def nat_gateway(ctx):
    account = Account(ctx)
    forgotten = names("natgateway", keep=False)
    left = [n for n in forgotten if account.alive("natgateway", n)]
    if not left:
        return
    raise CheckFailed(
        f"the forgotten NAT gateway {_listing(left)} is still there",
        hint="A NAT gateway is billed every hour it exists (about $1 a day), even with no "
        "traffic. aws ec2 describe-nat-gateways, then aws ec2 delete-nat-gateway "
        "--nat-gateway-id ID.",
        score=_score(len(forgotten), len(left)),
    )


@task("elastic-ips")
def elastic_ips(ctx):
    account = Account(ctx)
    forgotten = names("elastic-ip", keep=False)
    left = [n for n in forgotten if account.alive("elastic-ip", n)]
    if not left:
        return
    hint = None
    nat_addresses = {
        details["address"]: name
        for kind, name, _, details in _seed().RESOURCES
        if kind == "natgateway" and details.get("address")
    }
    held = [a for a in left if a in nat_addresses]
    if held:
        nat = nat_addresses[held[0]]
        if account.alive("natgateway", nat):
            hint = (
                f"{held[0]} belongs to the NAT gateway {nat}: delete the NAT gateway first "
                "(task nat-gateway), wait until it is deleted, then release the address: "
                "aws ec2 release-address --allocation-id ID."
            )
        else:
            hint = (
                f"Deleting the NAT gateway {nat} did not release its address {held[0]}: an "
                "allocated elastic IP is billed even when nothing uses it. Release it: "
                "aws ec2 release-address --allocation-id ID."
            )
    raise CheckFailed(
        f"{len(left)} of {len(forgotten)} forgotten elastic IPs are still allocated: "
        f"{_listing(left)}",
        hint=hint,
        score=_score(len(forgotten), len(left)),
    )


# --- what must stay --------------------------------------------------------------------------


@task("keep")
def keep(ctx):
    account = Account(ctx)
    seed = _seed()
    damage: list[str] = []  # what happened to resources tagged keep=true
    repairs: list[str] = []
    for kind, name, stays, details in seed.RESOURCES:
        if not stays:
            continue
        items = account.get(kind).get(name, [])
        if kind == "instance":
            states = {i["State"]["Name"] for i in items}
            if not states & LIVE_INSTANCE:
                damage.append(f"the instance {name} was terminated")
            elif "running" not in states and "pending" not in states:
                damage.append(f"the instance {name} is stopped")
                repairs.append(
                    f"{name} serves predictions: start it again with aws ec2 start-instances "
                    "--instance-ids ID."
                )
        elif not items:
            gone = "released" if kind == "elastic-ip" else "deleted"
            damage.append(f"the {KIND_NAMES[kind]} {name} was {gone}")
        elif kind == "elastic-ip" and details.get("instance"):
            owner = account.alive("instance", details["instance"])
            owner_ids = {i["InstanceId"] for i in owner}
            if not any(a.get("InstanceId") in owner_ids for a in items) and owner:
                damage.append(
                    f"the elastic IP {name} is no longer attached to {details['instance']}"
                )
                repairs.append(
                    f"Attach {name} to {details['instance']} again: aws ec2 associate-address "
                    "--allocation-id ALLOCATION_ID --instance-id INSTANCE_ID."
                )
    if damage:
        hint = (
            " ".join(repairs)
            if len(repairs) == len(damage)
            else (
                "These carried keep=true: they were not forgotten, the platform needs them. In a "
                "real account they are gone for good; always read the tags before you delete. "
                "To try again from the start: labrun stop, then labrun start cost-hygiene."
            )
        )
        raise CheckFailed("; ".join(damage), hint=hint)
    forgotten = [(kind, name) for kind, name, stays, _ in seed.RESOURCES if not stays]
    if all(account.alive(kind, name) for kind, name in forgotten):
        raise CheckFailed(
            "nothing has been cleaned up yet: this task passes once you have removed forgotten "
            "resources, and nothing that must stay",
            hint="Start with the instances (task instances). Before each delete, check that "
            "the resource has no keep=true tag.",
        )
