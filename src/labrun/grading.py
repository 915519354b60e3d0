"""Checking a session: run its lab's checker against the session's cloud and workspace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labrun import environment, hints
from labrun.checker import TaskResult, run_checks, score
from labrun.errors import BadInput
from labrun.session import Session, session_manifest
from labrun.store import SessionStore


@dataclass
class CheckReport:
    """One graded attempt: the shape of `labrun check --json`."""

    session: str
    tasks: list[TaskResult]

    @property
    def score(self) -> float:
        return score(self.tasks)[0]

    @property
    def total(self) -> int:
        return score(self.tasks)[1]

    @property
    def passed(self) -> bool:
        return all(t.status == "pass" for t in self.tasks)

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "score": self.score,
            "total": self.total,
            "tasks": [t.to_json() for t in self.tasks],
        }


def check(store: SessionStore, session: Session) -> CheckReport:
    """Grade the session's work now, and record the attempt."""
    if session.status != "active":
        raise BadInput(
            f"session {session.id} is {session.status}: only an active session is checked"
        )
    manifest = session_manifest(session)
    env = environment.session_env(session, environment.cloud_endpoint_for(manifest, session))
    context = {
        "session": session.id,
        "lab": session.lab,
        "outputs": session.outputs,
        "workspace": str(session.workspace),
        "tags": session.tags(),
        "labels": session.labels(),
        "env": env,
    }
    tasks = run_checks(
        session.lab_dir, manifest, context, log_path=session.logs_dir / "check.log", env=env
    )
    tasks = hints.with_levels(store, session.id, manifest, tasks)
    report = CheckReport(session=session.id, tasks=tasks)
    store.add_attempt(session.id, report.score, report.total, report.to_json())
    store.journal(session.id, "check", {"score": report.score, "total": report.total})
    return report
