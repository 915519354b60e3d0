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
- `slow_delete("ec2:DeleteNatGateway", seconds)`: the delete is accepted at once but happens
  that much later. A NAT gateway is `deleting` meanwhile (and still holds its address and
  subnet), a DynamoDB table is `DELETING` (a second delete is refused), an SQS queue keeps
  being listed.

Rules name calls the way AWS's own AccessDenied messages do, `prefix:Operation`
("iam:ListRoles", "tag:GetResources", "s3:DeleteBucket"; the operation is the API's, e.g.
s3:ListBuckets), or a whole service ("sqs"), or "*". A rule applies `times` times (None:
for as long as the test runs). Every call the proxy sees is in `calls`, in order, with what it
answered: tests assert on them ("ListRoles was refused once, then the queue was deleted").

Where the proxy needs to know more than the call says (does this group have instances? which
resources did that delete make disappear?), it asks moto directly, not through itself.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# The credential scope's signing name -> the prefix of AWS's action names, where they differ.
PREFIXES = {"tagging": "tag", "monitoring": "cloudwatch"}
MODELS = {"tag": "resourcegroupstaggingapi"}  # the prefix -> botocore's model, where they differ
# Each service's own throttling answer: (HTTP status, error code).
THROTTLES = {
    "ec2": (503, "RequestLimitExceeded"),
    "s3": (503, "SlowDown"),
    "lambda": (429, "TooManyRequestsException"),
    "tag": (400, "ThrottledException"),
    "sqs": (400, "RequestThrottled"),
}
DEFAULT_THROTTLE = (400, "ThrottlingException")
QUERY_THROTTLE = (400, "Throttling")  # IAM, STS: the query protocol's services
GONE_PREFIXES = ("Delete", "Terminate", "Release")  # calls after which resources may vanish
READ_PREFIXES = ("Get", "List", "Describe", "Head")


@dataclass
class Call:
    """One call the proxy received, and what it answered ("moto", or the rule that fired)."""

    action: str  # "sqs:DeleteQueue"
    answer: str  # "moto", an error code ("AccessDenied", "RequestLimitExceeded"...),
    # "dropped", "accepted" (a slow delete), or a refusal's code ("DependencyViolation")
    params: dict[str, Any] = field(default_factory=dict)


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


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Drop(Exception):
    """Close the connection without answering."""


