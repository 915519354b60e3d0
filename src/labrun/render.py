"""Human-readable views of sessions, checks and teardown receipts (the --json twins)."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

from labrun.durations import format_duration
from labrun.output import console

if TYPE_CHECKING:
    from labrun.grading import CheckReport
    from labrun.meter import Meter
    from labrun.session import Session
    from labrun.teardown import Receipt

STATUS_STYLE = {
    "pass": "green", "partial": "yellow", "fail": "red", "blocked": "magenta", "error": "red bold",
}  # fmt: skip


def time_left(session: Session) -> str:
    from datetime import timedelta

    return format_duration(timedelta(seconds=session.time_left()))


def session_card(session: Session, cost: Meter | None = None) -> None:
    """Session id, time left, outputs, workspace: what a learner needs after `start`."""
    out = console()
    out.print(f"[bold green]Session {session.id}[/] of [bold]{session.lab}[/] is {session.status}.")
    out.print(f"  time left: {time_left(session)} (expires {session.expires_at:%H:%M} UTC)")
    if cost is not None and cost.hourly_usd is not None:
        out.print(f"  cost:      {cost_rate(cost)}", markup=False)
    out.print(f"  workspace: {session.workspace}")
    for name, value in session.outputs.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        out.print(f"  output {name}: {shown}")
    if "AWS_ENDPOINT_URL" in session.env or "DOCKER_HOST" in session.env:
        out.print('  shell:     eval "$(labrun env)"  # puts your shell in the lab\'s cloud')
    out.print("")


def env_lines(env: dict[str, str]) -> str:
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())


def cost_rate(cost: Meter) -> str:
    """The plan's estimate as priced at start: "$0.53/h estimated, budget $2.00"."""
    from labrun.meter import usd

    budget = "no budget" if cost.budget_usd is None else f"budget {usd(cost.budget_usd)}"
    return f"{usd(cost.hourly_usd or 0.0)}/h estimated, {budget}"


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
        table.add_row(s.id, s.lab, s.target, s.status, f"[{style}]{left}[/]" if style else left,
                      cost, ", ".join(s.outputs) or "-")  # fmt: skip
    console().print(table)


def check_report(report: CheckReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Check of session {report.session}", title_justify="left")
    for column in ("task", "status", "points", "message", "hint"):
        table.add_column(column, overflow="fold")
    for t in report.tasks:
        style = STATUS_STYLE.get(t.status, "")
        earned = f"{t.earned:g}/{t.points}"
        # A check's message is the learner's text, not markup: "[1, 2]" must print as is.
        table.add_row(t.id, f"[{style}]{t.status}[/]", earned, escape(t.message), escape(t.hint))
    console().print(table)
    percent = 100 * report.score / report.total if report.total else 100.0
    console().print(f"[bold]Score: {report.score:g}/{report.total} ({percent:.0f}%)[/]")


def receipt(result: Receipt) -> None:
    out = console()
    out.print(f"Teardown of session {result.session}:")
    out.print(f"  destroyed by Terraform: {len(result.destroyed)}")
    for address in result.destroyed:
        out.print(f"    - {address}")
    if any(place.endswith("-marks") for place in result.checked):
        out.print(f"  removed by the sweep (carrying the session's mark): {len(result.swept)}")
    for item in result.swept:
        why = "" if item.get("reason") == "marked" else f" ({item.get('reason')})"
        out.print(f"    - {item['kind']} {item.get('name') or item['id']}{why}")
    out.print(f"  checked: {', '.join(result.checked) or 'nothing'}")
    for error in result.errors:
        out.print(f"  [red]error: {error}[/]")
    if result.unowned:
        out.print(f"  [yellow]created during the session without labrun's mark (not touched): "
                  f"{len(result.unowned)}[/]")  # fmt: skip
        for item in result.unowned:
            out.print(f"    - {item['kind']} {item.get('name') or item['id']}")
    if result.remaining:
        out.print(f"  [red bold]still there: {len(result.remaining)}[/]")
        for item in result.remaining:
            out.print(f"    - {item['kind']} {item.get('name') or item['id']}")
    if result.ok:
        out.print("  [green bold]nothing of this session remains.[/]")
    else:
        out.print(f"  The session stays listed: run `labrun stop {result.session}` again "
                  "(or `labrun reap`) to finish.")  # fmt: skip
