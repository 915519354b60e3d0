"""`labrun lab lint LAB`: the static checks of a lab, before any session of it."""

from __future__ import annotations

from pathlib import Path

import click

from labrun.commands import json_option, labs_dir_option
from labrun.output import console, print_json

LEVEL_STYLE = {"error": "red bold", "warning": "yellow"}


@click.command("lint", short_help="Check a lab statically: manifest, files, Terraform, variables.")
@click.argument("lab_name", metavar="LAB")
@labs_dir_option
@json_option
def lint(lab_name: str, labs_dir: Path | None, as_json: bool) -> int:
    """Check LAB without a cloud and without creating anything.

    LAB is the path of a lab folder, or a lab id on the search path. The checks: lab.toml
    follows the lab format; README.md, terraform/ and check.py are there; check.py is
    Python with a check function for every task; the Terraform module parses (no
    provider needed); the labrun_* variables it declares are ones labrun sets, are used,
    and every other variable has a default; AWS resources use var.labrun_tags (Docker
    labs var.labrun_labels); a lab that runs on AWS has a budget_usd.

    Exits 0 when there is no error (warnings allowed), 1 otherwise.

    \b
    Examples:
      labrun lab lint mylabs/my-lab
      labrun lab lint s3-hello --labs-dir tests/labs --json
    """
    from labrun.lint import lint as run_lint
    from labrun.lint import locate

    report = run_lint(locate(lab_name, labs_dir))
    if as_json:
        print_json(report.to_json())
        return 0 if report.ok else 1
    from rich.text import Text

    from labrun.render import plural, say

    for finding in report.findings:
        line = Text(finding.level, style=LEVEL_STYLE[finding.level])
        console().print(line.append(f" {finding.check}: {finding.message}"), soft_wrap=True)
    errors = sum(f.level == "error" for f in report.findings)
    warnings = plural(len(report.findings) - errors, "warning")
    if report.ok:
        say(f"{report.path.name}: no errors, {warnings}", "green bold")
    else:
        say(f"{report.path.name}: {plural(errors, 'error')}, {warnings}", "red bold")
    return 0 if report.ok else 1
