"""Catching a `labrun start` child mid-way, for tests that pause, interrupt or kill it."""

from __future__ import annotations

from pathlib import Path

from labrun.session import Session
from labrun.store import SessionStore
from testing.cli import wait_for


def recorded(store: SessionStore, lab: str) -> Session:
    """The session of `lab` a `labrun start` child has recorded (waiting for it)."""

    def of_lab() -> list[Session]:
        return [s for s in store.sessions() if s.lab == lab]

    wait_for(of_lab)
    return of_lab()[0]


def group_members(group: int) -> list[tuple[str, str]]:
    """The processes of process group `group` still running: (command, state), zombies left
    out (killed, waiting for a parent to reap them, they hold nothing and do nothing)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            command, rest = stat.read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue
        fields = rest.split()
        if int(fields[2]) == group and fields[0] not in ("Z", "X"):
            members.append((command.split("(", 1)[1], fields[0]))
    return members


def sleeping(session: Session) -> bool:
    """Whether the session's Terraform runs a `sleep` (a test lab's slow step)."""
    group = int((session.terraform_dir / ".labrun-terraform.pid").read_text())
    return any(command == "sleep" for command, _ in group_members(group))
