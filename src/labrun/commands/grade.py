"""`labrun grade [SESSION]`: the final grading of a finished lab, with reports as evidence."""

from __future__ import annotations

from pathlib import Path

import click

from labrun.commands import json_option, session_argument
from labrun.output import console, print_json


@click.command(short_help="Final grading: check, tear down, write reports (for CI).")
@session_argument
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("labrun-report"),
    show_default=True,
    metavar="DIR",
    help="Folder for report.json, report.xml (JUnit) and report.md (created if missing).",
)
@click.option("--keep", is_flag=True, help="Grade only: leave the session running (no teardown).")
@json_option
def grade(session: str | None, out_dir: Path, keep: bool, as_json: bool) -> int:
    """Grade a finished lab, tear it down, and write the reports: for CI jobs and teachers.

    Runs the checks (an attempt like `labrun check`), then `labrun stop` unless --keep,
    and writes into DIR: report.json (the grade and the teardown receipt), report.xml
    (JUnit, one testcase per task) and report.md (both, for people). It never asks
    anything. Exits 0 when every task passes and nothing of the session remains (with
    --keep: when every task passes), 1 otherwise.

    \b
    Examples:
      labrun grade                                # the only active session
      labrun grade k3v9q2mz --out artifacts/grade # in a CI job: keep the folder
      labrun grade --keep --json                  # grade now, keep working
    """
    from labrun import selection
    from labrun.grade import grade as final_grade
    from labrun.progress import terraform_progress
    from labrun.render import check_report, receipt
    from labrun.store import SessionStore

    store = SessionStore.open()
    chosen = selection.resolve(store, session)
    with terraform_progress(f"Tearing down {chosen.id}") as progress:
        result = final_grade(store, chosen, out_dir, keep=keep, progress=progress)
    if as_json:
        print_json({**result.to_json(), "files": [str(f) for f in result.files]})
        return 0 if result.ok else 1
    check_report(result.check)
    if result.receipt is None:
        console().print(f"Session {chosen.id} keeps running (--keep): `labrun stop` ends it.")
    else:
        receipt(result.receipt)
    console().print(f"Reports: {', '.join(str(f) for f in result.files)}", markup=False)
    return 0 if result.ok else 1
