"""`labrun prices`: the price table behind the cost guardrails, for maintainers."""

from __future__ import annotations

import click

from labrun.commands import json_option
from labrun.output import console, print_json


@click.group(short_help="The price table behind the cost guardrails: `prices check`.")
def prices() -> None:
    """The price table labrun prices plans with (src/labrun/data/prices.json)."""


@prices.command("check")
@click.option(
    "--section",
    "sections",
    multiple=True,
    type=click.Choice(["ec2", "rds"]),
    help="Check only this section of the table (repeatable). Default: every section.",
)
@click.option(
    "--offer",
    "offers",
    multiple=True,
    metavar="FILE_OR_URL",
    help="A Price List offer file (index.csv or index.json) to compare with, one per section "
    "in the order of --section. Default: AWS's current file for us-east-1.",
)
@json_option
def check(sections: tuple[str, ...], offers: tuple[str, ...], as_json: bool) -> int:
    """Compare the price table with AWS's public Price List files; print what differs.

    \b
    Exit 0 when every compared price matches (within 0.5%), 1 when some differ,
    3 when a price list cannot be read.
    \b
    Where AWS can be reached (the files are large: EC2's is several GB, read as it
    streams):
      labrun prices check
    Offline, with files downloaded elsewhere:
      labrun prices check --section ec2 --offer AmazonEC2-us-east-1.csv
    """
    from labrun import pricecheck
    from labrun.errors import BadInput

    chosen = list(sections or pricecheck.CHECKS)
    if offers and len(offers) != len(chosen):
        raise BadInput("give one --offer per --section, in the same order")
    reports = [
        pricecheck.check(section, offers[i] if offers else None) for i, section in enumerate(chosen)
    ]
    differ = any(r.differences for r in reports)
    if as_json:
        print_json({"ok": not differ, "sections": [r.to_json() for r in reports]})
        return 1 if differ else 0
    from rich.markup import escape
    from rich.table import Table

    for report in reports:
        console().print(
            f"{report.section}: {report.compared} prices compared with {escape(report.source)}"
        )
        if report.differences:
            table = Table("entry", "labrun", "AWS", "difference")
            for d in report.differences:
                table.add_row(d.entry, f"${d.table_usd:g}", f"${d.aws_usd:g}", f"{d.percent:+.1f}%")
            console().print(table)
        if report.missing:
            first = ", ".join(report.missing[:5]) + (", ..." if len(report.missing) > 5 else "")
            console().print(
                f"  {len(report.missing)} entries of the table are not in it: {first}", markup=False
            )
    console().print("the table matches AWS" if not differ else "prices differ: update prices.json")
    return 1 if differ else 0
