"""A Terraform plan: made with `terraform plan` + `show -json`, read into what it would create.

`read_plan` turns a `terraform show -json` document (format 1.x) into `PlannedResource`s:
the managed resources that exist after the apply, each with its planned values and the
AWS region it lands in (the resource's own `region`, else its provider configuration's,
else the default given). `plan_lab` makes such a document for a lab, in a temporary copy
of its module with the labrun variables set as a real start would set them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labrun.errors import BadInput, LabrunError

if TYPE_CHECKING:
    from labrun.catalog import Lab
    from labrun.tfengine import ProgressCallback, Terraform

PLAN_FILE = "labrun.tfplan"
_INDEX = re.compile(r"\[[^\]]*\]")


@dataclass(frozen=True)
class PlannedResource:
    """One managed resource instance the plan leaves in place (created, kept or updated)."""

    address: str
    type: str
    values: dict[str, Any] = field(default_factory=dict)  # `after`: known planned values
    unknown: dict[str, Any] = field(default_factory=dict)  # `after_unknown`
    region: str | None = None

    @property
    def is_aws(self) -> bool:
        return self.type.startswith("aws_")

    def known(self, name: str) -> bool:
        """Whether the attribute's value is known at plan time (not computed by the apply)."""
        return self.unknown.get(name) is not True


def read_plan(document: dict[str, Any], default_region: str | None = None) -> list[PlannedResource]:
    """The managed resources a `terraform show -json` document (a plan, or a state) describes."""
    _check_format(document)
    regions = _provider_regions(document)
    keys = _provider_keys(document.get("configuration") or {})
    changes = document.get("resource_changes")
    if changes is None:  # `show -json` of a state: its values are what exists
        return [_from_state(r, regions, keys, default_region) for r in _state_resources(document)]
    found: list[PlannedResource] = []
    for change in changes:
        body = change.get("change") or {}
        actions = body.get("actions") or []
        if change.get("mode") != "managed" or actions in (["delete"], ["forget"]):
            continue
        address = str(change.get("address", ""))
        values = body.get("after") or {}
        region = _region(values, regions.get(keys.get(_INDEX.sub("", address), "")), default_region)
        unknown = body.get("after_unknown") or {}
        found.append(PlannedResource(address, str(change.get("type", "")), values, unknown, region))
    return found


def load_plan_file(path: Path) -> dict[str, Any]:
    """A `terraform show -json` document from a file, or one line saying why it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read it: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not JSON ({exc}): give `terraform show -json`'s output") from None
    if not isinstance(document, dict):
        raise BadInput(f"{path}: not a `terraform show -json` document")
    try:
        _check_format(document)
    except LabrunError as exc:
        raise BadInput(f"{path}: {exc}") from None
    return document


def _check_format(document: dict[str, Any]) -> None:
    version = str(document.get("format_version", ""))
    if not version:
        raise LabrunError("no format_version: not a `terraform show -json` document")
    if version.split(".")[0] != "1":
        raise LabrunError(f"format_version {version}: labrun reads format 1.x only")


def _region(values: dict[str, Any], provider_region: str | None, default: str | None) -> str | None:
    own = values.get("region")  # aws provider 6: a resource may name its own region
    return own if isinstance(own, str) and own else provider_region or default


def _provider_regions(document: dict[str, Any]) -> dict[str, str]:
    """Region of each provider configuration (key "aws", "aws.west", "module.m:aws")."""
    variables = document.get("variables") or {}
    providers = (document.get("configuration") or {}).get("provider_config") or {}
    regions: dict[str, str] = {}
    for key, config in providers.items():
        expression = (config.get("expressions") or {}).get("region") or {}
        value = expression.get("constant_value")
        refs = [r for r in expression.get("references") or [] if r.startswith("var.")]
        if value is None and refs:
            value = (variables.get(refs[0].removeprefix("var.")) or {}).get("value")
        if isinstance(value, str):
            regions[key] = value
    return regions


def _provider_keys(configuration: dict[str, Any]) -> dict[str, str]:
    """The provider configuration key of each resource, by address without instance keys."""
    keys: dict[str, str] = {}
    pending: list[tuple[str, dict[str, Any]]] = [("", configuration.get("root_module") or {})]
    while pending:
        prefix, module = pending.pop()
        for resource in module.get("resources") or []:
            keys[prefix + str(resource.get("address"))] = str(resource.get("provider_config_key"))
        for name, call in (module.get("module_calls") or {}).items():
            pending.append((f"{prefix}module.{name}.", call.get("module") or {}))
    return keys


def _state_resources(document: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    pending = [(document.get("values") or {}).get("root_module") or {}]
    while pending:
        module = pending.pop()
        found.extend(r for r in module.get("resources") or [] if r.get("mode") == "managed")
        pending.extend(module.get("child_modules") or [])
    return found


def _from_state(
    resource: dict[str, Any], regions: dict[str, str], keys: dict[str, str], default: str | None
) -> PlannedResource:
    address = str(resource.get("address", ""))
    values = resource.get("values") or {}
    region = _region(values, regions.get(keys.get(_INDEX.sub("", address), "")), default)
    return PlannedResource(address, str(resource.get("type", "")), values, {}, region)


def make_plan(terraform: Terraform, progress: ProgressCallback | None = None) -> dict[str, Any]:
    """init + plan -out in the module folder, then `show -json` of that plan."""
    result = terraform.init_and_plan(PLAN_FILE, progress)
    if not result.ok:
        first = result.errors[0] if result.errors else "unknown error"
        raise LabrunError(f"terraform {result.operation} failed: {first}")  # init or plan
    document = terraform.show_json(PLAN_FILE)
    if document is None:
        raise LabrunError(f"terraform show -json failed (see {terraform.log_path})")
    return document


def plan_lab(
    lab: Lab, target: str, ttl: timedelta, progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """Plan `lab` as a start on `target` would apply it, in a temporary copy; nothing is
    created and no session is recorded."""
    import tempfile

    from labrun import environment, identity, localcloud, tfmodule
    from labrun.catalog import check_target
    from labrun.home import logs_dir, owner
    from labrun.session import Session, new_session_id, utcnow
    from labrun.sessionmodule import configure_module
    from labrun.tfengine import Terraform

    check_target(lab, target)
    now = utcnow()
    with tempfile.TemporaryDirectory(prefix="labrun-plan-") as tmp:
        draft = Session(
            id=new_session_id(), lab=lab.id, lab_dir=lab.path, target=target, status="provisioning",
            created_at=now, expires_at=now + ttl, owner=owner(), workdir=Path(tmp),
            identity=identity.capture(target, lab.manifest.requires, None, localcloud.REGION),
        )  # fmt: skip
        tfmodule.copy_module(lab.terraform_dir, draft.terraform_dir)
        endpoint = _plan_endpoint(lab, target)
        configure_module(draft, tfmodule.inspect_module(lab.terraform_dir), endpoint)
        env = environment.session_env(draft, endpoint)
        return make_plan(Terraform(draft.terraform_dir, env, logs_dir() / "plan.log"), progress)


# Where the aws provider points for a plan on the local target when the local cloud is not
# running: a plan of new resources makes no call (labrun's provider settings skip the
# account checks), and a plan must not start the cloud only to leave it running.
_NO_CLOUD = "http://127.0.0.1:9"


def _plan_endpoint(lab: Lab, target: str) -> str | None:
    from labrun import environment, localcloud

    if not environment.needs_local_cloud(lab.manifest, target):
        return None
    status = localcloud.status()
    return status.endpoint if status.running and status.endpoint else _NO_CLOUD
