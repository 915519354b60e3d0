"""The environment a session's tools see: Terraform, the checker and the learner's shell."""

from __future__ import annotations

import json
import os
import re

from labrun.manifest import Manifest
from labrun.session import Session

AWS_PASSTHROUGH = (
    "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
)  # fmt: skip


def needs_local_cloud(manifest: Manifest, target: str) -> bool:
    """The embedded cloud runs only for local sessions of labs that use AWS."""
    return target == "local" and "aws" in manifest.requires


def session_env(session: Session, cloud_endpoint: str | None) -> dict[str, str]:
    """`export`-able variables that put a process in the session's cloud."""
    from labrun import localcloud

    env: dict[str, str] = {}
    if cloud_endpoint:
        env.update(localcloud.aws_env(cloud_endpoint))
    elif session.target == "aws":
        # Your own AWS settings, as the AWS CLI would use them (an emulator's endpoint too).
        for key in AWS_PASSTHROUGH:
            if os.environ.get(key):
                env[key] = os.environ[key]
    if os.environ.get("DOCKER_HOST"):
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    env["LABRUN_SESSION"] = session.id
    return env


def cloud_endpoint_for(manifest: Manifest, session: Session) -> str | None:
    """Start (or reuse) the embedded cloud when the session needs it; its endpoint."""
    if not needs_local_cloud(manifest, session.target):
        return None
    from labrun import localcloud

    return localcloud.ensure_running().endpoint


def learner_env(session: Session, manifest: Manifest) -> dict[str, str]:
    """What `labrun env` exports and `labrun shell` runs in: the session's cloud, each
    Terraform output as LAB_<NAME>, and LABRUN_TAGS (the marks to put on what you create)."""
    endpoint = cloud_endpoint_for(manifest, session) if session.is_live else None
    env = session_env(session, endpoint)
    for name, value in session.outputs.items():
        env[output_variable(name)] = value if isinstance(value, str) else json.dumps(value)
    env["LABRUN_TAGS"] = json.dumps(session.tags(), separators=(",", ":"))
    return env


def output_variable(name: str) -> str:
    """A Terraform output's variable: "log_group" -> LAB_LOG_GROUP, "logGroup" -> LAB_LOG_GROUP."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return "LAB_" + re.sub(r"[^A-Za-z0-9]+", "_", snake).strip("_").upper()