@dataclass
class Request:
    """An AWS call as the proxy parsed it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    prefix: str  # "ec2", "iam", "tag"...
    region: str
    operation: str  # "DeleteSecurityGroup"
    protocol: str  # "ec2", "query", "json", "rest-json", "rest-xml"
    params: dict[str, Any]

    @property
    def action(self) -> str:
        return f"{self.prefix}:{self.operation}"

    def param(self, name: str) -> str:
        value = self.params.get(name, "")
        return str(value[0] if isinstance(value, list) else value)


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
        self._slow: dict[str, float] = {}  # action -> seconds
        self._pending: dict[str, float] = {}  # resource id -> when it is really deleted
        self._timers: list[threading.Timer] = []
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
        self._add(target, times, "AccessDenied", lambda r: _error(r, 403, _denied_code(r),
                  f"User: arn:aws:iam::123456789012:user/learner is not authorized to "
                  f"perform: {r.action} because no identity-based policy allows it"))  # fmt: skip

    def throttle(
        self, target: str, times: int | None = 3, code: str | None = None, after: int = 0
    ) -> None:
        """The service's throttling error (or `code`) on `target`, `times` times, once
        `after` matching calls went through (after=1: the second page of a listing)."""

        def answer(request: Request) -> Answer:
            status, default = _throttle_of(request)
            return _error(request, status, code or default, "Rate exceeded")

        self._add(target, times, code or "throttled", answer, after)

    def fail(self, target: str, times: int | None = 1, status: int = 500, after: int = 0) -> None:
        """A 5xx answer (InternalError, ServiceUnavailable) on `target`."""
        code = "ServiceUnavailable" if status == 503 else "InternalError"
        self._add(target, times, str(status), lambda r: _error(r, status, code, "We encountered "
                  "an internal error. Please try again."), after)  # fmt: skip

    def timeout(self, target: str, times: int | None = 1, after: int = 0) -> None:
        """RequestTimeout on `target`: AWS gave up reading the request."""
        self._add(target, times, "RequestTimeout", lambda r: _error(r, 400, "RequestTimeout",
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

    def slow_delete(self, action: str, seconds: float) -> None:
        """Accept `action` at once, delete for real `seconds` later. One of SLOW_DELETES."""
        if action not in SLOW_DELETES:
            raise ValueError(f"slow deletes of {action} are not emulated: {sorted(SLOW_DELETES)}")
        self._slow[action] = seconds

    def clear(self) -> None:
        """No rules any more (ghosts, late arrivals and slow deletes included)."""
        with self._lock:
            self._rules.clear()
        self._ghost_seconds = self._late_seconds = 0.0
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
        rule = self._rule_for(request.action)
        if rule is not None:
            try:
                answer = rule.answer(request)
            except Drop:
                self._log(request, rule.name)
                raise
            self._log(request, answer.headers.get("x-strict-aws", rule.name))  # the error code
            return answer
        if self._dependencies:
            refusal = _dependency_refusal(self, request)
            if refusal is not None:
                self._log(request, refusal.headers.get("x-strict-aws", "refused"))
                return refusal
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
        with self._lock:
            self.calls.append(Call(request.action, answer, request.params))

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


# Parsing calls.


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


def parse(method: str, path: str, headers: dict[str, str], body: bytes) -> Request:
    """Which service, operation and parameters an AWS call is about."""
    lowered = {k.lower(): v for k, v in headers.items()}
    scope = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/", lowered.get("authorization", ""))
    region, signing = scope.groups() if scope else (REGION, "s3")  # unsigned: presigned S3
    prefix = PREFIXES.get(signing, signing)
    target = lowered.get("x-amz-target")
    if target:
        params = json.loads(body or b"{}")
        return Request(method, path, headers, body, prefix, region, target.rsplit(".", 1)[-1],
                       "json", params)  # fmt: skip
    if lowered.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode(), keep_blank_values=True)
        if "Action" in form:
            protocol = "ec2" if prefix == "ec2" else "query"
            operation = form.pop("Action")[0]
            return Request(method, path, headers, body, prefix, region, operation, protocol, form)
    protocol, operation = _rest_operation(prefix, method, path)
    query = parse_qs(urlsplit(path).query, keep_blank_values=True)
    return Request(method, path, headers, body, prefix, region, operation, protocol, query)


@cache
def _model(prefix: str) -> Any:
    import botocore.session

    try:
        return botocore.session.get_session().get_service_model(MODELS.get(prefix, prefix))
    except Exception:
        return None


def _rest_operation(prefix: str, method: str, path: str) -> tuple[str, str]:
    """(protocol, operation) of a REST call, matched against botocore's own model."""
    model = _model(prefix)
    if model is None:
        return "rest-json", f"{method} {urlsplit(path).path}"
    parts = urlsplit(path)
    segments = [unquote(s) for s in parts.path.strip("/").split("/") if s]
    query = set(parse_qs(parts.query, keep_blank_values=True))
    best: tuple[int, str] | None = None
    for name in model.operation_names:
        http = model.operation_model(name).http
        if http.get("method") != method:
            continue
        score = _uri_score(http.get("requestUri", "/"), segments, query)
        if score is not None and (best is None or score > best[0]):
            best = (score, name)
    return model.metadata["protocol"], best[1] if best else f"{method} {parts.path}"


