"""A session: one learner's run of one lab, from start to the proof that nothing is left."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labrun.identity import CloudIdentity

if TYPE_CHECKING:
    from labrun.manifest import Manifest

STATUSES = ("provisioning", "active", "tearing-down", "ended", "failed")
# "failed": the start failed and its cleanup left nothing. A session whose teardown is
# incomplete stays "tearing-down" (live) until a stop or the reaper finishes it.
LIVE_STATUSES = ("provisioning", "active", "tearing-down")
_ALPHABET = string.ascii_lowercase + string.digits
# The mark `labrun extend` never needs to move: an installation that does not know the
# session (`reap --all-owners`) may tear its resources down once it has passed.
HARD_EXPIRES_TAG = "labrun:hard-expires-at"
INSTALLATION_TAG = "labrun:installation"  # which LABRUN_HOME made it (home.installation_id)


def new_session_id() -> str:
    """Eight characters, starting with a letter: safe in S3, IAM, Docker and DNS names."""
    return secrets.choice(string.ascii_lowercase) + "".join(
        secrets.choice(_ALPHABET) for _ in range(7)
    )


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Session:
    """What the store keeps about a session."""

    id: str
    lab: str
    lab_dir: Path
    target: str
    status: str
    created_at: datetime
    expires_at: datetime
    owner: str
    workdir: Path
    outputs: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # never a credential of the user's
    identity: CloudIdentity | None = None  # None: recorded by a labrun before identities
    hard_expires_at: datetime | None = None  # created_at + max_ttl: no extend goes past it
    installation: str = ""  # the LABRUN_HOME that recorded it ("" before installation ids)

    @property
    def workspace(self) -> Path:
        return self.workdir / "workspace"

    @property
    def terraform_dir(self) -> Path:
        return self.workdir / "terraform"

    @property
    def logs_dir(self) -> Path:
        return self.workdir / "logs"

    @property
    def is_live(self) -> bool:
        """Still holding (or possibly holding) resources."""
        return self.status in LIVE_STATUSES

    def time_left(self, now: datetime | None = None) -> float:
        return (self.expires_at - (now or utcnow())).total_seconds()

    def tags(self) -> dict[str, str]:
        """AWS-style marks carried by every cloud resource of the session."""
        return {
            "labrun:session": self.id,
            "labrun:lab": self.lab,
            "labrun:owner": self.owner,
            "labrun:expires-at": rfc3339(self.expires_at),
            **({HARD_EXPIRES_TAG: rfc3339(self.hard_expires_at)} if self.hard_expires_at else {}),
            **({INSTALLATION_TAG: self.installation} if self.installation else {}),
        }

    def labels(self) -> dict[str, str]:
        """Docker-style marks carried by every container, network, volume and image."""
        return {key.replace(":", "."): value for key, value in self.tags().items()}

    def to_json(self) -> dict[str, Any]:
        """The shape of `labrun start --json` (and of each entry of `status --json`)."""
        return {
            "session": self.id,
            "lab": self.lab,
            "target": self.target,
            "status": self.status,
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.expires_at),
            "time_left_seconds": max(0, int(self.time_left())) if self.is_live else 0,
            "owner": self.owner,
            "outputs": self.outputs,
            "workspace": str(self.workspace),
            "env": self.env,
        }


def session_manifest(session: Session) -> Manifest:
    """The lab.toml the session started with (kept in its work folder), even if the lab moved."""
    import tomllib

    from labrun.manifest import parse_manifest

    data = tomllib.loads((session.workdir / "lab.toml").read_text(encoding="utf-8"))
    return parse_manifest(data, session.lab_dir / "lab.toml")
