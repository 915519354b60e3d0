"""Which session a command is about: the one named, or the only live one."""

from __future__ import annotations

from labrun.errors import BadInput
from labrun.session import Session
from labrun.store import SessionStore


def resolve(store: SessionStore, session_id: str | None) -> Session:
    """The named session; with no name, the only live one, else a clear error."""
    if session_id:
        return store.get(session_id)
    live = store.sessions(live_only=True)
    if len(live) == 1:
        return live[0]
    if not live:
        raise BadInput("no active session: start one with `labrun start LAB`")
    names = ", ".join(f"{s.id} ({s.lab})" for s in live)
    raise BadInput(f"{len(live)} sessions are active, name one of them: {names}")