def _uri_score(template: str, segments: list[str], query: set[str]) -> int | None:
    """How well a model's requestUri fits a call: None when it does not, more literals
    matched scoring higher."""
    path, _, literal_query = template.partition("?")
    wanted = {pair.split("=")[0] for pair in literal_query.split("&") if pair} - {"x-id"}
    if not wanted <= query:
        return None
    parts = [p for p in path.strip("/").split("/") if p]
    greedy = bool(parts) and parts[-1].endswith("+}")
    if len(segments) != len(parts) and not (greedy and len(segments) >= len(parts)):
        return None
    score = 10 * len(wanted)
    for part, segment in zip(parts, segments, strict=False):
        if part.startswith("{"):
            continue
        if part != segment:
            return None
        score += 1
    return score


# Answers.


def _error(request: Request, status: int, code: str, message: str) -> Answer:
    """An error answer in the shape the call's protocol uses."""
    rid = uuid.uuid4().hex
    headers = {"x-amzn-RequestId": rid, "x-strict-aws": code}
    if request.protocol in ("json", "rest-json"):
        headers["Content-Type"] = "application/x-amz-json-1.1"
        headers["x-amzn-ErrorType"] = code
        headers["x-amzn-query-error"] = f"{code};Sender"  # SQS: awsQueryCompatible
        body = json.dumps({"__type": code, "message": message}).encode()
        return Answer(status, headers, body)
    headers["Content-Type"] = "text/xml"
    text = _xml_escape(message)
    if request.protocol == "ec2":
        xml = (f"<Response><Errors><Error><Code>{code}</Code><Message>{text}</Message></Error>"
               f"</Errors><RequestID>{rid}</RequestID></Response>")  # fmt: skip
    elif request.protocol == "query":
        xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{text}"
               f"</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")  # fmt: skip
    else:
        xml = (f"<Error><Code>{code}</Code><Message>{text}</Message>"
               f"<RequestId>{rid}</RequestId></Error>")  # fmt: skip
    return Answer(status, headers, f'<?xml version="1.0" encoding="UTF-8"?>{xml}'.encode())


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _denied_code(request: Request) -> str:
    return "AccessDeniedException" if request.protocol in ("json", "rest-json") else "AccessDenied"


def _throttle_of(request: Request) -> tuple[int, str]:
    if request.prefix in THROTTLES:
        return THROTTLES[request.prefix]
    return QUERY_THROTTLE if request.protocol == "query" else DEFAULT_THROTTLE


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


# Slow deletes: the answer AWS gives at once, and what it says while the delete goes on.


@dataclass(frozen=True)
class SlowDelete:
    resource_id: Callable[[StrictAws, Request], str | None]  # None: not there
    accepted: Callable[[StrictAws, Request, str], Answer]
    again: Callable[[Request, str], Answer]  # a second delete while the first is under way


def _ok_xml(operation: str, inner: str) -> Answer:
    ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
    rid = f"<requestId>{uuid.uuid4().hex}</requestId>"
    xml = f"<{operation}Response {ns}>{rid}{inner}</{operation}Response>"
    return Answer(200, {"Content-Type": "text/xml"}, xml.encode())


def _ok_json(body: dict[str, Any]) -> Answer:
    return Answer(200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(body).encode())


def _nat_id(strict: StrictAws, request: Request) -> str | None:
    id = request.param("NatGatewayId")
    ec2 = strict.moto("ec2", request.region)
    try:
        gateways = ec2.describe_nat_gateways(NatGatewayIds=[id])["NatGateways"]
    except Exception:
        return None
    return id if any(g["State"] != "deleted" for g in gateways) else None


def _nat_accepted(strict: StrictAws, request: Request, id: str) -> Answer:
    return _nat_again(request, id)


def _nat_again(request: Request, id: str) -> Answer:
    return _ok_xml("DeleteNatGateway", f"<natGatewayId>{id}</natGatewayId>")


