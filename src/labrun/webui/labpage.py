"""The lab page's content and actions as data: what `labrun ui`'s routes return.

The tasks' live status is the session's latest check attempt, whichever command made it: a
`labrun check` in the terminal turns the page's tasks green as well as the Check button does.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from labrun import grading, hints, teardown, ttl
from labrun.manifest import Task
from labrun.meter import meter
from labrun.session import Session, rfc3339, session_manifest, utcnow
from labrun.store import SessionStore


def state(store: SessionStore, session_id: str) -> dict[str, Any]:
    """The page's state: the session, its time and cost, and each task's latest result."""
    session = store.get(session_id)
    manifest = session_manifest(session)
    attempts = store.attempts(session.id)
    last = attempts[-1] if attempts else None
    results = {t["id"]: t for t in last["report"]["tasks"]} if last else {}
    cost = meter(store, session)
    return {
        "session": session.id,
        "lab": session.lab,
        "title": manifest.title,
        "status": session.status,
        "live": session.is_live,
        "now": rfc3339(utcnow()),
        "expires_at": rfc3339(session.expires_at),
        "time_left_seconds": max(0, int(session.time_left())) if session.is_live else 0,
        "cost": {**cost.to_json(), "text": cost.text()},
        "checked_at": last["at"] if last else None,
        "score": last["score"] if last else None,
        "total": manifest.total_points,
        "tasks": [_task(store, session, t, results.get(t.id)) for t in manifest.tasks],
    }


def _task(
    store: SessionStore, session: Session, task: Task, result: dict[str, Any] | None
) -> dict[str, Any]:
    """A task as the page shows it: its latest result and the hints revealed so far."""
    status = result["status"] if result else "unchecked"
    shown = hints.revealed(store, session.id, task)
    levels = list(shown.revealed)
    # A check may give its own hint ("Add replicas, image."): shown before the lab's levels.
    own = result.get("hint", "") if result else ""
    if own and own not in levels:
        levels.insert(0, own)
    passed = status == "pass"
    return {
        "id": task.id,
        "title": task.title,
        "points": task.points,
        "status": status,
        "earned": result["earned"] if result else 0,
        "message": result.get("message", "") if result else "",
        "hints": [] if passed else levels,
        "more_hints": 0 if passed else shown.more,
    }


def check(store: SessionStore, session_id: str) -> dict[str, Any]:
    """Run the checker now (an attempt, as `labrun check`); the new state."""
    grading.check(store, store.get(session_id))
    return state(store, session_id)


def reveal_hint(store: SessionStore, session_id: str, task_id: str) -> dict[str, Any]:
    """Reveal the next level of a task's hints (as `labrun hint TASK`); the new state."""
    session = store.get(session_id)
    hints.reveal_next(store, session.id, hints.find_task(session_manifest(session), task_id))
    return state(store, session_id)


def extend(store: SessionStore, session_id: str, duration: str) -> dict[str, Any]:
    """Give the session more time (as `labrun extend`); the new state."""
    ttl.extend(store, session_id, duration)
    return state(store, session_id)


def stop(store: SessionStore, session_id: str) -> dict[str, Any]:
    """Tear the session down (as `labrun stop`); the receipt."""
    return teardown.stop(store, store.get(session_id)).to_json()


def readme_html(session: Session) -> str:
    """The lab's README as HTML (CommonMark and tables; raw HTML in it is shown as text)."""
    path = session.lab_dir / "README.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return f"<p>This lab has no README ({path}).</p>"
    rendered: str = _markdown().render(text)
    return rendered


@cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def static_file(name: str) -> str:
    return (Path(__file__).parent / "static" / name).read_text(encoding="utf-8")
