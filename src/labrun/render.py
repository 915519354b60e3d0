"""Human-readable views of sessions, checks and teardown receipts (the --json twins).

Text that comes from labs, learners, Terraform or errors is printed as text, never as rich
markup: "[/]" in a message must neither crash the output nor vanish. Styles are passed as
`style=` (or Text objects in tables), not written into such text.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

from labrun.durations import format_duration
from labrun.output import console

if TYPE_CHECKING:
    from rich.text import Text

    from labrun.grading import CheckReport
    from labrun.meter import Meter
    from labrun.session import Session
    from labrun.teardown import Receipt

STATUS_STYLE = {
    "pass": "green", "partial": "yellow", "fail": "red", "blocked": "magenta", "error": "red bold",
}  # fmt: skip
NEXT_COMMANDS = (
    ("labrun instructions", "the lab's instructions"),
    ("labrun shell", "a shell in the workspace, in the lab's cloud"),
    ("labrun check", "grade your work (`labrun hint` when stuck)"),
)


def time_left(session: Session) -> str:
    from datetime import timedelta

    return format_duration(timedelta(seconds=session.time_left()))


def say(text: str, style: str = "") -> None:
    """One line of text on stdout, in `style`, never read as markup."""
    console().print(text, style=style or None, markup=False, soft_wrap=True)


def plain(text: object, style: str = "") -> Text:
    """A table cell (or a part of a line) that is text, not markup."""
    from rich.text import Text

    return Text(str(text), style=style)


def session_card(session: Session, cost: Meter | None = None, note: str = "") -> None:
    """What a learner needs after `start`: session, time left, workspace, next commands
    (`note`, what happens at expiry, goes before them)."""
    say(f"Session {session.id} of {session.lab} is {session.status}.", "bold green")
    say(f"  time left: {time_left(session)} (expires {session.expires_at:%H:%M} UTC)")
    if cost is not None and cost.hourly_usd is not None:
        say(f"  cost:      {cost.rate_text()}")
    say(f"  workspace: {session.workspace}")
    for name, value in session.outputs.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        say(f"  output {name}: {shown}")
    if note:
        say(note)
    say("Next:")
    for command, why in NEXT_COMMANDS:
        say(f"  {command:<20} # {why}")


def env_lines(env: dict[str, str]) -> str:
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())


def plural(count: int, noun: str) -> str:
    """ "1 warning", "2 warnings", "0 errors"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def sessions_table(sessions: list[Session], costs: dict[str, Meter] | None = None) -> None:
    """One row per session; `costs` adds the meter (accrued estimate of its budget)."""
    from rich.table import Table

    table = Table(title="Sessions", title_justify="left")
    for column in ("session", "lab", "target", "status", "time left", "cost (est.)", "outputs"):
        table.add_column(column)
    for s in sessions:
        left = time_left(s) if s.is_live else "-"
        style = "yellow" if s.is_live and 0 < s.time_left() < 600 else ""
        cost = costs[s.id].text() if costs and s.id in costs else "-"
        outputs = ", ".join(s.outputs) or "-"
        table.add_row(plain(s.id), plain(s.lab), plain(s.target), plain(s.status),
                      plain(left, style), plain(cost), plain(outputs))  # fmt: skip
    console().print(table)


def check_report(report: CheckReport) -> None:
    from rich.table import Table

    table = Table(title=f"Check of session {report.session}", title_justify="left")
    for column in ("task", "status", "points", "message", "hint"):
        table.add_column(column, overflow="fold")
    for t in report.tasks:
        hint = t.hint
        if t.more_hints:
            more = f"`labrun hint {t.id}` for more ({plural(t.more_hints, 'hint')} left)"
            hint = f"{hint}\n{more}" if hint else more
        earned = f"{t.earned:g}/{t.points}"
        # A check's message is the learner's text, not markup: "[1, 2]" must print as is.
        table.add_row(plain(t.id), plain(t.status, STATUS_STYLE.get(t.status, "")),
                      earned, plain(t.message), plain(hint))  # fmt: skip
    console().print(table)
    percent = 100 * report.score / report.total if report.total else 100.0
    say(f"Score: {report.score:g}/{report.total} ({percent:.0f}%)", "bold")


def receipt(result: Receipt) -> None:
    say(f"Teardown of session {result.session}:")
    say(f"  destroyed by Terraform: {len(result.destroyed)}")
    for address in result.destroyed:
        say(f"    - {address}")
    if any(place.endswith("-marks") for place in result.checked):
        say(f"  removed by the sweep (carrying the session's mark): {len(result.swept)}")
    for item in result.swept:
        why = "" if item.get("reason") == "marked" else f" ({item.get('reason')})"
        say(f"    - {item['kind']} {item.get('name') or item['id']}{why}")
    say(f"  checked: {', '.join(result.checked) or 'nothing'}")
    for error in result.errors:
        say(f"  error: {error}", "red")
    if result.unowned:
        say(f"  created during the session without labrun's mark (not touched): "
            f"{len(result.unowned)}", "yellow")  # fmt: skip
        for item in result.unowned:
            say(f"    - {item['kind']} {item.get('name') or item['id']}")
    if result.remaining:
        say(f"  still there: {len(result.remaining)}", "red bold")
        for item in result.remaining:
            say(f"    - {item['kind']} {item.get('name') or item['id']}")
    if result.ok:
        say("  nothing of this session remains.", "green bold")
    else:
        say(f"  The session stays listed: run `labrun stop {result.session}` again "
            "(or `labrun reap`) to finish.")  # fmt: skip
