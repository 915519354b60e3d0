"""The user's configuration: `$LABRUN_HOME/config.toml` (or the file LABRUN_CONFIG names).

```toml
[aws]
allowed_account_ids = ["123456789012"]  # --target aws provisions and sweeps only these
reap = false                            # `labrun reap` also looks for orphans in that account

[policy]                                # what a plan may create (docs/costs.md)
allowed_regions = ["us-east-1"]         # default: any region
allowed_instance_types = ["t3.*", "t4g.*"]  # types or families; a lab's list adds to it
max_instance_size = "xlarge"            # larger sizes need the lab's allow = ["instance-size"]
```
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labrun.errors import ManifestError
from labrun.home import labrun_home

SIZE_RE = re.compile(r"nano|micro|small|medium|large|xlarge|\d+xlarge|metal")  # fullmatch
_KEYS = {"aws": {"allowed_account_ids", "reap"},
         "policy": {"allowed_regions", "allowed_instance_types", "max_instance_size"}}  # fmt: skip


@dataclass(frozen=True)
class Config:
    allowed_account_ids: tuple[str, ...] = ()
    reap_aws: bool = False
    path: Path | None = None
    allowed_regions: tuple[str, ...] = ()  # empty: any region
    allowed_instance_types: tuple[str, ...] = ()  # empty: any type (within the size limit)
    max_instance_size: str = "xlarge"


def config_path() -> Path:
    explicit = os.environ.get("LABRUN_CONFIG")
    return Path(explicit).expanduser() if explicit else labrun_home() / "config.toml"


def load() -> Config:
    path = config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Config(path=path)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(path, "", f"not valid TOML: {exc}") from None
    aws: dict[str, Any] = data.get("aws", {})
    policy: dict[str, Any] = data.get("policy", {})
    unknown = (
        sorted(set(data) - set(_KEYS))
        or sorted(set(aws) - _KEYS["aws"])
        or sorted(f"policy.{k}" for k in set(policy) - _KEYS["policy"])
    )
    if unknown:
        raise ManifestError(path, unknown[0], "unknown key")
    ids = aws.get("allowed_account_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) and i.isdigit() for i in ids):
        raise ManifestError(path, "aws.allowed_account_ids", "must be a list of account ids")
    reap = aws.get("reap", False)
    if not isinstance(reap, bool):
        raise ManifestError(path, "aws.reap", "must be true or false")
    size = policy.get("max_instance_size", "xlarge")
    if not isinstance(size, str) or not SIZE_RE.fullmatch(size):
        raise ManifestError(path, "policy.max_instance_size", "must be a size like xlarge, 4xlarge")
    return Config(
        allowed_account_ids=tuple(ids), reap_aws=reap, path=path,
        allowed_regions=_strings(path, policy, "allowed_regions"),
        allowed_instance_types=_strings(path, policy, "allowed_instance_types"),
        max_instance_size=size,
    )  # fmt: skip


def _strings(path: Path, section: dict[str, Any], key: str) -> tuple[str, ...]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ManifestError(path, f"policy.{key}", "must be a list of strings")
    return tuple(value)


def require_allowed_account(env: dict[str, str]) -> str:
    """The account the env's credentials reach, refused unless the config allows it (the
    guard aws-nuke has: never provision in or sweep an account nobody listed)."""
    from labrun.errors import LabrunError
    from labrun.sweep.aws import account_id

    config = load()
    try:
        account = account_id(env)
    except Exception as exc:
        raise LabrunError(f"cannot tell which AWS account these credentials reach: {exc}") from None
    if account not in config.allowed_account_ids:
        raise LabrunError(
            f"AWS account {account} is not in aws.allowed_account_ids of {config.path}: "
            "labrun refuses to provision in or sweep it"
        )
    return account
