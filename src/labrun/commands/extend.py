"""`labrun extend SESSION DURATION`: give a session more time, within its lab's max_ttl."""

from __future__ import annotations

import click

from labrun.commands import json_option
from labrun.output import console, print_json


@click.command(short_help="Give a session more time, within its lab's max_ttl.")
@click.argument("session")
@click.argument("duration")
@json_option
def extend(session: str, duration: str, as_json: bool) -> int:
    """Move SESSION's hard expiry DURATION later (e.g. 30m, 1h).

    A session may live at most its lab's max_ttl, counted from its start, and no longer
    than its budget pays for at its hourly estimate; a longer extension is refused and
    nothing changes. `labrun status` shows the time left.

    \b
    Examples:
      labrun extend k3v9q2mz 30m
      labrun extend k3v9q2mz 1h --json
    """
    from labrun import ttl
    from labrun.render import time_left
    from labrun.store import SessionStore

    extended = ttl.extend(SessionStore.open(), session, duration)
    if as_json:
        print_json(extended.to_json())
        return 0
    console().print(
        f"Session {extended.id} now expires at {extended.expires_at:%H:%M} UTC "
        f"({time_left(extended)} left)."
    )
    return 0
