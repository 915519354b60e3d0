"""The environment a session's tools see: Terraform, the checker and the learner's shell.

It is built from the session's recorded cloud identity (identity.py), not from the shell
the command runs in, and it holds no credential of the user's: the tools take those from
the environment they run in (the local cloud's fixed, public keys aside).
"""

from __future__ import annotations

import json
import re

from labrun import identity, localcloud
from labrun.identity import CloudIdentity
from labrun.manifest import Manifest
from labrun.session import Session


def needs_local_cloud(manifest: Manifest, target: str) -> bool:
    """The embedded cloud runs only for local sessions of labs that use AWS."""
    return target == "local" and "aws" in manifest.requires


def identity_of(session: Session) -> CloudIdentity:
    """The session's recorded identity; for a session recorded before identities were,
    what this shell reaches (as labrun did then)."""
    if session.identity is not None:
        return session.identity
    return identity.capture(session.target, (), None, localcloud.REGION)


def session_env(session: Session, cloud_endpoint: str | None) -> dict[str, str]:
    """`export`-able variables that put a process in the session's cloud."""
    recorded = identity_of(session)
    env: dict[str, str] = {}
    if cloud_endpoint:
        env.update(localcloud.aws_env(cloud_endpoint))
    elif session.target == "aws":
        env.update(recorded.aws_env())
    if recorded.docker_host:
        env["DOCKER_HOST"] = recorded.docker_host
    env["LABRUN_SESSION"] = session.id
    return env


def cloud_endpoint_for(manifest: Manifest, session: Session) -> str | None:
    """Start (or reuse) the embedded cloud when the session needs it; its endpoint."""
    if not needs_local_cloud(manifest, session.target):
        return None
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
