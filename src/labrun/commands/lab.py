"""`labrun lab ...`: tools for lab authors (`lab test`, `lab new`).

Each subcommand is a plain click command registered on the group at the bottom of this
module: adding one (say `lab lint`) is a function and one entry in that tuple.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from labrun.commands import json_option, labs_dir_option
from labrun.commands.lab_lint import lint as lab_lint
from labrun.output import console, print_json

if TYPE_CHECKING:
    from labrun.labtest import LabTest, Step

STEP_MARK = {"ok": "[green]ok[/]", "failed": "[red bold]FAILED[/]", "skipped": "[dim]skipped[/]"}


@click.group(short_help="Tools for lab authors: `lab new`, `lab test`.")
def lab() -> None:
    """Tools for lab authors: scaffold a new lab, test a lab before publishing it.

    \b
    Examples:
      labrun lab new my-lab --dir mylabs   # a complete lab to start from
      labrun lab test mylabs/my-lab        # prove its checker and its solution
    """


@click.command(
    "test", short_help="Prove a lab: its checker fails untouched work, passes the solution."
)
@click.argument("lab_name", metavar="LAB")
@click.option(
    "--solution-timeout",
    metavar="DURATION",
    default="10m",
    show_default=True,
    help="How long the reference solution may run, e.g. 90s or 5m.",
)
@labs_dir_option
@json_option
def lab_test(lab_name: str, solution_timeout: str, labs_dir: Path | None, as_json: bool) -> int:
    """Test LAB before publishing it: its checker must fail untouched work and pass the
    reference solution, and its teardown must leave nothing.

    LAB is a lab id, or the path of a lab folder. Five steps, each reported: start a
    session; check the untouched workspace (every task with points must fail: one that
    passes is a broken checker, named); run solution/solve.sh (bash) or solution/solve.py
    in the workspace with the session's environment; check again (100% required); stop
    (nothing may remain). The session is stopped whichever step fails. Exits 0 when all
    five are ok, 1 otherwise.

    \b
    Examples:
      labrun lab test mylabs/my-lab
      labrun lab test s3-hello --labs-dir tests/labs --json
      labrun lab test my-lab --solution-timeout 15m
    """
    from labrun import labtest
    from labrun.durations import parse_duration
    from labrun.errors import BadInput
    from labrun.progress import terraform_progress
    from labrun.store import SessionStore

    try:
        timeout = parse_duration(solution_timeout).total_seconds()
    except ValueError as exc:
        raise BadInput(f"--solution-timeout: {exc}") from None
    found = labtest.find(lab_name, labs_dir)
    labtest.solution_script(found)  # a lab without one is refused before anything starts
    store = SessionStore.open()
    if not as_json:
        console().print(f"Testing lab {found.id} ({found.path})", markup=False)
    with terraform_progress(f"Testing {found.id}") as progress:
        result = labtest.run(
            store,
            found,
            solution_timeout=timeout,
            on_step=None if as_json else _print_step,
            progress=progress,
        )
    if as_json:
        print_json(result.to_json())
    else:
        _print_verdict(result)
    return 0 if result.ok else 1


def _print_step(step: Step) -> None:
    from rich.markup import escape

    line = f"  {step.name:<10} {STEP_MARK[step.status]}  {escape(step.message)}"
    console().print(line, soft_wrap=True)


def _print_verdict(result: LabTest) -> None:
    if result.ok:
        console().print(f"[green bold]Lab {result.lab} is ready to publish.[/]")
        return
    failed = ", ".join(s.name for s in result.steps if s.status == "failed")
    console().print(f"Lab {result.lab} failed its test: {failed}", style="red bold", markup=False)


@click.command("new", short_help="Create a complete new lab, ready for `labrun lab test`.")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    metavar="DIR",
    help="Create the lab folder NAME inside DIR.",
)
@json_option
def lab_new(name: str, parent: Path, as_json: bool) -> int:
    """Create a new lab NAME, complete and passing `labrun lab test` as generated.

    NAME is the lab id: lowercase letters, digits and '-'. The folder holds lab.toml,
    README.md (the learner's instructions), terraform/main.tf (Terraform's builtin
    terraform_data, the labrun variables and marks), check.py (one task), files/ (starter
    files for the workspace) and solution/solve.sh (the reference solution).

    \b
    Examples:
      labrun lab new my-lab                 # ./my-lab
      labrun lab new my-lab --dir mylabs    # mylabs/my-lab
    """
    from labrun.scaffold import new_lab

    files = new_lab(name, parent)
    lab_dir = parent / name
    if as_json:
        print_json({"lab": name, "path": str(lab_dir), "files": [str(f) for f in files]})
        return 0
    console().print(f"Created lab {name} in {lab_dir}:", markup=False)
    for path in files:
        console().print(f"  {path.relative_to(lab_dir)}", markup=False)
    console().print(
        "\nNext: make it yours (docs/lab-format.md, docs/checks.md), test it before "
        f"publishing, and take it as a learner would:\n  labrun lab test {lab_dir}\n"
        f"  labrun start {name} --labs-dir {parent}",
        soft_wrap=True,
        markup=False,
    )
    return 0


for command in (lab_test, lab_new, lab_lint):
    lab.add_command(command)
