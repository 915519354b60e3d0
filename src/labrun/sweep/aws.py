"""Sweeping an AWS account (the local cloud, or real AWS): whatever carries the session's tag.

`find` asks the Resource Groups Tagging API once for everything tagged `labrun:session`
(and `labrun:owner`), then lists the types that API does not answer for (see
`aws_types`). What the tagging API returns and no registered type recognises is still
reported, under its ARN, and its delete fails: a resource labrun cannot delete must show in
the sweep's `remaining`, never silently stay behind.

Calls are retried with exponential backoff on throttling only, at most `ATTEMPTS` times;
botocore's own retries are turned off so that this is the one retry policy. boto3 is
imported only when a client is first needed.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from labrun.errors import LabrunError
from labrun.sweep import Found, Marks
from labrun.sweep.aws_types import (
    EXPIRES_TAG,
    HARD_EXPIRES_TAG,
    NOT_FOUND,
    OWNER_TAG,
    REGISTRY,
    SESSION_TAG,
    AwsType,
    Client,
    error_code,
    tag_dict,
)

THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
    }
)
ATTEMPTS = 6
BASE_DELAY = 0.5  # seconds before the first retry; doubled at each one
MAX_DELAY = 20.0
UNKNOWN_ORDER = 1000  # types labrun cannot delete: listed last
TAGGING = "resourcegroupstaggingapi"

R = TypeVar("R")


class UnsupportedResource(LabrunError):
    """A resource carries labrun's marks, but labrun does not know how to delete its type."""


