"""What of a session still exists: everything in its cloud and Docker engine carrying its mark.

This is the proof half of teardown: after Terraform's destroy, labrun lists again, by the
session's tag (`labrun:session`) and label (`labrun.session`), and counts what remains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labrun.session import Session


@dataclass(frozen=True)
class Remnant:
    """One resource that still carries the session's mark."""

    kind: str  # e.g. "aws:s3:bucket", "docker:container"
    id: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id}


@dataclass
class Inventory:
    """What was looked at, and what was found."""

    remnants: list[Remnant]
    checked: list[str]
    unchecked: dict[str, str]  # place -> why it could not be checked


def session_inventory(session: Session, env: dict[str, str], uses_docker: bool) -> Inventory:
    """List what still carries the session's mark in its cloud and Docker engine."""
    inventory = Inventory(remnants=[], checked=[], unchecked={})
    if "AWS_ENDPOINT_URL" in env or session.target == "aws":
        _aws(session, env, inventory)
    if uses_docker:
        _docker(session, inventory)
    return inventory


def _aws(session: Session, env: dict[str, str], inventory: Inventory) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "resourcegroupstaggingapi",
        endpoint_url=env.get("AWS_ENDPOINT_URL"),
        region_name=env.get("AWS_REGION"),
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
    )
    try:
        pages = client.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": "labrun:session", "Values": [session.id]}]
        )
        for page in pages:
            for item in page.get("ResourceTagMappingList", []):
                arn = item["ResourceARN"]
                inventory.remnants.append(Remnant(_arn_kind(arn), arn))
    except (BotoCoreError, ClientError) as exc:
        inventory.unchecked["aws"] = str(exc).splitlines()[0]
        return
    inventory.checked.append("aws-tags")


def _docker(session: Session, inventory: Inventory) -> None:
    from labrun import dockerengine

    engine = dockerengine.client(timeout=10)
    if engine is None:
        inventory.unchecked["docker"] = "no Docker engine answers"
        return
    label = {"label": f"labrun.session={session.id}"}
    found: list[tuple[str, Any]] = [
        ("docker:container", engine.containers.list(all=True, filters=label)),
        ("docker:network", engine.networks.list(filters=label)),
        ("docker:volume", engine.volumes.list(filters=label)),
        ("docker:image", engine.images.list(filters=label)),
    ]
    for kind, items in found:
        inventory.remnants.extend(Remnant(kind, _docker_name(item)) for item in items)
    inventory.checked.append("docker-labels")


def _arn_kind(arn: str) -> str:
    parts = arn.split(":")
    service = parts[2] if len(parts) > 2 else "unknown"
    resource = parts[5] if len(parts) > 5 else ""
    kind = resource.split("/", 1)[0] if "/" in resource else ""
    return f"aws:{service}:{kind}" if kind else f"aws:{service}"


def _docker_name(item: Any) -> str:
    name = getattr(item, "name", None)
    if name:
        return str(name)
    tags = getattr(item, "tags", None)
    return str(tags[0]) if tags else str(item.id)
