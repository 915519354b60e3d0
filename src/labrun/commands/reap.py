"""`labrun reap` and `labrun reaper install | status | uninstall`."""

from __future__ import annotations

import click

from labrun.commands import json_option
from labrun.output import console, print_json


@click.command()
@click.option("--dry-run", is_flag=True, help="Say what would be torn down; touch nothing.")
@click.option(
    "--all-owners",
    is_flag=True,
    help="Reap every installation's expired resources (an instructor's account-wide reaper).",
)
@click.option(
    "--yes",
    is_flag=True,
    help="Also delete orphans in the real AWS account (config aws.reap); else they are listed.",
)
@json_option
def reap(dry_run: bool, all_owners: bool, yes: bool, as_json: bool) -> int:
    """Tear down forgotten sessions and orphaned resources.

    \b
    It tears down, with the same pipeline as `labrun stop`:
      - sessions past their expiry (their TTL), even if their terminal is closed;
      - sessions whose provisioning crashed, or whose teardown is unfinished;
      - orphans: resources with this installation's marks whose session is unknown,
        ended, or whose labrun:expires-at has passed.
    Nothing without labrun's marks is ever touched. Exits 1 when anything failed.
    Schedule it with `labrun reaper install`.
    """
    from labrun import reaper
    from labrun.home import owner
    from labrun.store import SessionStore

    report = reaper.reap(SessionStore.open(), None if all_owners else owner(), dry_run, yes)
    if as_json:
        print_json(report.to_json())
    else:
        _render(report)
    return 0 if report.ok else 1


def _render(report: object) -> None:
    from labrun.reaper import ReapReport

    assert isinstance(report, ReapReport)
    from rich.markup import escape

    out = console()
    verb = "would tear down" if report.dry_run else "tore down"
    if not report.sessions and not report.orphans:
        out.print("Nothing to reap: no expired session, no orphan.")
    for s in report.sessions:
        state = "" if report.dry_run else (" ok" if s.get("ok") else " [red]incomplete[/]")
        out.print(f"{verb} session {s['session']} ({s['lab']}): {escape(s['reason'])}{state}")
    for o in report.orphans:
        done = verb if o["removed"] else "would tear down (confirm with --yes)"
        line = f"{done} orphan {o['kind']} {o['name']} of session {o['session']}: {o['why']}"
        out.print(line, markup=False)
    for failure in report.failures:
        out.print(f"failed: {failure}", style="red", markup=False)


@click.group()
def reaper() -> None:
    """Schedule `labrun reap` so forgotten sessions are torn down on time.

    Uses a systemd user timer where systemd runs, else a crontab line.
    """


@reaper.command()
@click.option("--every", default="5m", show_default=True, help="How often to reap (1m or more).")
@json_option
def install(every: str, as_json: bool) -> int:
    """Install (or update) the reaper's schedule."""
    from labrun import schedule
    from labrun.durations import parse_duration
    from labrun.errors import BadInput

    try:
        period = parse_duration(every)
    except ValueError as exc:
        raise BadInput(f"--every: {exc}") from None
    result = schedule.install(period)
    if as_json:
        print_json(result.to_json())
    else:
        console().print(f"The reaper runs every {result.every} ({result.method}).")
    return 0


@reaper.command("status")
@json_option
def reaper_status(as_json: bool) -> int:
    """Show whether and how the reaper is scheduled."""
    from labrun import schedule

    result = schedule.status()
    if as_json:
        print_json(result.to_json())
    elif result.installed:
        console().print(f"The reaper runs every {result.every} ({result.method}).")
    else:
        console().print("The reaper is not scheduled: `labrun reaper install` schedules it.")
    return 0


@reaper.command()
@json_option
def uninstall(as_json: bool) -> int:
    """Remove the reaper's schedule."""
    from labrun import schedule

    removed = schedule.uninstall()
    if as_json:
        print_json({"removed": removed})
    else:
        console().print("Reaper schedule removed." if removed else "The reaper was not scheduled.")
    return 0
