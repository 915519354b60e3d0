"""Which session a command is about, when the learner does not name one.

In order: the SESSION argument, LABRUN_SESSION (set by `labrun env` and `labrun shell`), the
session whose work folder the current directory is in, and the only active session.
"""

from __future__ import annotations

import os
from pathlib import Path

from labrun.errors import BadInput
from labrun.session import Session
from labrun.store import SessionStore

HOW_TO_NAME = "name one, set LABRUN_SESSION, or run the command in a session's workspace"


def resolve(store: SessionStore, session_id: str | None) -> Session:
    """The session a command is about (see the module's docstring), else a clear error."""
    if session_id:
        return store.get(session_id)
    from_env = os.environ.get("LABRUN_SESSION")
    if from_env:
        return _from_env(store, from_env)
    sessions = store.sessions()
    here = in_workdir(sessions, Path.cwd())
    if here is not None:
        return here
    live = [s for s in sessions if s.is_live]
    if len(live) == 1:
        return live[0]
    if not live:
        raise BadInput("no active session: start one with `labrun start LAB`")
    names = ", ".join(f"{s.id} ({s.lab})" for s in live)
    raise BadInput(f"{len(live)} sessions are active ({names}): {HOW_TO_NAME}")


def in_workdir(sessions: list[Session], folder: Path) -> Session | None:
    """The session whose work folder (its workspace included) holds `folder`, if any."""
    where = folder.resolve()
    for session in sessions:
        if where.is_relative_to(session.workdir.resolve()):
            return session
    return None


def resumable(store: SessionStore, lab: str, target: str, owner: str) -> Session | None:
    """The owner's newest active session of `lab` on `target`: `labrun start` shows it again."""
    candidates = [
        s
        for s in store.sessions(live_only=True, target=target)
        if s.status == "active" and s.lab == lab and s.owner == owner
    ]
    return candidates[-1] if candidates else None


def _from_env(store: SessionStore, session_id: str) -> Session:
    try:
        return store.get(session_id)
    except BadInput:
        raise BadInput(
            f"LABRUN_SESSION={session_id} names no session of this labrun home: "
            "unset it (`unset LABRUN_SESSION`) or name a session; `labrun status --all` lists them"
        ) from None