def _queue_id(strict: StrictAws, request: Request) -> str | None:
    url = request.param("QueueUrl")
    try:
        strict.moto("sqs", request.region).get_queue_attributes(QueueUrl=url)
    except Exception:
        return None
    return url.rstrip("/").rsplit("/", 1)[-1]


def _queue_accepted(strict: StrictAws, request: Request, id: str) -> Answer:
    return _ok_json({})


def _queue_again(request: Request, id: str) -> Answer:
    return _ok_json({})  # AWS accepts a delete of a queue being deleted


def _table_id(strict: StrictAws, request: Request) -> str | None:
    name = request.param("TableName")
    try:
        strict.moto("dynamodb", request.region).describe_table(TableName=name)
    except Exception:
        return None
    return name


def _table_accepted(strict: StrictAws, request: Request, id: str) -> Answer:
    table = strict.moto("dynamodb", request.region).describe_table(TableName=id)["Table"]
    table["TableStatus"] = "DELETING"
    return _ok_json({"TableDescription": json.loads(json.dumps(table, default=_epoch))})


def _epoch(value: Any) -> Any:
    return value.timestamp() if hasattr(value, "timestamp") else str(value)


def _table_in_use(request: Request, id: str) -> Answer:
    message = f"Attempt to change a resource which is still in use: Table is being deleted: {id}"
    return _error(request, 400, "ResourceInUseException", message)


SLOW_DELETES: dict[str, SlowDelete] = {
    "ec2:DeleteNatGateway": SlowDelete(_nat_id, _nat_accepted, _nat_again),
    "sqs:DeleteQueue": SlowDelete(_queue_id, _queue_accepted, _queue_again),
    "dynamodb:DeleteTable": SlowDelete(_table_id, _table_accepted, _table_in_use),
}


def _nat_states(strict: StrictAws, request: Request, answer: Answer) -> Answer:
    """DescribeNatGateways: `deleting` for a gateway whose slow delete is under way."""
    root = ET.fromstring(answer.body)
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    wanted = _filter_values(request.params, "state")
    for holder in root.iter(f"{ns}natGatewaySet"):
        for item in list(holder):
            id, state = item.find(f"{ns}natGatewayId"), item.find(f"{ns}state")
            if id is None or state is None or not strict.pending(id.text or ""):
                continue
            state.text = "deleting"
            if wanted and "deleting" not in wanted:
                holder.remove(item)
    ET.register_namespace("", ns.strip("{}"))
    return Answer(answer.status, answer.headers, ET.tostring(root, xml_declaration=True))


def _filter_values(params: dict[str, Any], name: str) -> set[str]:
    """The values of an EC2 filter (Filter.N.Name / Filter.N.Value.M) in a query call."""
    values: set[str] = set()
    for key, value in params.items():
        match = re.fullmatch(r"Filter\.(\d+)\.Name", key)
        if match and value[0] == name:
            prefix = f"Filter.{match[1]}.Value."
            values |= {v[0] for k, v in params.items() if k.startswith(prefix)}
    return values


def _table_state(strict: StrictAws, request: Request, answer: Answer) -> Answer:
    body = json.loads(answer.body)
    if strict.pending(body.get("Table", {}).get("TableName", "")):
        body["Table"]["TableStatus"] = "DELETING"
    return Answer(answer.status, answer.headers, json.dumps(body).encode())


STATE_REWRITES: dict[str, Callable[[StrictAws, Request, Answer], Answer]] = {
    "ec2:DescribeNatGateways": _nat_states,
    "dynamodb:DescribeTable": _table_state,
}


# Dependencies: what AWS refuses to delete while something still depends on it.

Check = Callable[[StrictAws, Request], Iterator[str]]  # yields what still depends on it
DEPENDENCIES: dict[str, tuple[str, str, Check]] = {}  # action -> (code, message, check)


