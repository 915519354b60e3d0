"""A strict AWS for tests: a proxy in front of a moto server that behaves the way real AWS does
where moto is lenient.

moto answers every call at once, never throttles, never refuses, lets a security group in use
be deleted, and its tagging API is always exactly up to date. Real AWS does none of that, and a
teardown proven on moto alone proves little. `StrictAws` is an HTTP proxy on 127.0.0.1: clients
reach it through AWS_ENDPOINT_URL (`strict.env`), exactly as they would reach AWS, and it
forwards each call to moto, unless a rule of the test says otherwise:

- `deny("iam:ListRoles")`: AccessDenied, as for a restricted learner user;
- `throttle("sqs", times=3)`: the service's own throttling error (Throttling,
  RequestLimitExceeded, SlowDown...), `fail(...)`: a 5xx, `timeout(...)`: RequestTimeout,
  `drop(...)`: the connection closed with no answer;
- `ghosts(seconds)`: a deleted resource stays in the tagging API's GetResources answers for
  that long; `late(seconds)`: a new resource is missing from them for that long;
- dependencies (on by default, `dependencies(False)` turns them off): EC2 deletes answer
  DependencyViolation (a security group in use, a VPC or subnet with something in it, an
  internet gateway still attached...) and IAM deletes DeleteConflict (a user with access keys
  or policies, a role in an instance profile, a policy still attached...), as AWS does;
- `latency(seconds)`: every call waits that long before it is answered, as over a network to
  AWS (50-200 ms a call); calls in flight at once wait together;
- `slow_delete("ec2:DeleteNatGateway", seconds)`: the delete is accepted at once but happens
  that much later. A NAT gateway is `deleting` meanwhile (and still holds its address and
  subnet), an instance `shutting-down` (still holding its volumes and groups), a DynamoDB
  table is `DELETING` (a second delete is refused), an SQS queue keeps
  being listed.

Rules name calls the way AWS's own AccessDenied messages do, `prefix:Operation`
("iam:ListRoles", "tag:GetResources", "s3:DeleteBucket"; the operation is the API's, e.g.
s3:ListBuckets), or a whole service ("sqs"), or "*". A rule applies `times` times (None:
for as long as the test runs). Every call the proxy sees is in `calls`, in the order it was
answered, with what it answered and when it began and ended (on one counter of events):
tests assert on them ("ListRoles was refused once, then the queue was deleted", "no security
group delete began before every instance's termination had ended"); `peak("sqs")` is the
most calls of a target the proxy was answering at once.

Where the proxy needs to know more than the call says (does this group have instances? which
resources did that delete make disappear?), it asks moto directly, not through itself.
Ghosts and late arrivals are what moto's tagging API lost or gained around the calls that
went through the proxy; a resource the proxy never saw created counts as new from the first
GetResources that shows it.

The package: this module (the proxy, its rules, the tagging API's lag), `wire` (reading
calls, writing answers in each AWS protocol), `dependencies` (DependencyViolation and
DeleteConflict), `slow` (slow deletes), `missing` (APIs moto lacks: IAM service-specific
credentials).
"""

from __future__ import annotations

import http.client
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3

from testing.strict_aws.dependencies import refusal
from testing.strict_aws.missing import Missing
from testing.strict_aws.slow import SLOW_DELETES, STATE_REWRITES
from testing.strict_aws.wire import (
    CREDENTIALS,
    REGION,
    Answer,
    Request,
    denied_code,
    error,
    parse,
    throttle_of,
)

GONE_PREFIXES = ("Delete", "Terminate", "Release")  # calls after which resources may vanish
READ_PREFIXES = ("Get", "List", "Describe", "Head")


@dataclass
class Call:
    """One call the proxy received, and what it answered ("moto", or the rule that fired)."""

    action: str  # "sqs:DeleteQueue"
    answer: str  # "moto", an error code ("AccessDenied", "RequestLimitExceeded"...),
    # "dropped", "accepted" (a slow delete), or a refusal's code ("DependencyViolation")
    params: dict[str, Any] = field(default_factory=dict)
    began: int = 0  # events (a call beginning or ending) the proxy counted before this one began
    ended: int = 0  # ... and before it was answered


