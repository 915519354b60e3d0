"""`labrun status [SESSION]`: sessions, their status and the time they have left."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from labrun.commands import json_option, session_argument
from labrun.output import console, print_json
from labrun.store import SessionStore

if TYPE_CHECKING:
    from labrun.watchdog import Watchdog


@click.command()
@session_argument
@click.option("--all", "show_all", is_flag=True, help="Include ended sessions.")
@json_option
def status(session: str | None, show_all: bool, as_json: bool) -> int:
    """Show sessions: status, time left, cost so far and what they provisioned.

    Without SESSION: every active session (and, with --all, the ended ones too).
    A session with less than 10 minutes left is flagged. The cost is an estimate: the
    plan's hourly price times the time the session has lived, beside its budget (the
    reaper tears a session down when it reaches its budget).
    """
    from labrun.meter import meter
    from labrun.render import sessions_table

    store = SessionStore.open()
    sessions = [store.get(session)] if session else store.sessions(live_only=not show_all)
    costs = {s.id: meter(store, s) for s in sessions}
    from labrun import watchdog

    armed = watchdog.status()
    if as_json:
        print_json(
            {
                "sessions": [
                    _with_resources(store, s.id, {**s.to_json(), **costs[s.id].to_json()})
                    for s in sessions
                ],
                "watchdog": armed.to_json(),
            }
        )
        return 0
    if not sessions:
        console().print("No active session. Start one with [bold]labrun start LAB[/].")
        return 0
    sessions_table(sessions, costs)
    for s in sessions:
        if s.is_live and 0 < s.time_left() < 600:
            console().print(f"[yellow]Session {s.id} has less than 10 minutes left.[/]")
    if any(s.is_live for s in sessions):
        console().print(_expiry_line(armed))
    return 0


def _expiry_line(armed: Watchdog) -> str:
    """Whether expiry is armed: a live watchdog tears each session down at its expiry."""
    if armed.running and armed.sessions:
        sid, at = armed.sessions[0]
        return f"Expiry armed: the watchdog (pid {armed.pid}) tears {sid} down at {at}."
    if not armed.enabled:
        return "[yellow]Expiry not armed: LABRUN_WATCHDOG is off (`labrun reap` tears down).[/]"
    return "[yellow]Expiry not armed: no watchdog runs (the next labrun command starts it).[/]"


def _with_resources(
    store: SessionStore, session_id: str, data: dict[str, object]
) -> dict[str, object]:
    """Add the resources Terraform created (from the session's journal)."""
    created: list[str] = []
    for event in store.events(session_id):
        if event["event"] == "terraform-apply":
            created.extend(event.get("changed", []))
    return {**data, "resources": created}
