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


def sleeping(session: Session) -> bool:
    """Whether the session's Terraform runs a `sleep` (a test lab's slow step)."""
    group = int((session.terraform_dir / ".labrun-terraform.pid").read_text())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            command, rest = stat.read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue
        if command.endswith("(sleep") and int(rest.split()[2]) == group:
            return True
    return False
