"""Sweeping an AWS account (the local cloud, or real AWS): whatever carries the session's tag.

`survey` asks the Resource Groups Tagging API for everything tagged `labrun:session` (with
the session's id, or the owner's mark when sweeping an owner's orphans), then lists the
types that API does not answer for (see `aws_types`). Real AWS differs from moto here, and
the sweep is built for real AWS:

- Ghosts: the tagging API keeps returning deleted resources for minutes. Each of its hits
  is confirmed by the type's own `exists` (a describe call) before it counts; a resource
  being deleted (DynamoDB `DELETING`, a NAT gateway `deleting`) is gone. So is one this
  sweeper deleted less than its type's `settles` seconds ago (an SQS queue is listed for up
  to 60 s after its delete).
- Late arrivals: a resource created a moment ago may be missing from the tagging API. The
  final listing (`thorough`) therefore asks each registered type's own listing instead,
  and `sweep` deletes what it finds there before it calls the account clean. The tagging
  API is still asked then, for the types labrun does not know.
- Failures stay local: a listing that fails (AccessDenied on iam:ListRoles, a tagging-API
  page that keeps failing) puts its type in `Survey.unlisted`; the other types are listed
  and swept all the same.
- Retries, per call: every API call (each page of a listing included) is retried like
  botocore's "standard" mode: throttling codes, 5xx answers, RequestTimeout and connection
  errors, with exponential backoff and full jitter (`Retry`): up to 8 attempts when
  throttled, 3 for the others (an endpoint that is down must not hold the sweep for long).
  A throttled page is asked again; the listing carries on from there. botocore's own
  retries are off, so that this is the one retry policy: a hook on each client
  (`install_retry`).

What the tagging API returns and no registered type recognises is still reported, under its
ARN, and its delete fails: a resource labrun cannot delete must show in the sweep's
`remaining`, never silently stay behind. boto3 is imported only when a client is needed.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar, cast

from labrun import lanes
from labrun.errors import LabrunError
from labrun.sweep import (
    FOREIGN,
    Found,
    Marks,
    Slot,
    Survey,
    aws_iam,
    aws_kms,
    aws_secrets,
    aws_vpc,
    found_or_raise,
)
from labrun.sweep.aws_types import (
    EXPIRES_TAG,
    HARD_EXPIRES_TAG,
    NOT_FOUND,
    OWNER_TAG,
    REGISTRY,
    SESSION_TAG,
    AwsType,
    Client,
    Listed,
    claim,
    error_code,
    tag_dict,
)

T = TypeVar("T")
Marked = tuple[str, dict[str, str]]  # (id, tags), as `list_marked` gives them
# The registry's entries beyond aws_types: importing their modules registers them.
MORE_TYPES = (aws_iam, aws_kms, aws_secrets, aws_vpc)

# botocore's standard retry mode retries these (botocore/retries/standard.py), and so do we.
THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT = frozenset({"RequestTimeout", "RequestTimeoutException"})
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
UNKNOWN_ORDER = 1000  # types labrun cannot delete: listed last
TAGGING = "resourcegroupstaggingapi"
TAGGING_KIND = "aws:tagging-api"  # how a failing tagging API is named in `unlisted`


class UnsupportedResource(LabrunError):
    """A resource carries labrun's marks, but labrun does not know how to delete its type."""


THROTTLED = "throttled"
FAILED = "failed"  # a 5xx, a timeout, a connection error


@dataclass(frozen=True)
class Retry:
    """How one AWS call is retried: botocore's standard mode, without its retry quota, and
    more patient with throttling (AWS throttles in bursts; a sweep must outlast one)."""

    attempts: int = 8  # throttled: in all, the first call included
    failed_attempts: int = 3  # 5xx, timeouts, connection errors (botocore's default): an
    # unreachable endpoint must not hold every listing for minutes
    base: float = 0.5  # seconds: the first retry waits up to this, each next one twice more
    cap: float = 20.0

    def allows(self, why: str, attempts: int) -> bool:
        """Whether a call that failed `why` after `attempts` attempts is made again."""
        return attempts < (self.attempts if why == THROTTLED else self.failed_attempts)

    def delay(self, attempt: int) -> float:
        """The wait before retry number `attempt` (1, 2...): full jitter, capped."""
        return random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


def retry_reason(code: str | None, status: int | None, exc: BaseException | None) -> str | None:
    """THROTTLED or FAILED when an answer (error code, HTTP status) or a raised error is
    worth retrying, else None."""
    if exc is not None:
        from botocore.exceptions import ConnectionError, HTTPClientError

        return FAILED if isinstance(exc, ConnectionError | HTTPClientError) else None
    if code in THROTTLING:
        return THROTTLED
    return FAILED if code in TRANSIENT or status in TRANSIENT_STATUS else None


