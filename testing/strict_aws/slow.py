"""Slow deletes: the answer AWS gives at once, and what it says while the delete goes on
(a NAT gateway `deleting`, an instance `shutting-down`, a DynamoDB table `DELETING`, an SQS
queue still listed)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from testing.strict_aws.wire import Answer, Backend, Request, error, ok_json, ok_xml


@dataclass(frozen=True)
class SlowDelete:
    resource_id: Callable[[Backend, Request], str | None]  # None: not there
    accepted: Callable[[Backend, Request, str], Answer]
    again: Callable[[Request, str], Answer]  # a second delete while the first is under way


def _nat_id(strict: Backend, request: Request) -> str | None:
    id = request.param("NatGatewayId")
    ec2 = strict.moto("ec2", request.region)
    try:
        gateways = ec2.describe_nat_gateways(NatGatewayIds=[id])["NatGateways"]
    except Exception:
        return None
    return id if any(g["State"] != "deleted" for g in gateways) else None


def _nat_accepted(strict: Backend, request: Request, id: str) -> Answer:
    return _nat_again(request, id)


def _nat_again(request: Request, id: str) -> Answer:
    return ok_xml("DeleteNatGateway", f"<natGatewayId>{id}</natGatewayId>")


def _queue_id(strict: Backend, request: Request) -> str | None:
    url = request.param("QueueUrl")
    try:
        strict.moto("sqs", request.region).get_queue_attributes(QueueUrl=url)
    except Exception:
        return None
    return url.rstrip("/").rsplit("/", 1)[-1]


def _queue_accepted(strict: Backend, request: Request, id: str) -> Answer:
    return ok_json({})


def _queue_again(request: Request, id: str) -> Answer:
    return ok_json({})  # AWS accepts a delete of a queue being deleted


def _table_id(strict: Backend, request: Request) -> str | None:
    name = request.param("TableName")
    try:
        strict.moto("dynamodb", request.region).describe_table(TableName=name)
    except Exception:
        return None
    return name


def _table_accepted(strict: Backend, request: Request, id: str) -> Answer:
    table = strict.moto("dynamodb", request.region).describe_table(TableName=id)["Table"]
    table["TableStatus"] = "DELETING"
    return ok_json({"TableDescription": json.loads(json.dumps(table, default=_epoch))})


def _epoch(value: Any) -> Any:
    return value.timestamp() if hasattr(value, "timestamp") else str(value)


def _table_in_use(request: Request, id: str) -> Answer:
    message = f"Attempt to change a resource which is still in use: Table is being deleted: {id}"
    return error(request, 400, "ResourceInUseException", message)


def _instance_id(strict: Backend, request: Request) -> str | None:
    """The one instance of a TerminateInstances call (the sweep ends them one by one)."""
    id = request.param("InstanceId.1")
    if not id or "InstanceId.2" in request.params:
        return None  # several at once: moto answers, at once
    try:
        answer = strict.moto("ec2", request.region).describe_instances(InstanceIds=[id])
    except Exception:
        return None
    states = [i["State"]["Name"] for r in answer["Reservations"] for i in r["Instances"]]
    return id if any(s not in ("shutting-down", "terminated") for s in states) else None


def _instance_accepted(strict: Backend, request: Request, id: str) -> Answer:
    return _instance_again(request, id)


def _instance_again(request: Request, id: str) -> Answer:
    shutting_down = "<currentState><code>32</code><name>shutting-down</name></currentState>"
    item = f"<item><instanceId>{id}</instanceId>{shutting_down}</item>"
    return ok_xml("TerminateInstances", f"<instancesSet>{item}</instancesSet>")


SLOW_DELETES: dict[str, SlowDelete] = {
    "ec2:DeleteNatGateway": SlowDelete(_nat_id, _nat_accepted, _nat_again),
    "ec2:TerminateInstances": SlowDelete(_instance_id, _instance_accepted, _instance_again),
    "sqs:DeleteQueue": SlowDelete(_queue_id, _queue_accepted, _queue_again),
    "dynamodb:DeleteTable": SlowDelete(_table_id, _table_accepted, _table_in_use),
}


def _nat_states(strict: Backend, request: Request, answer: Answer) -> Answer:
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


def _instance_states(strict: Backend, request: Request, answer: Answer) -> Answer:
    """DescribeInstances: `shutting-down` for an instance whose slow termination is under
    way (left out when the call's state filter does not ask for it)."""
    root = ET.fromstring(answer.body)
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    wanted = _filter_values(request.params, "instance-state-name")
    for holder in root.iter(f"{ns}instancesSet"):
        for item in list(holder):
            id, state = item.find(f"{ns}instanceId"), item.find(f"{ns}instanceState")
            if id is None or state is None or not strict.pending(id.text or ""):
                continue
            for field, value in (("code", "32"), ("name", "shutting-down")):
                element = state.find(f"{ns}{field}")
                if element is not None:
                    element.text = value
            if wanted and "shutting-down" not in wanted:
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


def _table_state(strict: Backend, request: Request, answer: Answer) -> Answer:
    body = json.loads(answer.body)
    if strict.pending(body.get("Table", {}).get("TableName", "")):
        body["Table"]["TableStatus"] = "DELETING"
    return Answer(answer.status, answer.headers, json.dumps(body).encode())


STATE_REWRITES: dict[str, Callable[[Backend, Request, Answer], Answer]] = {
    "ec2:DescribeNatGateways": _nat_states,
    "ec2:DescribeInstances": _instance_states,
    "dynamodb:DescribeTable": _table_state,
}
