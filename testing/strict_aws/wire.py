"""How the strict-AWS proxy reads AWS calls and writes AWS's answers, in each AWS protocol
(query, ec2, json, rest-json, rest-xml)."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

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


@dataclass
class Answer:
    """An HTTP answer, from moto or made by the proxy."""

    status: int
    headers: dict[str, str]
    body: bytes


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


class Backend(Protocol):
    """What the emulations need of the proxy: moto itself, and the slow deletes under way."""

    def moto(self, service: str, region: str = REGION) -> Any: ...

    def pending(self, id: str) -> bool: ...


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


def error(request: Request, status: int, code: str, message: str) -> Answer:
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


def denied_code(request: Request) -> str:
    return "AccessDeniedException" if request.protocol in ("json", "rest-json") else "AccessDenied"


def throttle_of(request: Request) -> tuple[int, str]:
    if request.prefix in THROTTLES:
        return THROTTLES[request.prefix]
    return QUERY_THROTTLE if request.protocol == "query" else DEFAULT_THROTTLE


def ok_xml(operation: str, inner: str) -> Answer:
    ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
    rid = f"<requestId>{uuid.uuid4().hex}</requestId>"
    xml = f"<{operation}Response {ns}>{rid}{inner}</{operation}Response>"
    return Answer(200, {"Content-Type": "text/xml"}, xml.encode())


def ok_json(body: dict[str, Any]) -> Answer:
    return Answer(200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(body).encode())