def install_retry(client: Client, retry: Retry) -> None:
    """Retry each call `client` makes (each page of a paginator too) by `retry`."""

    def needs_retry(
        attempts: int,
        response: tuple[Any, dict[str, Any]] | None = None,
        caught_exception: BaseException | None = None,
        **_: Any,
    ) -> float | None:
        code = status = None
        if response is not None:
            http, parsed = response
            code, status = parsed.get("Error", {}).get("Code"), http.status_code
        why = retry_reason(code, status, caught_exception)
        if why is None or not retry.allows(why, attempts):
            return None
        return retry.delay(attempts)

    client.meta.events.register("needs-retry", needs_retry)


def client(
    env: Mapping[str, str],
    service: str,
    session: Any = None,
    retry: Retry = Retry(),
    connections: int = 10,
) -> Client:
    """A boto3 client configured by `env` alone (credentials, region, endpoint), its calls
    retried by `retry`, with up to `connections` HTTP connections (one per thread using it).

    Without AWS_ENDPOINT_URL in `env`, endpoints configured elsewhere (labrun's own
    environment) are ignored: a real-AWS session must not be swept in the local cloud.
    """
    from botocore.config import Config

    endpoint = env.get("AWS_ENDPOINT_URL") or None
    config = Config(
        retries={"total_max_attempts": 1},
        ignore_configured_endpoint_urls=True,
        max_pool_connections=connections,
    )
    made = (session or boto_session(env)).client(service, endpoint_url=endpoint, config=config)
    install_retry(made, retry)
    return made


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
    return str(client(env, "sts").get_caller_identity()["Account"])


@dataclass(frozen=True)
class Check:
    """One call of a survey's second round: a hit's confirmation, or a resource's tags."""

    resource: Found
    job: lanes.Job[object]  # answers a bool (exists), or the tags (None: gone since listed)
    item: Listed | None = None  # what the type's listing said of it (for a tag read)


# Deletes and listings in flight at once, per service, and in all. AWS throttles each
# service on its own (CloudWatch Logs deletes at 10 a second, IAM's control plane is slow);
# the retries above absorb a throttle, these keep the sweep from provoking one.
LIMITS = {"iam": 10, "logs": 8, "ec2": 8, "ecr": 8, "dynamodb": 8, "lambda": 8, "s3": 16, "sqs": 16}
WORKERS = 32


