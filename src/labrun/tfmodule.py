"""Preparing a session's copy of a lab's Terraform module.

labrun fills in the `labrun_*` variables the module declares (through
`labrun.auto.tfvars.json`) and, on the local target, points the hashicorp/aws provider at
the embedded cloud with an override file, so lab authors never write endpoint settings.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labrun.errors import LabrunError

TFVARS_FILE = "labrun.auto.tfvars.json"
AWS_OVERRIDE_FILE = "labrun_aws_override.tf"
AWS_PROVIDER_FILE = "labrun_aws_provider.tf"
LABRUN_VARIABLES = (
    "labrun_session", "labrun_lab", "labrun_expires_at", "labrun_workspace",
    "labrun_tags", "labrun_labels",
)  # fmt: skip
# Services whose endpoint the aws provider gets on the local target (all served by moto).
AWS_SERVICES = (
    "acm", "apigateway", "cloudwatch", "dynamodb", "ec2", "ecr", "ecs", "eks", "elb", "elbv2",
    "events", "iam", "kinesis", "kms", "lambda", "logs", "rds", "route53", "s3", "sagemaker",
    "secretsmanager", "sns", "sqs", "ssm", "sts",
)  # fmt: skip
_AWS_PROVIDER_BLOCK = re.compile(r'^\s*provider\s+"aws"\s*\{', re.MULTILINE)
_VARIABLE_BLOCK = re.compile(r'^\s*variable\s+"([A-Za-z0-9_-]+)"', re.MULTILINE)
_AWS_USE = re.compile(
    r'^\s*(?:(?:resource|data)\s+"aws_|provider\s+"aws")|"hashicorp/aws"', re.MULTILINE
)


@dataclass(frozen=True)
class ModuleInfo:
    """What labrun needs to know about a root module before it runs it."""

    variables: frozenset[str]
    providers: frozenset[str]  # local names from required_providers and resource types
    has_aws_provider_block: bool

    @property
    def uses_aws(self) -> bool:
        return "aws" in self.providers

    def to_json(self) -> dict[str, Any]:
        return {
            "variables": sorted(self.variables),
            "providers": sorted(self.providers),
            "has_aws_provider_block": self.has_aws_provider_block,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModuleInfo:
        return cls(
            variables=frozenset(data["variables"]),
            providers=frozenset(data["providers"]),
            has_aws_provider_block=bool(data["has_aws_provider_block"]),
        )


def cached_module_info(module_dir: Path, cache: Path) -> ModuleInfo:
    """inspect_module, remembered in `cache`: loading Terraform's config reader is not free,
    and a session's module does not change after its start."""
    try:
        return ModuleInfo.from_json(json.loads(cache.read_text()))
    except (FileNotFoundError, ValueError, KeyError):
        pass
    info = inspect_module(module_dir)
    cache.write_text(json.dumps(info.to_json()))
    return info


def inspect_module(path: Path) -> ModuleInfo:
    """What a module declares, read from its files without loading Terraform.

    Loading the embedded Terraform costs more than a small lab's whole apply, so this is a
    light scan: `variable "labrun_..."` blocks, and whether the aws provider is used. A
    mistaken match is harmless (a value for an undeclared variable is only a warning), and
    Terraform itself reports syntax errors, with file and line, at init.
    """
    if not path.is_dir():
        raise LabrunError(f"{path}: no such Terraform module folder")
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(path.glob("*.tf"))]
    variables = {m[1] for text in texts for m in _VARIABLE_BLOCK.finditer(text)}
    uses_aws = any(_AWS_USE.search(text) for text in texts)
    for json_file in sorted(path.glob("*.tf.json")):
        try:
            data = json.loads(json_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise LabrunError(f"{json_file}: not valid JSON: {exc}") from None
        variables.update(data.get("variable") or {})
        uses_aws = uses_aws or _json_uses_aws(data)
    return ModuleInfo(
        variables=frozenset(variables),
        providers=frozenset({"aws"} if uses_aws else ()),
        has_aws_provider_block=any(_AWS_PROVIDER_BLOCK.search(text) for text in texts),
    )


def _json_uses_aws(data: dict[str, Any]) -> bool:
    blocks = [*(data.get("resource") or {}), *(data.get("data") or {})]
    return "aws" in (data.get("provider") or {}) or any(b.startswith("aws_") for b in blocks)


def copy_module(source: Path, destination: Path) -> None:
    """The session's own copy of the module (its state lives beside it)."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))


def write_variables(module_dir: Path, info: ModuleInfo, values: dict[str, Any]) -> list[str]:
    """Write the labrun variables that the module declares; return their names."""
    declared = {k: v for k, v in values.items() if k in info.variables}
    (module_dir / TFVARS_FILE).write_text(json.dumps(declared, indent=2) + "\n")
    return sorted(declared)


def write_local_aws_provider(
    module_dir: Path, info: ModuleInfo, endpoint: str, region: str, tags: dict[str, str]
) -> Path | None:
    """Point the aws provider at the embedded cloud, with the session's tags as default_tags."""
    if not info.uses_aws:
        return None
    endpoints = "\n".join(f"    {name} = {json.dumps(endpoint)}" for name in AWS_SERVICES)
    tag_lines = "\n".join(f"      {json.dumps(k)} = {json.dumps(v)}" for k, v in tags.items())
    block = f"""# Written by labrun for the local target; rewritten at every start.
provider "aws" {{
  region                      = {json.dumps(region)}
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true
  endpoints {{
{endpoints}
  }}
  default_tags {{
    tags = {{
{tag_lines}
    }}
  }}
}}
"""
    # An override file may only refine a block that exists; otherwise the block is new.
    name = AWS_OVERRIDE_FILE if info.has_aws_provider_block else AWS_PROVIDER_FILE
    path = module_dir / name
    path.write_text(block)
    return path