@dataclass
class Rule:
    target: str  # "*", "sqs" or "sqs:DeleteQueue"
    times: int | None  # None: always
    answer: Callable[[Request], Answer]
    name: str
    after: int = 0  # matching calls let through before it applies

    def matches(self, action: str) -> bool:
        service = action.split(":", 1)[0]
        return self.target in ("*", service, action) and self.times != 0


class Drop(Exception):
    """Close the connection without answering."""


class StrictAws:
    """The proxy, its rules, and clients for the test. Use it as a context manager (or
    through the `strict_aws` fixture in testing.fixtures)."""

    def __init__(self, moto_endpoint: str) -> None:
        self.moto_endpoint = moto_endpoint
        self.calls: list[Call] = []
        self._rules: list[Rule] = []
        self._lock = threading.RLock()
        self._ghost_seconds = 0.0
        self._ghosts: dict[str, tuple[dict[str, str], float]] = {}  # arn -> (tags, until)
        self._late_seconds = 0.0
        self._first_seen: dict[str, float] = {}
        self._dependencies = True
        self._latency = 0.0
        self._events = itertools.count(1)
        self._began = threading.local()  # the handling thread's call: when it began
        self._slow: dict[str, float] = {}  # action -> seconds
        self._pending: dict[str, float] = {}  # resource id -> when it is really deleted
        self._timers: list[threading.Timer] = []
        self._missing = Missing()  # APIs moto does not implement
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # The test's side: where to connect, and the rules.

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def env(self) -> dict[str, str]:
        """The AWS environment of a process that talks to the strict cloud."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            **CREDENTIALS,
        }

    def client(self, service: str, region: str = REGION) -> Any:
        """A boto3 client through the proxy (the rules apply to it), without retries."""
        return self._client(service, region, self.endpoint)

    def moto(self, service: str, region: str = REGION) -> Any:
        """A boto3 client straight to moto: no rule applies (seeding, looking behind)."""
        return self._client(service, region, self.moto_endpoint)

    def deny(self, target: str, times: int | None = None) -> None:
        """AccessDenied on `target` ("iam:ListRoles")."""
        self._add(target, times, "AccessDenied", lambda r: error(r, 403, denied_code(r),
                  f"User: arn:aws:iam::123456789012:user/learner is not authorized to "
                  f"perform: {r.action} because no identity-based policy allows it"))  # fmt: skip

    def throttle(
        self, target: str, times: int | None = 3, code: str | None = None, after: int = 0
    ) -> None:
        """The service's throttling error (or `code`) on `target`, `times` times, once
        `after` matching calls went through (after=1: the second page of a listing)."""

        def answer(request: Request) -> Answer:
            status, default = throttle_of(request)
            return error(request, status, code or default, "Rate exceeded")

        self._add(target, times, code or "throttled", answer, after)

    def fail(self, target: str, times: int | None = 1, status: int = 500, after: int = 0) -> None:
        """A 5xx answer (InternalError, ServiceUnavailable) on `target`."""
        code = "ServiceUnavailable" if status == 503 else "InternalError"
        self._add(target, times, str(status), lambda r: error(r, status, code, "We encountered "
                  "an internal error. Please try again."), after)  # fmt: skip

    def timeout(self, target: str, times: int | None = 1, after: int = 0) -> None:
        """RequestTimeout on `target`: AWS gave up reading the request."""
        self._add(target, times, "RequestTimeout", lambda r: error(r, 400, "RequestTimeout",
                  "Your socket connection to the server was not read from or written to "
                  "within the timeout period."), after)  # fmt: skip

    def drop(self, target: str, times: int | None = 1, after: int = 0) -> None:
        """Close the connection without an answer on `target` (a connection error)."""

        def answer(request: Request) -> Answer:
            raise Drop

        self._add(target, times, "dropped", answer, after)

    def ghosts(self, seconds: float) -> None:
        """Deleted resources stay in GetResources answers for `seconds`."""
        self._ghost_seconds = seconds

    def late(self, seconds: float) -> None:
        """New resources are missing from GetResources answers for `seconds`."""
        self._late_seconds = seconds
        self._first_seen.update(dict.fromkeys(self._tagged(REGION), 0.0))  # known: not new

    def dependencies(self, strict: bool = True) -> None:
        """Refuse deletes while dependencies exist (DependencyViolation, DeleteConflict)."""
        self._dependencies = strict

    def latency(self, seconds: float) -> None:
        """Every call waits `seconds` before it is answered (0: none)."""
        self._latency = seconds

    def peak(self, target: str = "*") -> int:
        """The most calls of `target` ("sqs", "sqs:DeleteQueue", "*") in flight at once."""
        with self._lock:
            calls = [c for c in self.calls if target in ("*", c.action.split(":")[0], c.action)]
        steps = sorted([(c.began, 1) for c in calls] + [(c.ended, -1) for c in calls])
        flying = most = 0
        for _, step in steps:
            flying += step
            most = max(most, flying)
        return most

    def slow_delete(self, action: str, seconds: float) -> None:
        """Accept `action` at once, delete for real `seconds` later. One of SLOW_DELETES."""
        if action not in SLOW_DELETES:
            raise ValueError(f"slow deletes of {action} are not emulated: {sorted(SLOW_DELETES)}")
        self._slow[action] = seconds

    def clear(self) -> None:
        """No rules any more (ghosts, late arrivals and slow deletes included)."""
        with self._lock:
            self._rules.clear()
        self._ghost_seconds = self._late_seconds = self._latency = 0.0
        self._ghosts.clear()
        self._slow.clear()

    def answers(self, action: str) -> list[str]:
        """What the proxy answered to each call of `action` so far."""
        return [call.answer for call in self.calls if call.action == action]

    # Lifecycle.

    def __enter__(self) -> StrictAws:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for timer in self._timers:
            timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        for client in self._clients.values():
            client.close()

    # The proxy's side.

    def handle(self, request: Request) -> Answer:
        self._began.event = next(self._events)
        if self._latency:
            time.sleep(self._latency)
        rule = self._rule_for(request.action)
        if rule is not None:
            try:
                answer = rule.answer(request)
            except Drop:
                self._log(request, rule.name)
                raise
            self._log(request, answer.headers.get("x-strict-aws", rule.name))  # the error code
            return answer
        emulated = self._missing.answer(self, request)
        if emulated is not None:
            self._log(request, emulated.headers["x-strict-aws"])  # "emulated", or the error
            return emulated
        if self._dependencies:
            refused = refusal(self, request)
            if refused is not None:
                self._log(request, refused.headers.get("x-strict-aws", "refused"))
                return refused
        if request.action in self._slow:
            accepted = self._accept_slowly(request)
            if accepted is not None:
                self._log(request, "accepted")
                return accepted
        answer = self.forward(request)
        self._log(request, "moto")
        return _rewrite(self, request, answer)

    def forward(self, request: Request) -> Answer:
        """Send the call to moto, noting what the tagging API lost or gained through it."""
        gone = self._ghost_seconds and request.operation.startswith(GONE_PREFIXES)
        before = self._tagged(request.region) if gone else {}
        host = urlsplit(self.moto_endpoint).netloc
        connection = http.client.HTTPConnection(host, timeout=60)
        try:
            connection.request(request.method, request.path, request.body, request.headers)
            response = connection.getresponse()
            answer = Answer(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()
        if gone:
            after = self._tagged(request.region)
            until = time.monotonic() + self._ghost_seconds
            with self._lock:
                for arn in before.keys() - after.keys():
                    self._ghosts[arn] = (before[arn], until)
        if self._late_seconds and not request.operation.startswith(READ_PREFIXES):
            self._note_new(request.region)
        return answer

    def _rule_for(self, action: str) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(action):
                    if rule.after > 0:
                        rule.after -= 1
                        continue
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    def _add(
        self,
        target: str,
        times: int | None,
        name: str,
        answer: Callable[[Request], Answer],
        after: int = 0,
    ) -> None:
        with self._lock:
            self._rules.append(Rule(target, times, answer, name, after))

    def _log(self, request: Request, answer: str) -> None:
        began = getattr(self._began, "event", 0)
        with self._lock:
            ended = next(self._events)
            self.calls.append(Call(request.action, answer, request.params, began, ended))

    def _client(self, service: str, region: str, endpoint: str) -> Any:
        key = (service, region, endpoint)
        if key not in self._clients:
            from botocore.config import Config

            self._clients[key] = boto3.client(
                service,
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                config=Config(retries={"total_max_attempts": 1}),
            )
        return self._clients[key]

    def _tagged(self, region: str) -> dict[str, dict[str, str]]:
        """Every resource moto's tagging API knows in `region`: ARN -> tags."""
        tagging = self.moto("resourcegroupstaggingapi", region)
        found = {}
        for page in tagging.get_paginator("get_resources").paginate():
            for mapping in page["ResourceTagMappingList"]:
                tags = {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
                found[mapping["ResourceARN"]] = tags
        return found

    def _note_new(self, region: str) -> None:
        now = time.monotonic()
        for arn in self._tagged(region):
            self._first_seen.setdefault(arn, now)

    def visible(self, arn: str) -> bool:
        """Whether GetResources shows `arn` yet (late arrivals)."""
        first = self._first_seen.setdefault(arn, time.monotonic())
        return time.monotonic() - first >= self._late_seconds

    def live_ghosts(self) -> dict[str, dict[str, str]]:
        now = time.monotonic()
        with self._lock:
            return {arn: tags for arn, (tags, until) in self._ghosts.items() if until > now}

    def _accept_slowly(self, request: Request) -> Answer | None:
        emulation = SLOW_DELETES[request.action]
        id = emulation.resource_id(self, request)
        if id is None:
            return None  # not there: moto answers with its own not-found error
        if id in self._pending:
            return emulation.again(request, id)
        seconds = self._slow[request.action]
        self._pending[id] = time.monotonic() + seconds
        answer = emulation.accepted(self, request, id)

        def later() -> None:
            try:
                self.forward(request)
            finally:
                self._pending.pop(id, None)

        timer = threading.Timer(seconds, later)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()
        return answer

    def pending(self, id: str) -> bool:
        """Whether a slow delete of `id` was accepted and has not happened yet."""
        return id in self._pending


def _handler(strict: StrictAws) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            body = self._body()
            request = parse(self.command, self.path, dict(self.headers.items()), body)
            try:
                answer = strict.handle(request)
            except Drop:
                self.close_connection = True
                return
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                del self.headers["Transfer-Encoding"]
                body = b"".join(chunks)
                self.headers["Content-Length"] = str(len(body))
                return body
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test's output stays readable; `calls` has the record

    return Handler


# What the tagging API would answer on real AWS.


def _rewrite(strict: StrictAws, request: Request, answer: Answer) -> Answer:
    """What AWS would have answered where moto's answer is too up to date."""
    if answer.status != 200:
        return answer
    if request.action == "tag:GetResources":
        return _tagging_answer(strict, request, answer)
    rewrite = STATE_REWRITES.get(request.action)
    return rewrite(strict, request, answer) if rewrite else answer


def _tagging_answer(strict: StrictAws, request: Request, answer: Answer) -> Answer:
    """GetResources with late arrivals hidden and ghosts added (on its last page)."""
    page = json.loads(answer.body)
    mappings = [
        m for m in page.get("ResourceTagMappingList", []) if strict.visible(m["ResourceARN"])
    ]
    if not page.get("PaginationToken"):
        listed = {m["ResourceARN"] for m in mappings}
        for arn, tags in strict.live_ghosts().items():
            if arn not in listed and _selected(arn, tags, request.params):
                tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
                mappings.append({"ResourceARN": arn, "Tags": tag_list})
    page["ResourceTagMappingList"] = mappings
    return Answer(answer.status, answer.headers, json.dumps(page).encode())


def _selected(arn: str, tags: dict[str, str], params: dict[str, Any]) -> bool:
    """Whether GetResources' filters select a resource."""
    for wanted in params.get("TagFilters", []):
        if wanted["Key"] not in tags:
            return False
        if wanted.get("Values") and tags[wanted["Key"]] not in wanted["Values"]:
            return False
    types = params.get("ResourceTypeFilters")
    if types:
        service, resource = arn.split(":")[2], arn.split(":", 5)[5]
        kind = f"{service}:{re.split('[/:]', resource)[0]}"
        return any(t in (service, kind) for t in types)
    return True