class AwsSweeper:
    """The `Sweeper` for one AWS account and region, configured by a session's env.

    Thread-safe: `survey` and `sweep` call it from several threads at once. Its clients are
    shared (boto3 clients are thread-safe), made under a lock (a boto3 session is not)."""

    name = "aws"

    def __init__(
        self,
        env: Mapping[str, str],
        retry: Retry = Retry(),
        limits: Mapping[str, int] = LIMITS,
        workers: int = WORKERS,
    ) -> None:
        self._env = dict(env)
        self._retry = retry
        self.limits = dict(limits)
        self.workers = workers
        self._session: Any = None
        self._clients: dict[str, Client] = {}
        self._lock = threading.Lock()
        self._deleted: dict[tuple[str, str], float] = {}  # (kind, id) -> when (monotonic)
        # kind -> (item, tags) of the last thorough survey's listings, for `unmarked_since`
        self._seen: dict[str, list[tuple[Listed, dict[str, str] | None]]] = {}
        # boto3's import and each client's making cost ~0.7 s of CPU: done in the background
        # from here, they overlap with what the caller does first (a Terraform destroy).
        threading.Thread(target=self._make_clients, name="aws-clients", daemon=True).start()

    def client(self, service: str) -> Client:
        """The boto3 client for `service`, made on first use."""
        with self._lock:
            if service not in self._clients:
                if self._session is None:
                    self._session = boto_session(self._env)
                pool = max(self.limits.values(), default=lanes.DEFAULT_LIMIT) + 2
                made = client(self._env, service, self._session, self._retry, pool)
                self._clients[service] = made
            return self._clients[service]

    def _make_clients(self) -> None:
        services = dict.fromkeys([TAGGING, *(rtype.service for rtype in REGISTRY.values())])
        for service in services:
            try:
                self.client(service)
            except Exception:  # a bad setting: the sweep's own call will say so
                return

    def slot(self, resource: Found) -> Slot:
        """Its type's deletion order is its level; its service, its lane."""
        rtype = REGISTRY.get(resource.kind)
        lane = rtype.service if rtype else resource.kind
        return Slot(order(resource.kind), lane, self.limits.get(lane, lanes.DEFAULT_LIMIT))

    def survey(self, marks: Marks, thorough: bool = False) -> Survey:
        """Every resource `marks` select, ours in deletion order (see the module doc).

        Two rounds of concurrent calls: the tagging API and each type's own listing, then
        the confirmations of the tagging API's hits and the tag reads the listings need."""
        survey = Survey(thorough=thorough)
        if thorough:
            self._seen = {}
        listed = [rtype for rtype in REGISTRY.values() if thorough or not rtype.tagging_api]
        first = self._run(
            [lanes.Job[object](TAGGING, partial(self._tagging_api, marks))]
            + [
                lanes.Job[object](rtype.service, partial(self._list, rtype, marks))
                for rtype in listed
            ]
        )
        checks = self._hit_checks(first[0], survey, marks, thorough)
        for rtype, items in zip(listed, first[1:], strict=True):
            if isinstance(items, Exception):
                survey.unlisted[rtype.kind] = describe(items)
            elif own_listing(rtype):  # already (id, tags), selected by the type itself
                for id, tags in cast(list[Marked], items):
                    self._sort(survey, marked(rtype.kind, id, tags), marks)
            else:
                if thorough:
                    self._seen[rtype.kind] = []  # filled as the tags come in
                checks += self._tag_reads(rtype, cast(list[Listed], items))
        for check, answer in zip(checks, self._run([c.job for c in checks]), strict=True):
            self._answer(survey, marks, check, answer)
        for kind in survey.unlisted:  # half a listing proves nothing: none of it is deleted
            survey.found = [f for f in survey.found if f.kind != kind]
            self._seen.pop(kind, None)
        survey.found.sort(key=lambda f: (order(f.kind), f.kind, f.id))
        return survey

    def _answer(self, survey: Survey, marks: Marks, check: Check, answer: object) -> None:
        """Take in one second-round answer: a confirmation, or a listed resource's tags."""
        resource = check.resource
        if isinstance(answer, Exception):  # a tag read failed: the type is unproven
            survey.unlisted.setdefault(resource.kind, describe(answer))
        elif check.item is not None:  # the tags of a listed resource (None: gone)
            tags = cast("dict[str, str] | None", answer)
            if survey.thorough:
                self._seen[resource.kind].append((check.item, tags))
            if tags is not None and claim(tags, marks) is not None:
                self._sort(survey, marked(resource.kind, resource.id, tags), marks)
        elif answer:  # a tagging-API hit its service confirms
            self._sort(survey, resource, marks)

    def _hit_checks(
        self, hits: object, survey: Survey, marks: Marks, thorough: bool
    ) -> list[Check]:
        """The confirmations the tagging API's hits need (its unknown types need none)."""
        if isinstance(hits, Exception):  # the types only the tagging API finds stay unproven
            survey.unlisted[TAGGING_KIND] = describe(hits)
            return []
        checks = []
        for arn, tags in cast(list[Marked], hits):
            rtype, id = classify(arn)
            if rtype is None:
                self._sort(survey, marked(unknown_kind(arn), arn, tags), marks)
            elif rtype.tagging_api and not thorough:  # thorough: listed by its own listing
                job = lanes.Job[object](rtype.service, partial(self.exists, rtype, id))
                checks.append(Check(marked(rtype.kind, id, tags), job))
        return checks

    def _tag_reads(self, rtype: AwsType, items: list[Listed]) -> list[Check]:
        """The tag reads one type's listing needs, one job each."""
        return [
            Check(Found(kind=rtype.kind, id=item.id), lanes.Job[object](rtype.service,
                  partial(self._tags, rtype, item)), item)
            for item in items
        ]  # fmt: skip

    def _run(self, jobs: list[lanes.Job[T]]) -> list[T | Exception]:
        return lanes.run(jobs, self.limits, self.workers)

    def _list(
        self, rtype: AwsType, marks: Marks
    ) -> list[Listed] | list[tuple[str, dict[str, str]]]:
        """A type's listing: its items, whose tags are read next (concurrently), or, for
        a type with its own `list_marked`, what that selects, with the tags."""
        if own_listing(rtype):
            return list(rtype.list_marked(self.client(rtype.service), marks))
        return list(rtype.list_all(self.client(rtype.service)))

    def _tags(self, rtype: AwsType, item: Listed) -> dict[str, str] | None:
        """The item's tags, or None when it went away since its listing."""
        return rtype.tags_of(self.client(rtype.service), item)

    def find(self, marks: Marks) -> list[Found]:
        """What to delete for `marks`; raises SweepIncomplete when a listing failed."""
        return found_or_raise(self.survey(marks))

    def delete(self, resource: Found) -> None:
        """Delete one resource; "not found" is success. Raise on any other failure."""
        rtype = REGISTRY.get(resource.kind)
        if rtype is None:
            raise UnsupportedResource(
                f"labrun cannot delete {resource.kind} resources: delete {resource.id} by hand"
            )
        try:
            rtype.delete(self.client(rtype.service), resource.id)
        except Exception as exc:
            if error_code(exc) not in NOT_FOUND:
                raise
        self._deleted[(resource.kind, resource.id)] = time.monotonic()

    def unmarked_since(self, since: datetime) -> list[Found]:
        """Resources of the registered types created at or after `since` with no
        labrun:session tag: reported, never deleted. Best effort: a type whose listing
        fails (no permission, no such service in the local cloud) is skipped.

        The types the last thorough survey listed are not listed again: a teardown asks
        this right after its sweep's final listing, which saw everything there was."""
        cutoff = since if since.tzinfo else since.replace(tzinfo=UTC)  # naive: taken as UTC
        listings = self._run(
            [
                lanes.Job(rtype.service, partial(self._unmarked, rtype, cutoff))
                for rtype in REGISTRY.values()
            ]
        )
        found = [f for listing in listings if not isinstance(listing, Exception) for f in listing]
        return sorted(found, key=lambda f: (order(f.kind), f.kind, f.id))

    def _sort(self, survey: Survey, resource: Found, marks: Marks) -> None:
        """Put one selected resource where it belongs: ours, foreign, or gone already."""
        if self._settling(resource):
            return
        if marks.claim(resource.session, resource.owner) == FOREIGN:
            note = f"carries this session's mark and another owner's ({resource.owner})"
            survey.foreign.append(replace(resource, reason=f"{note}: not deleted"))
        else:
            survey.found.append(resource)

    def _settling(self, resource: Found) -> bool:
        """Deleted by this sweeper less than its type's `settles` seconds ago."""
        rtype = REGISTRY.get(resource.kind)
        when = self._deleted.get((resource.kind, resource.id))
        return rtype is not None and when is not None and time.monotonic() - when < rtype.settles

    def exists(self, rtype: AwsType, id: str) -> bool:
        """The service's own word on a tagging-API hit (ghosts are not). When it cannot be
        asked, the hit counts: its delete, or the report, will say more."""
        try:
            return rtype.exists(self.client(rtype.service), id)
        except Exception:
            return True

    def _tagging_api(self, marks: Marks) -> list[tuple[str, dict[str, str]]]:
        """Each page is one call, retried on its own: a throttle does not restart the list."""
        session: dict[str, Any] = {"Key": SESSION_TAG}
        filters = [session]
        if marks.session is not None:  # owner not filtered: see Marks.claim
            session["Values"] = [marks.session]
        elif marks.owner is not None:
            filters.append({"Key": OWNER_TAG, "Values": [marks.owner]})
        paginator = self.client(TAGGING).get_paginator("get_resources")
        return [
            (mapping["ResourceARN"], tag_dict(mapping.get("Tags", [])))
            for page in paginator.paginate(TagFilters=filters)
            for mapping in page["ResourceTagMappingList"]
        ]

    def _unmarked(self, rtype: AwsType, cutoff: datetime) -> list[Found]:
        service = self.client(rtype.service)
        seen = self._seen.get(rtype.kind)
        if seen is None:
            listed = (item for item in rtype.list_all(service) if created_since(item, cutoff))
            seen = [(item, rtype.tags_of(service, item)) for item in listed]
        return [
            Found(kind=rtype.kind, id=item.id, reason="unmarked")
            for item, tags in seen
            if created_since(item, cutoff) and tags is not None and SESSION_TAG not in tags
        ]


def describe(exc: BaseException) -> str:
    """An error as one line for a receipt: "ClientError: An error occurred (AccessDenied)..."."""
    return f"{type(exc).__name__}: {exc}"


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


def created_since(item: Listed, cutoff: datetime) -> bool:
    """Created at or after `cutoff`, and not inside something (judged with it). No creation
    time: cannot tell, so not."""
    return item.created is not None and item.created >= cutoff and not item.inside


def own_listing(rtype: AwsType) -> bool:
    """Whether the type selects its marked resources itself (it overrides `list_marked`)."""
    return type(rtype).list_marked is not AwsType.list_marked


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
