"""`labrun plan LAB` and `labrun plan --from-json PLAN.json`: what a lab would cost."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from labrun.commands import json_option, labs_dir_option
from labrun.errors import BadInput
from labrun.output import console, print_json

if TYPE_CHECKING:
    from datetime import timedelta

    from labrun.estimate import Estimate

DEFAULT_TTL = "2h"  # a plan document has no lab: the lab format's default ttl


@click.command(short_help="What a lab would cost, per resource, before anything exists.")
@click.argument("lab", required=False)
@click.option(
    "--from-json",
    "from_json",
    metavar="PLAN.json",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Price this `terraform show -json` document instead of planning a lab.",
)
@click.option(
    "--target",
    type=click.Choice(["local", "aws"]),
    default="local",
    show_default=True,
    help="Plan as `labrun start --target` would (local: the embedded cloud; aws: your account).",
)
@click.option(
    "--ttl",
    metavar="DURATION",
    help=f"How long a session to price, e.g. 45m (default: the lab's ttl, {DEFAULT_TTL} "
    "with --from-json).",
)
@labs_dir_option
@json_option
def plan(
    lab: str | None, from_json: Path | None, target: str, ttl: str | None,
    labs_dir: Path | None, as_json: bool,
) -> int:  # fmt: skip
    """Price LAB before you start it: per resource and in total, per hour and for the TTL.

    labrun runs `terraform plan` in a temporary copy of the lab's module, with the
    variables a start would set (nothing is created, no session is recorded), prices
    every resource from the price table shipped with labrun (docs/costs.md), and checks
    the policy (your config [policy] plus the lab's). A resource labrun cannot price is
    listed as unpriced, never counted as $0.

    Exits 0 when `labrun start` would go ahead; 1 when it would refuse: a policy
    violation, or an estimate over the lab's budget_usd (or a budget that unpriced
    resources make impossible to hold).

    \b
    Examples:
      labrun plan cloud-logs
      labrun plan cloud-logs --target aws --ttl 3h --json
      terraform show -json tfplan > plan.json && labrun plan --from-json plan.json
    """
    from labrun import estimate

    if (lab is None) == (from_json is None):
        raise BadInput("give either LAB or --from-json PLAN.json (see `labrun plan --help`)")
    if from_json is not None:
        found, budget = _from_document(from_json, ttl), None
    else:
        assert lab is not None
        found, budget = _from_lab(lab, target, ttl, labs_dir)
    if as_json:
        print_json(found.to_json())
    else:
        _render(found, budget, "aws" if from_json is not None else target)
    return 1 if estimate.refusal(found, budget) else 0


def _from_document(path: Path, ttl: str | None) -> Estimate:
    from labrun import awsenv, estimate
    from labrun.plan import load_plan_file

    # A provider block without a region plans where your AWS settings point, profile included.
    region = awsenv.resolve_region(awsenv.passthrough())
    return estimate.of_document(load_plan_file(path), _duration(ttl or DEFAULT_TTL), None, region)


def _from_lab(
    lab_id: str, target: str, ttl: str | None, labs_dir: Path | None
) -> tuple[Estimate, float | None]:
    from labrun import estimate, provision
    from labrun.catalog import find_lab
    from labrun.progress import terraform_progress

    found = find_lab(lab_id, labs_dir)
    duration = provision.resolve_ttl(found, ttl)
    with terraform_progress(f"Planning {found.id}") as progress:
        result = estimate.of_lab(found, target, duration, progress)
    return result, found.manifest.budget_usd


def _duration(text: str) -> timedelta:
    from labrun.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise BadInput(f"--ttl: {exc}") from None


def _render(found: Estimate, budget: float | None, target: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    from labrun.estimate import refusal
    from labrun.meter import usd

    table = Table(title="Estimated cost on AWS", title_justify="left")
    for column in ("resource", "type", "per hour", "note"):
        table.add_column(column, overflow="fold")
    for row in found.rows:
        hourly = row.price.hourly_usd
        shown = f"${hourly:.4f}" if hourly is not None else "[yellow]unpriced[/]"
        table.add_row(escape(row.resource.address), row.resource.type, shown,
                      escape(row.price.note))  # fmt: skip
    out = console()
    out.print(table)
    cap = f" (budget {usd(budget)})" if budget is not None else ""
    hours = f"{usd(found.ttl_usd)} for {found.ttl_hours:g}h"
    out.print(f"[bold]Total: ${found.hourly_usd:.4f}/hour, {hours}[/]{cap}")
    if target == "local":
        out.print("On the local target it costs $0: these are what it would cost on AWS.")
    if found.unpriced:
        out.print(f"[yellow]Not in the total (unpriced): {escape(', '.join(found.unpriced))}[/]")
    for v in found.violations:
        out.print(f"[red]refused: {escape(v.address)} ({v.rule}): {escape(v.message)}[/]")
    why = refusal(found, budget)
    if why and not found.violations:
        out.print(f"[red]`labrun start` would refuse: {escape(why)}[/]")
