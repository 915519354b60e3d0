"""A session's time to live: a hard expiry, which `labrun extend` moves within max_ttl.

A session may live at most its lab's `max_ttl` from its creation, and, when it has a
budget, no longer than its hourly estimate allows. An expired session cannot be extended:
the reaper is already due to tear it down.
"""

from __future__ import annotations

from datetime import timedelta

from labrun.durations import format_duration, parse_duration
from labrun.errors import BadInput
from labrun.meter import usd
from labrun.session import Session, rfc3339, session_manifest, utcnow
from labrun.store import SessionStore


def extend(store: SessionStore, session_id: str, duration: str) -> Session:
    """Move the session's expiry `duration` later; refuse past max_ttl or the budget."""
    try:
        more = parse_duration(duration)
    except ValueError as exc:
        raise BadInput(f"DURATION: {exc}") from None
    session = store.get(session_id)
    if session.status != "active":
        raise BadInput(f"session {session.id} is {session.status}: only an active one is extended")
    if session.expires_at <= utcnow():
        raise BadInput(f"session {session.id} has expired: `labrun reap` tears it down")
    lifetime = session.expires_at + more - session.created_at
    _within_max_ttl(session, more, lifetime)
    _within_budget(store, session, lifetime)
    expires_at = session.expires_at + more
    store.update(session.id, expires_at=expires_at)
    detail = {"by": format_duration(more), "expires_at": rfc3339(expires_at)}
    store.journal(session.id, "extended", detail)
    return store.get(session.id)


def _within_max_ttl(session: Session, more: timedelta, lifetime: timedelta) -> None:
    limit = session_manifest(session).max_ttl
    if lifetime <= limit:
        return
    lived = session.expires_at - session.created_at
    room = limit - lived
    allowed = (
        f"extend it by at most {format_duration(room, exact=True)}"
        if room.total_seconds() > 0
        else "it cannot be extended any more"
    )
    raise BadInput(
        f"cannot extend {session.id} by {format_duration(more, exact=True)}: a session of "
        f"{session.lab} lives at most {format_duration(limit, exact=True)} (its max_ttl) "
        f"and {session.id} already has {format_duration(lived, exact=True)} of it; {allowed}"
    )


def _within_budget(store: SessionStore, session: Session, lifetime: timedelta) -> None:
    hourly, budget = store.meter(session.id)
    if not hourly or budget is None:
        return
    cost = hourly * lifetime.total_seconds() / 3600
    if cost > budget:
        raise BadInput(
            f"living {format_duration(lifetime)} at {usd(hourly)}/h would cost {usd(cost)}, "
            f"over the session's budget of {usd(budget)}"
        )
