"""`labrun start LAB`: provision a lab and show its instructions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from labrun.commands import json_option, labs_dir_option
from labrun.output import console, print_json

if TYPE_CHECKING:
    from labrun.catalog import Lab
    from labrun.session import Session
    from labrun.store import SessionStore


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
@labs_dir_option
@json_option
def start(
    lab: str, target: str, ttl: str | None, budget: float | None, labs_dir: Path | None,
    as_json: bool,
) -> int:  # fmt: skip
    """Start a session of LAB: provision it, then show its instructions.

    labrun records the session first, copies the lab's starter files into your workspace,
    runs the lab's Terraform (on the embedded local cloud by default), and prints the
    session id, the time left, the lab's outputs and its instructions. Every session has
    a hard time to live; `labrun stop` ends it early, `labrun extend` moves it.

    Before anything is created, a lab with priced resources (AWS) is planned and priced:
    the start is refused (exit 2, nothing created) when the policy forbids a resource, or
    when the estimate for the TTL exceeds the budget. `labrun plan LAB` shows the estimate.

    \b
    Examples:
      labrun start python-engineering
      labrun start python-engineering --ttl 45m --json
      labrun start cloud-logs --target aws --budget 0.50
    """
    from labrun import provision
    from labrun.catalog import find_lab
    from labrun.progress import terraform_progress
    from labrun.store import SessionStore

    found = find_lab(lab, labs_dir)
    store = SessionStore.open()
    session: Session | None = None
    try:
        with terraform_progress(f"Provisioning {found.id}") as progress:
            session = provision.start(
                store, found, target=target, ttl=ttl, progress=progress, budget=budget
            )
        return _show(store, session, found, as_json)
    except KeyboardInterrupt:
        if session is None:
            raise  # before anything was recorded (provision.start reports the rest itself)
        raise provision.interrupted(store, session.id) from None  # it runs: say how to stop it


def _show(store: SessionStore, session: Session, found: Lab, as_json: bool) -> int:
    from labrun.meter import meter

    cost = meter(store, session)
    if as_json:
        print_json({**session.to_json(), **cost.to_json()})
        return 0
    from labrun.commands.lab_info import render_instructions
    from labrun.render import session_card

    session_card(session, cost)
    render_instructions(found.readme.read_text(encoding="utf-8"))
    console().print(
        "\nWhen you are done: [bold]labrun check[/] to grade, [bold]labrun stop[/] to clean up."
    )
    return 0
