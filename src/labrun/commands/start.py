"""`labrun start LAB`: provision a lab (or show the one already running) and its card."""

from __future__ import annotations

from pathlib import Path

import click

from labrun.commands import json_option, labs_dir_option
from labrun.output import print_json


@click.command()
@click.argument("lab")
@click.option(
    "--target",
    type=click.Choice(["local", "aws"]),
    default="local",
    show_default=True,
    help="local: the embedded cloud on this machine (free); aws: your real AWS account.",
)
@click.option(
    "--ttl", metavar="DURATION", help="Hard time to live, e.g. 45m or 2h (default: the lab's)."
)
@click.option(
    "--budget",
    metavar="USD",
    type=click.FloatRange(min=0),
    help="The most this session may cost, in US dollars (default: the lab's budget_usd).",
)
@click.option(
    "--new", "force_new", is_flag=True,
    help="Start another session even when one of LAB is already active (default: show it).",
)  # fmt: skip
@labs_dir_option
@json_option
def start(
    lab: str, target: str, ttl: str | None, budget: float | None, force_new: bool,
    labs_dir: Path | None, as_json: bool,
) -> int:  # fmt: skip
    """Start a session of LAB: provision it, then show its card.

    labrun records the session first, copies the lab's starter files into your workspace,
    runs the lab's Terraform (on the embedded local cloud by default), and prints a card:
    the session id, the time left, the workspace, the lab's outputs and the next commands
    (`labrun instructions` shows the lab's instructions). Every session has a hard time
    to live; `labrun stop` ends it early, `labrun extend` moves it.

    When one of your sessions of LAB is already active on the target, start shows that
    one again instead of making a second (with --json: "resumed": true); --new starts
    another anyway.

    Before anything is created, a lab with priced resources (AWS) is planned and priced:
    the start is refused (exit 2, nothing created) when the policy forbids a resource, or
    when the estimate for the TTL exceeds the budget. `labrun plan LAB` shows the estimate.

    \b
    Examples:
      labrun start python-engineering
      labrun start python-engineering --ttl 45m --json
      labrun start python-engineering --new       # a second session of the same lab
      labrun start cloud-logs --target aws --budget 0.50
    """
    from labrun import provision, selection
    from labrun.catalog import find_lab
    from labrun.home import owner
    from labrun.meter import meter
    from labrun.progress import terraform_progress
    from labrun.store import SessionStore

    found = find_lab(lab, labs_dir)
    store = SessionStore.open()
    session = None if force_new else selection.resumable(store, found.id, target, owner())
    resumed = session is not None
    try:
        if session is None:
            with terraform_progress(f"Provisioning {found.id}") as progress:
                session = provision.start(
                    store, found, target=target, ttl=ttl, progress=progress, budget=budget
                )
            if session.target == "aws":
                from labrun import cloudreaper

                if no_reaper := cloudreaper.missing_warning(session.owner):
                    click.echo(f"labrun: {no_reaper}", err=True)
        from labrun import watchdog

        at_expiry = watchdog.arm(session)  # issue 11: expiry holds with nobody at the keyboard
        cost = meter(store, session)
        if as_json:
            print_json({**session.to_json(), **cost.to_json(), "resumed": resumed})
            return 0
        from labrun.render import say, session_card

        if resumed:
            ignored = (
                " (--ttl and --budget are for new sessions)" if ttl or budget is not None else ""
            )
            say(
                f"Your session {session.id} of {found.id} is already running: here it is again"
                f"{ignored}. `labrun start {found.id} --new` starts another."
            )
        session_card(session, cost, note=at_expiry)
        return 0
    except KeyboardInterrupt:
        if session is None:
            raise  # before anything was recorded (provision.start reports the rest itself)
        raise provision.interrupted(store, session.id) from None  # it runs: say how to stop it