def depends(action: str, code: str, message: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        DEPENDENCIES[action] = (code, message, check)
        return check

    return register


def _dependency_refusal(strict: StrictAws, request: Request) -> Answer | None:
    if request.action not in DEPENDENCIES:
        return None
    code, message, check = DEPENDENCIES[request.action]
    blockers = list(check(strict, request))
    if not blockers:
        return None
    status = 409 if code == "DeleteConflict" else 400
    return _error(request, status, code, message.format(id=_id_of(request), what=blockers[0]))


def _id_of(request: Request) -> str:
    for name in ("GroupId", "VpcId", "SubnetId", "InternetGatewayId", "AllocationId",
                 "VolumeId", "NetworkInterfaceId", "RouteTableId", "UserName", "RoleName",
                 "PolicyArn", "InstanceProfileName", "GroupName", "SerialNumber"):  # fmt: skip
        if name in request.params:
            return request.param(name)
    return ""


def _ec2(strict: StrictAws, request: Request) -> Any:
    return strict.moto("ec2", request.region)


def _where(name: str, *values: str) -> list[dict[str, Any]]:
    return [{"Name": name, "Values": list(values)}]


LIVE = ("pending", "running", "shutting-down", "stopping", "stopped")


def _instances(ec2: Any, filters: list[dict[str, Any]]) -> list[str]:
    filters = [*filters, *_where("instance-state-name", *LIVE)]
    reservations = ec2.describe_instances(Filters=filters)["Reservations"]
    return [i["InstanceId"] for r in reservations for i in r["Instances"]]


def _enis(strict: StrictAws, ec2: Any, filters: list[dict[str, Any]]) -> list[str]:
    """Network interfaces in use, leaving out what moto keeps and AWS does not."""
    interfaces = ec2.describe_network_interfaces(Filters=filters)["NetworkInterfaces"]
    holder = {i["NetworkInterfaceId"]: i.get("Attachment", {}).get("InstanceId")
              for i in interfaces}  # fmt: skip
    held = {id for id in holder.values() if id}
    live = set(_instances(ec2, _where("instance-id", *held))) if held else set()
    leftovers = _moto_leftovers(strict, ec2)
    return [
        eni
        for eni, instance in holder.items()
        if (instance is None or instance in live) and eni not in leftovers
    ]


def _moto_leftovers(strict: StrictAws, ec2: Any) -> set[str]:
    """The interfaces of deleted NAT gateways: moto keeps them (and their addresses stay
    associated with them), where AWS deletes them with the gateway."""
    gateways = ec2.describe_nat_gateways()["NatGateways"]
    return {
        address["NetworkInterfaceId"]
        for gateway in gateways
        if gateway["State"] == "deleted" and not strict.pending(gateway["NatGatewayId"])
        for address in gateway.get("NatGatewayAddresses", [])
        if "NetworkInterfaceId" in address
    }


def _live_nat_gateways(strict: StrictAws, ec2: Any, filters: list[dict[str, Any]]) -> list[str]:
    gateways = ec2.describe_nat_gateways(Filters=filters)["NatGateways"]
    return [
        g["NatGatewayId"]
        for g in gateways
        if g["State"] != "deleted" or strict.pending(g["NatGatewayId"])
    ]


@depends("ec2:DeleteSecurityGroup", "DependencyViolation", "resource {id} has a dependent object")
def _group_users(strict: StrictAws, request: Request) -> Iterator[str]:
    ec2 = _ec2(strict, request)
    id = request.param("GroupId")
    if not id:
        return
    yield from _instances(ec2, _where("instance.group-id", id))
    yield from _enis(strict, ec2, _where("group-id", id))
    for group in ec2.describe_security_groups()["SecurityGroups"]:
        rules = [*group.get("IpPermissions", []), *group.get("IpPermissionsEgress", [])]
        pairs = [pair for rule in rules for pair in rule.get("UserIdGroupPairs", [])]
        if group["GroupId"] != id and any(pair.get("GroupId") == id for pair in pairs):
            yield group["GroupId"]


@depends("ec2:DeleteSubnet", "DependencyViolation",
         "The subnet '{id}' has dependencies and cannot be deleted.")  # fmt: skip
def _subnet_users(strict: StrictAws, request: Request) -> Iterator[str]:
    ec2, id = _ec2(strict, request), request.param("SubnetId")
    yield from _live_nat_gateways(strict, ec2, _where("subnet-id", id))
    yield from _instances(ec2, _where("subnet-id", id))
    yield from _enis(strict, ec2, _where("subnet-id", id))


@depends("ec2:DeleteVpc", "DependencyViolation",
         "The vpc '{id}' has dependencies and cannot be deleted.")  # fmt: skip
def _vpc_contents(strict: StrictAws, request: Request) -> Iterator[str]:
    ec2, id = _ec2(strict, request), request.param("VpcId")
    in_vpc = _where("vpc-id", id)
    yield from (s["SubnetId"] for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"])
    attached = ec2.describe_internet_gateways(Filters=_where("attachment.vpc-id", id))
    yield from (g["InternetGatewayId"] for g in attached["InternetGateways"])
    groups = ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]
    yield from (g["GroupId"] for g in groups if g["GroupName"] != "default")
    tables = ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
    for table in tables:  # the main one goes with the VPC
        if not any(a.get("Main") for a in table.get("Associations", [])):
            yield table["RouteTableId"]
    acls = ec2.describe_network_acls(Filters=in_vpc)["NetworkAcls"]
    yield from (a["NetworkAclId"] for a in acls if not a.get("IsDefault"))
    yield from _enis(strict, ec2, in_vpc)
    yield from _live_nat_gateways(strict, ec2, in_vpc)
    endpoints = ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
    yield from (e["VpcEndpointId"] for e in endpoints if e.get("State") != "deleted")
    egress = ec2.describe_egress_only_internet_gateways()["EgressOnlyInternetGateways"]
    for gateway in egress:
        if any(a.get("VpcId") == id for a in gateway.get("Attachments", [])):
            yield gateway["EgressOnlyInternetGatewayId"]


@depends("ec2:DeleteInternetGateway", "DependencyViolation",
         "The internetGateway '{id}' has dependencies and cannot be deleted.")  # fmt: skip
def _gateway_attachments(strict: StrictAws, request: Request) -> Iterator[str]:
    id = request.param("InternetGatewayId")
    gateways = _ec2(strict, request).describe_internet_gateways(
        Filters=_where("internet-gateway-id", id)
    )["InternetGateways"]
    yield from (a["VpcId"] for g in gateways for a in g.get("Attachments", []))


@depends("ec2:DetachInternetGateway", "DependencyViolation",
         "Network {what} has some mapped public address(es). Please unmap those public "
         "address(es) before detaching the gateway.")  # fmt: skip
def _mapped_addresses(strict: StrictAws, request: Request) -> Iterator[str]:
    ec2, vpc = _ec2(strict, request), request.param("VpcId")
    if _live_nat_gateways(strict, ec2, _where("vpc-id", vpc)):
        yield vpc
        return
    leftovers = _moto_leftovers(strict, ec2)
    for address in ec2.describe_addresses()["Addresses"]:
        eni = address.get("NetworkInterfaceId")
        if address.get("AssociationId") and eni and eni not in leftovers:
            interfaces = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])
            if any(i.get("VpcId") == vpc for i in interfaces["NetworkInterfaces"]):
                yield vpc
                return


