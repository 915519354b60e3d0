"""`labrun extend [SESSION] DURATION`: give a session more time, within its lab's max_ttl."""

from __future__ import annotations

import click

from labrun.commands import json_option
from labrun.output import console, print_json


@click.command(short_help="Give a session more time, within its lab's max_ttl.")
@click.argument("words", metavar="[SESSION] DURATION", nargs=-1)
@json_option
def extend(words: tuple[str, ...], as_json: bool) -> int:
    """Move the session's hard expiry DURATION later (e.g. 30m, 1h).

    A session may live at most its lab's max_ttl, counted from its start, and no longer
    than its budget pays for at its hourly estimate; a longer extension is refused and
    nothing changes. `labrun status` shows the time left. SESSION may be left out: labrun
    takes LABRUN_SESSION, else the session whose workspace you are in, else the only
    active session.

    \b
    Examples:
      labrun extend 30m                 # the only active session
      labrun extend k3v9q2mz 1h --json
    """
    from labrun import selection, ttl
    from labrun.render import time_left
    from labrun.store import SessionStore

    if not words or len(words) > 2:
        raise click.UsageError("give a DURATION, e.g. `labrun extend 30m` (or SESSION DURATION)")
    store = SessionStore.open()
    if len(words) == 1 and words[0] in {s.id for s in store.sessions()}:
        raise click.UsageError(f"missing DURATION, e.g. `labrun extend {words[0]} 30m`")
    session_id, duration = words if len(words) == 2 else (None, words[0])
    chosen = selection.resolve(store, session_id)
    extended = ttl.extend(store, chosen.id, duration)
    if as_json:
        print_json(extended.to_json())
        return 0
    console().print(
        f"Session {extended.id} now expires at {extended.expires_at:%H:%M} UTC "
        f"({time_left(extended)} left)."
    )
    return 0
