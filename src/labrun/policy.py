"""The policy gate: what a plan may create, checked before anything is applied.

Each rule is a function registered under its name with `@rule("nat-gateway")`; it looks at
one planned resource and returns why it is refused, or None. The names are what a
violation reports and what a lab's `[policy] allow` lifts (for the rules in
manifest.REFUSABLE). The settings come from the user's config `[policy]` plus lab.toml.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labrun.manifest import REFUSABLE
from labrun.plan import PlannedResource

if TYPE_CHECKING:
    from labrun.config import Config
    from labrun.manifest import Manifest

LABRUN_TAGS = ("labrun:session", "labrun:lab", "labrun:owner", "labrun:expires-at")
# Accelerated families: GPUs (g, p), Inferentia, Trainium, Gaudi (dl), FPGAs (f), video (vt).
_ACCELERATED = re.compile(r"^(g\d|p\d|inf\d|trn\d|dl\d|f\d|vt\d)")
_SIZES = ("nano", "micro", "small", "medium", "large", "xlarge")
# Where each type names its instance types (a list of blocks is searched for the field).
INSTANCE_TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "aws_instance": ("instance_type",),
    "aws_spot_instance_request": ("instance_type",),
    "aws_launch_template": ("instance_type",),
    "aws_eks_node_group": ("instance_types",),
    "aws_db_instance": ("instance_class",),
    "aws_rds_cluster_instance": ("instance_class",),
    "aws_sagemaker_notebook_instance": ("instance_type",),
    "aws_sagemaker_endpoint_configuration": ("production_variants", "instance_type"),
    "aws_elasticache_cluster": ("node_type",),
}


# What a resource's price and the instance rules read: its instance type, size or count. One
# of them unknown at plan time (computed by the apply) means the gate cannot check it.
GATED_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "aws_instance": (("instance_type",),),
    "aws_spot_instance_request": (("instance_type",),),
    "aws_launch_template": (("instance_type",),),
    "aws_eks_node_group": (("instance_types",), ("scaling_config", "desired_size")),
    "aws_db_instance": (("instance_class",), ("allocated_storage",)),
    "aws_rds_cluster_instance": (("instance_class",),),
    "aws_sagemaker_notebook_instance": (("instance_type",), ("volume_size",)),
    "aws_sagemaker_endpoint_configuration": (
        ("production_variants", "instance_type"),
        ("production_variants", "initial_instance_count"),
    ),
    "aws_elasticache_cluster": (("node_type",), ("num_cache_nodes",)),
    "aws_ebs_volume": (("size",),),
    "aws_autoscaling_group": (("desired_capacity",), ("max_size",)),
}


@dataclass(frozen=True)
class Policy:
    """The settings the rules read."""

    allowed_regions: frozenset[str] = frozenset()  # empty: any region
    allowed_instance_types: tuple[str, ...] = ()  # patterns; empty: any type
    max_instance_size: str = "xlarge"
    allow: frozenset[str] = frozenset()  # refusable rules lifted by the lab


@dataclass(frozen=True)
class Violation:
    """A planned resource the policy refuses, and the rule that refuses it."""

    address: str
    rule: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"address": self.address, "rule": self.rule, "message": self.message}


def policy_for(config: Config, manifest: Manifest | None = None) -> Policy:
    """The user's config `[policy]`, plus what the lab's lab.toml `[policy]` adds."""
    from labrun.manifest import LabPolicy

    lab = manifest.policy if manifest is not None else LabPolicy()
    return Policy(
        allowed_regions=frozenset(config.allowed_regions + lab.regions),
        allowed_instance_types=config.allowed_instance_types + lab.instance_types,
        max_instance_size=config.max_instance_size,
        allow=frozenset(lab.allow),
    )


PolicyRule = Callable[[PlannedResource, Policy], str | None]
RULES: dict[str, PolicyRule] = {}


def rule(name: str) -> Callable[[PolicyRule], PolicyRule]:
    """Register a policy rule under `name` (a decorator)."""

    def register(function: PolicyRule) -> PolicyRule:
        RULES[name] = function
        return function

    return register


def check(resources: Iterable[PlannedResource], policy: Policy) -> list[Violation]:
    """Every violation of every resource, in plan order."""
    found: list[Violation] = []
    for resource in resources:
        for name, function in RULES.items():
            if name in policy.allow and name in REFUSABLE:
                continue
            message = function(resource, policy)
            if message is not None:
                found.append(Violation(resource.address, name, message))
    return found


def instance_types(resource: PlannedResource) -> list[str]:
    """The instance types a resource runs, as family.size (without "db.", "ml.", "cache.")."""
    path = INSTANCE_TYPE_FIELDS.get(resource.type)
    if path is None:
        return []
    return [_bare(t) for t in _strings_at(resource.values, path)]


def _strings_at(value: Any, path: tuple[str, ...]) -> list[str]:
    if isinstance(value, list):
        return [s for item in value for s in _strings_at(item, path)]
    if not path:
        return [value] if isinstance(value, str) else []
    return _strings_at(value.get(path[0]), path[1:]) if isinstance(value, dict) else []


def _bare(instance_type: str) -> str:
    prefix, _, rest = instance_type.partition(".")
    return rest if prefix in ("db", "ml", "cache") and rest else instance_type


def size_rank(size: str) -> float:
    """Order of instance sizes: nano < ... < xlarge < 2xlarge < ... < metal (inf if unknown)."""
    if size in _SIZES:
        return _SIZES.index(size)
    if size.endswith("xlarge") and size[:-6].isdigit():
        return len(_SIZES) + int(size[:-6])
    return float("inf")  # metal, or a size labrun cannot place: above any limit


def _matches(instance_type: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(instance_type, p if "." in p else f"{p}.*") for p in patterns)


@rule("allowed-region")
def _allowed_region(resource: PlannedResource, policy: Policy) -> str | None:
    if not resource.is_aws or not policy.allowed_regions:
        return None
    if resource.region in policy.allowed_regions:
        return None
    allowed = ", ".join(sorted(policy.allowed_regions))
    return f"region {resource.region or 'unknown'} is not allowed (allowed: {allowed})"


@rule("allowed-instance-type")
def _allowed_instance_type(resource: PlannedResource, policy: Policy) -> str | None:
    if not policy.allowed_instance_types:
        return None
    allowed = policy.allowed_instance_types
    refused = [t for t in instance_types(resource) if not _matches(t, allowed)]
    if not refused:
        return None
    return f"instance type {refused[0]} is not allowed (allowed: {', '.join(allowed)})"


@rule("gpu-instance")
def _gpu_instance(resource: PlannedResource, policy: Policy) -> str | None:
    gpu = [t for t in instance_types(resource) if _ACCELERATED.match(t)]
    if not gpu:
        return None
    return f'{gpu[0]} is a GPU/accelerator instance (lab.toml [policy] allow = ["gpu-instance"])'


@rule("instance-size")
def _instance_size(resource: PlannedResource, policy: Policy) -> str | None:
    limit = size_rank(policy.max_instance_size)
    large = [t for t in instance_types(resource) if size_rank(t.partition(".")[2]) > limit]
    if not large:
        return None
    return f"{large[0]} is larger than {policy.max_instance_size} (config policy.max_instance_size)"


@rule("unknown-at-plan")
def _unknown_at_plan(resource: PlannedResource, policy: Policy) -> str | None:
    """An instance type, size or count computed by the apply passes no rule unchecked."""
    for path in GATED_FIELDS.get(resource.type, ()):
        if _unknown_at(resource.unknown, path):
            name = ".".join(path)
            return (
                f"{name} is unknown until apply: labrun cannot check or price it (set it to a "
                'known value, or lab.toml [policy] allow = ["unknown-at-plan"])'
            )
    return None


def _unknown_at(unknown: Any, path: tuple[str, ...]) -> bool:
    """Whether `after_unknown` marks the attribute at `path` (or a block holding it)."""
    if unknown is True:
        return True
    if isinstance(unknown, list):
        return any(_unknown_at(item, path) for item in unknown)
    if not path or not isinstance(unknown, dict):
        return False
    return _unknown_at(unknown.get(path[0]), path[1:])


@rule("nat-gateway")
def _nat_gateway(resource: PlannedResource, policy: Policy) -> str | None:
    if resource.type != "aws_nat_gateway":
        return None
    return 'NAT gateways bill by the hour and per GB (lab.toml [policy] allow = ["nat-gateway"])'


@rule("eks-cluster")
def _eks_cluster(resource: PlannedResource, policy: Policy) -> str | None:
    if resource.type != "aws_eks_cluster":
        return None
    return 'EKS clusters bill by the hour (lab.toml [policy] allow = ["eks-cluster"])'


@rule("labrun-tags")
def _labrun_tags(resource: PlannedResource, policy: Policy) -> str | None:
    """Every taggable AWS resource carries the labrun tags (from `tags` or `tags_all`, so
    the provider's default_tags count): what is not marked, teardown cannot prove gone."""
    values, unknown = resource.values, resource.unknown
    taggable = any(k in values or k in unknown for k in ("tags", "tags_all"))
    if not resource.is_aws or not taggable:
        return None
    tags: dict[str, Any] = {**(values.get("tags") or {}), **(values.get("tags_all") or {})}
    missing = [k for k in LABRUN_TAGS if k not in tags]
    if not missing:
        return None
    if unknown.get("tags_all") is True or unknown.get("tags") is True:
        return "its tags are only known after apply: labrun cannot see the labrun tags on it"
    return f"missing the labrun tags {', '.join(missing)} (tag it with var.labrun_tags)"