@depends("ec2:ReleaseAddress", "InvalidIPAddress.InUse", "Address {id} is in use.")
def _address_users(strict: StrictAws, request: Request) -> Iterator[str]:
    ec2, id = _ec2(strict, request), request.param("AllocationId")
    try:
        addresses = ec2.describe_addresses(AllocationIds=[id])["Addresses"]
    except Exception:
        return  # not found: moto answers that itself
    leftovers = _moto_leftovers(strict, ec2)
    for address in addresses:  # a live NAT gateway's address is associated with its interface
        if address.get("AssociationId") and address.get("NetworkInterfaceId") not in leftovers:
            yield address["AssociationId"]


@depends("ec2:DeleteVolume", "VolumeInUse", "Volume {id} is currently attached to {what}")
def _volume_attachments(strict: StrictAws, request: Request) -> Iterator[str]:
    id = request.param("VolumeId")
    try:
        volumes = _ec2(strict, request).describe_volumes(VolumeIds=[id])["Volumes"]
    except Exception:
        return
    yield from (a["InstanceId"] for v in volumes for a in v.get("Attachments", []))


# IAM: DeleteConflict until what hangs on the entity is gone. (Virtual MFA devices and
# service-specific credentials: moto does not implement listing them.)

USER_DEPENDENTS = (
    ("list_access_keys", "AccessKeyMetadata", "delete access keys"),
    ("list_user_policies", "PolicyNames", "delete policies"),
    ("list_attached_user_policies", "AttachedPolicies", "detach all policies"),
    ("list_groups_for_user", "Groups", "remove users from group"),
    ("list_mfa_devices", "MFADevices", "delete MFA device"),
    ("list_ssh_public_keys", "SSHPublicKeys", "delete SSH public keys"),
    ("list_signing_certificates", "Certificates", "delete signing certificates"),
)
ROLE_DEPENDENTS = (
    ("list_instance_profiles_for_role", "InstanceProfiles", "remove roles from instance profile"),
    ("list_role_policies", "PolicyNames", "delete policies"),
    ("list_attached_role_policies", "AttachedPolicies", "detach all policies"),
)


