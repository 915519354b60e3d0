"""What a session runs against, recorded at its start: its cloud identity (no secret).

Stop, reap, check and env use this record, not the shell they happen to run in: a session
started in eu-west-1 is torn down in eu-west-1 from a shell set to us-east-1, and the
scheduled reaper, which runs with no AWS_* or DOCKER_HOST at all, finds every session's
account, regions, endpoint, profile and Docker engine here. Credentials are never recorded:
they come from the environment of the command that runs (a named profile's files, or SSO's
cache, also serve the scheduled reaper).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from labrun import awsenv

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"  # the Docker SDK's and CLI's default
LOCAL = "local"  # the embedded cloud
AWS = "aws"  # the user's AWS (or the emulator AWS_ENDPOINT_URL names)


@dataclass(frozen=True)
class CloudIdentity:
    """Where a session's resources are. `cloud` is "local", "aws" or "" (no cloud)."""

    cloud: str = ""
    account: str | None = None
    regions: tuple[str, ...] = ()  # the first is where resources without a region land
    endpoint: str | None = None  # AWS_ENDPOINT_URL (an emulator standing in for AWS)
    profile: str | None = None
    config_file: str | None = None  # AWS_CONFIG_FILE, when set
    credentials_file: str | None = None  # AWS_SHARED_CREDENTIALS_FILE, when set
    docker_host: str | None = None  # the engine, when the session may use one

    @property
    def region(self) -> str | None:
        return self.regions[0] if self.regions else None

    def with_regions(self, more: Iterable[str | None]) -> CloudIdentity:
        """This identity, with the regions a plan names added (in order, once each)."""
        regions = list(self.regions)
        regions += [r for r in dict.fromkeys(more) if r and r not in regions]
        return replace(self, regions=tuple(regions))

    def aws_env(self, region: str | None = None) -> dict[str, str]:
        """The AWS settings (no credential) that reach this identity's account in `region`
        (default: its first region). Empty unless the cloud is "aws"."""
        if self.cloud != AWS:
            return {}
        chosen = region or self.region
        settings = {
            "AWS_PROFILE": self.profile, "AWS_REGION": chosen, "AWS_DEFAULT_REGION": chosen,
            "AWS_ENDPOINT_URL": self.endpoint, "AWS_CONFIG_FILE": self.config_file,
            "AWS_SHARED_CREDENTIALS_FILE": self.credentials_file,
        }  # fmt: skip
        return {key: value for key, value in settings.items() if value}

    def to_json(self) -> dict[str, Any]:
        return {
            "cloud": self.cloud, "account": self.account, "regions": list(self.regions),
            "endpoint": self.endpoint, "profile": self.profile,
            "config_file": self.config_file, "credentials_file": self.credentials_file,
            "docker_host": self.docker_host,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CloudIdentity:
        return cls(
            cloud=str(data.get("cloud") or ""), account=data.get("account"),
            regions=tuple(data.get("regions") or ()), endpoint=data.get("endpoint"),
            profile=data.get("profile"), config_file=data.get("config_file"),
            credentials_file=data.get("credentials_file"), docker_host=data.get("docker_host"),
        )  # fmt: skip


def capture(
    target: str, requires: Iterable[str], account: str | None, local_region: str
) -> CloudIdentity:
    """The identity a session started now, from this shell, would have (no secret read)."""
    needs = set(requires)
    docker = (os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST) if "docker" in needs else None
    if target == AWS:
        env = awsenv.passthrough()
        region = awsenv.resolve_region(env)
        return CloudIdentity(
            cloud=AWS, account=account, regions=(region,) if region else (),
            endpoint=env.get("AWS_ENDPOINT_URL"), profile=awsenv.profile_name(env),
            config_file=_absolute(env.get("AWS_CONFIG_FILE")),
            credentials_file=_absolute(env.get("AWS_SHARED_CREDENTIALS_FILE")),
            docker_host=docker,
        )  # fmt: skip
    if "aws" in needs:
        return CloudIdentity(cloud=LOCAL, regions=(local_region,), docker_host=docker)
    return CloudIdentity(docker_host=docker)


def _absolute(path: str | None) -> str | None:
    # The reaper runs from another folder (cron's): a relative path would name another file.
    return os.path.abspath(os.path.expanduser(path)) if path else None