def with_retry(
    call: Callable[[], R],
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """call(), retried with exponential backoff (and jitter) while AWS throttles it."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:
            if error_code(exc) not in THROTTLING or attempt == attempts:
                raise
            delay = min(BASE_DELAY * 2 ** (attempt - 1), MAX_DELAY)
            sleep(delay * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")  # the last attempt returns or raises


def client(env: Mapping[str, str], service: str, session: Any = None) -> Client:
    """A boto3 client configured by `env` alone (credentials, region, endpoint).

    Without AWS_ENDPOINT_URL in `env`, endpoints configured elsewhere (labrun's own
    environment) are ignored: a real-AWS session must not be swept in the local cloud.
    """
    from botocore.config import Config

    endpoint = env.get("AWS_ENDPOINT_URL") or None
    config = Config(retries={"total_max_attempts": 1}, ignore_configured_endpoint_urls=True)
    return (session or boto_session(env)).client(service, endpoint_url=endpoint, config=config)


def boto_session(env: Mapping[str, str]) -> Any:
    import boto3

    return boto3.session.Session(
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        profile_name=env.get("AWS_PROFILE"),
    )


def account_id(env: Mapping[str, str]) -> str:
    """The AWS account `env` points at (for the allowed-accounts guard)."""
    identity = with_retry(lambda: client(env, "sts").get_caller_identity())
    return str(identity["Account"])


class AwsSweeper:
    """The `Sweeper` for one AWS account and region, configured by a session's env."""

    name = "aws"

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self._session: Any = None
        self._clients: dict[str, Client] = {}

    def client(self, service: str) -> Client:
        """The boto3 client for `service`, made on first use."""
        if service not in self._clients:
            if self._session is None:
                self._session = boto_session(self._env)
            self._clients[service] = client(self._env, service, self._session)
        return self._clients[service]

    def find(self, marks: Marks) -> list[Found]:
        """Every resource tagged with `marks`, dependents first. Raises if a listing fails:
        a sweep that cannot list a type cannot prove it left nothing of it."""
        found = [*self._tagged(marks), *self._listed(marks)]
        return sorted(found, key=lambda f: (order(f.kind), f.kind, f.id))

    def delete(self, resource: Found) -> None:
        """Delete one resource; "not found" is success. Raise on any other failure."""
        rtype = REGISTRY.get(resource.kind)
        if rtype is None:
            raise UnsupportedResource(
                f"labrun cannot delete {resource.kind} resources: delete {resource.id} by hand"
            )
        service = self.client(rtype.service)
        try:
            with_retry(lambda: rtype.delete(service, resource.id))
        except Exception as exc:
            if error_code(exc) not in NOT_FOUND:
                raise

    def unmarked_since(self, since: datetime) -> list[Found]:
        """Resources of the registered types created at or after `since` with no
        labrun:session tag: reported, never deleted. Best effort: a type whose listing
        fails (no permission, no such service in the local cloud) is skipped."""
        cutoff = since if since.tzinfo else since.replace(tzinfo=UTC)  # naive: taken as UTC
        found: list[Found] = []
        for rtype in REGISTRY.values():
            try:
                found += self._unmarked(rtype, cutoff)
            except Exception:  # best effort: see the docstring
                continue
        return sorted(found, key=lambda f: (order(f.kind), f.kind, f.id))

    def _tagged(self, marks: Marks) -> Iterator[Found]:
        """What the tagging API returns, for the types that trust it and the unknown ones."""
        for arn, tags in with_retry(lambda: list(self._tagging_api(marks))):
            rtype, id = classify(arn)
            if rtype is None:
                yield marked(unknown_kind(arn), arn, tags)
            elif rtype.tagging_api:
                yield marked(rtype.kind, id, tags)

    def _tagging_api(self, marks: Marks) -> Iterator[tuple[str, dict[str, str]]]:
        session: dict[str, Any] = {"Key": SESSION_TAG}
        if marks.session is not None:
            session["Values"] = [marks.session]
        filters = [session]
        if marks.owner is not None:
            filters.append({"Key": OWNER_TAG, "Values": [marks.owner]})
        paginator = self.client(TAGGING).get_paginator("get_resources")
        for page in paginator.paginate(TagFilters=filters):
            for mapping in page["ResourceTagMappingList"]:
                yield mapping["ResourceARN"], tag_dict(mapping.get("Tags", []))

    def _listed(self, marks: Marks) -> Iterator[Found]:
        """The types found by their own listings."""
        for rtype in REGISTRY.values():
            if not rtype.tagging_api:
                yield from self._list_marked(rtype, marks)

    def _list_marked(self, rtype: AwsType, marks: Marks) -> list[Found]:
        service = self.client(rtype.service)
        listed = with_retry(lambda: list(rtype.list_marked(service, marks)))
        return [marked(rtype.kind, id, tags) for id, tags in listed]

    def _unmarked(self, rtype: AwsType, cutoff: datetime) -> list[Found]:
        service = self.client(rtype.service)
        return with_retry(lambda: list(self._unmarked_items(rtype, service, cutoff)))

    def _unmarked_items(self, rtype: AwsType, service: Client, cutoff: datetime) -> Iterator[Found]:
        for item in rtype.list_all(service):
            if item.created is None or item.created < cutoff or item.inside:
                continue  # no creation time: cannot tell; inside something: judged with it
            tags = rtype.tags_of(service, item)
            if tags is not None and SESSION_TAG not in tags:
                yield Found(kind=rtype.kind, id=item.id, reason="unmarked")


def classify(arn: str) -> tuple[AwsType | None, str]:
    """The registered type an ARN belongs to and the id its delete takes, or (None, arn)."""
    for rtype in REGISTRY.values():
        id = rtype.id_from_arn(arn)
        if id is not None:
            return rtype, id
    return None, arn


def unknown_kind(arn: str) -> str:
    """A kind for a type labrun does not know, from its ARN: "aws:sns", "aws:ec2:vpc"."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "aws:unknown"
    service, resource = parts[2], parts[5]
    if not re.search("[/:]", resource):
        return f"aws:{service}"
    return f"aws:{service}:{re.split('[/:]', resource, maxsplit=1)[0]}"


def order(kind: str) -> int:
    rtype = REGISTRY.get(kind)
    return rtype.order if rtype else UNKNOWN_ORDER


def marked(kind: str, id: str, tags: dict[str, str]) -> Found:
    return Found(
        kind=kind,
        id=id,
        session=tags.get(SESSION_TAG),
        owner=tags.get(OWNER_TAG),
        expires_at=tags.get(EXPIRES_TAG),
        hard_expires_at=tags.get(HARD_EXPIRES_TAG),
    )