def _iam_dependents(
    strict: StrictAws, table: tuple[tuple[str, str, str], ...], **owner: str
) -> Iterator[str]:
    iam = strict.moto("iam")
    for operation, key, what in table:
        try:
            if getattr(iam, operation)(**owner).get(key):
                yield what
        except Exception:
            return  # not found: moto answers that itself


@depends("iam:DeleteUser", "DeleteConflict", "Cannot delete entity, must {what} first.")
def _user_dependents(strict: StrictAws, request: Request) -> Iterator[str]:
    name = request.param("UserName")
    yield from _iam_dependents(strict, USER_DEPENDENTS, UserName=name)
    try:
        strict.moto("iam").get_login_profile(UserName=name)
    except Exception:
        return
    yield "delete login profile"


@depends("iam:DeleteRole", "DeleteConflict", "Cannot delete entity, must {what} first.")
def _role_dependents(strict: StrictAws, request: Request) -> Iterator[str]:
    yield from _iam_dependents(strict, ROLE_DEPENDENTS, RoleName=request.param("RoleName"))


@depends("iam:DeleteInstanceProfile", "DeleteConflict",
         "Cannot delete entity, must remove roles from instance profile first.")  # fmt: skip
def _profile_roles(strict: StrictAws, request: Request) -> Iterator[str]:
    name = request.param("InstanceProfileName")
    try:
        profile = strict.moto("iam").get_instance_profile(InstanceProfileName=name)
    except Exception:
        return
    yield from (role["RoleName"] for role in profile["InstanceProfile"]["Roles"])


@depends("iam:DeletePolicy", "DeleteConflict", "Cannot delete a policy attached to entities "
         "or with non-default versions ({what}).")  # fmt: skip
def _policy_users(strict: StrictAws, request: Request) -> Iterator[str]:
    iam, arn = strict.moto("iam"), request.param("PolicyArn")
    try:
        entities = iam.list_entities_for_policy(PolicyArn=arn)
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    except Exception:
        return
    for key, field_name in (("PolicyUsers", "UserName"), ("PolicyRoles", "RoleName"),
                            ("PolicyGroups", "GroupName")):  # fmt: skip
        yield from (entity[field_name] for entity in entities.get(key, []))
    yield from (v["VersionId"] for v in versions if not v["IsDefaultVersion"])
