"""`labrun check [SESSION]`: grade the learner's work (or list the earlier attempts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from labrun.commands import json_option, session_argument
from labrun.output import console, print_json


@click.command()
@session_argument
@click.option(
    "--junit",
    "junit_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Also write the result as JUnit XML to FILE (one testcase per task), for CI.",
)
@click.option(
    "--history", is_flag=True, help="List the session's earlier attempts instead of checking."
)
@json_option
def check(session: str | None, junit_file: Path | None, history: bool, as_json: bool) -> int:
    """Grade your work: each task with its status, points, message and hint, then the score.

    Statuses: pass (all points), partial (a share of them), fail, blocked (a task it
    needs did not pass; not run) and error (the check crashed, hung or is missing).
    Run it as often as you like; every attempt is recorded, and --history lists them.
    A failing task shows its first hint; `labrun hint TASK` reveals the next ones.
    Exits 0 when every task passes, 1 otherwise. SESSION may be left out: labrun takes
    LABRUN_SESSION, else the session whose workspace you are in, else the only active one.

    \b
    Examples:
      labrun check                          # the session you are in, or the only one
      labrun check k3v9q2mz --json          # one JSON document, for scripts
      labrun check --junit results.xml      # also a JUnit file for CI
      labrun check --history                # earlier attempts and their scores
    """
    from labrun import selection
    from labrun.errors import BadInput
    from labrun.store import SessionStore

    store = SessionStore.open()
    chosen = selection.resolve(store, session)
    if history:
        if junit_file is not None:
            raise BadInput("--history lists earlier attempts: it cannot write --junit")
        return _history(store.attempts(chosen.id), chosen.id, as_json)
    from labrun import grading, reports
    from labrun.render import check_report
    from labrun.session import rfc3339, utcnow

    report = grading.check(store, chosen)
    if junit_file is not None:
        reports.write_junit(report, chosen.lab, junit_file, rfc3339(utcnow()))
    if as_json:
        print_json(report.to_json())
    else:
        check_report(report)
        if junit_file is not None:
            console().print(f"JUnit report: {junit_file}", markup=False)
    return 0 if report.passed else 1


def _history(attempts: list[dict[str, Any]], session: str, as_json: bool) -> int:
    from labrun.reports import history, number, score_text

    document = history(session, attempts)
    if as_json:
        print_json(document)
        return 0
    if not attempts:
        console().print(f"Session {session} has not been checked yet: run `labrun check`.")
        return 0
    from rich.table import Table

    table = Table(title=f"Attempts of session {session}", title_justify="left")
    for column in ("#", "at", "score", "tasks"):
        table.add_column(column)
    for a in document["attempts"]:
        statuses = ", ".join(f"{n} {status}" for status, n in a["statuses"].items())
        table.add_row(str(a["attempt"]), a["at"], score_text(a["score"], a["total"]), statuses)
    console().print(table)
    best = max(document["attempts"], key=lambda a: a["score"])
    console().print(f"Best: attempt {best['attempt']}, {number(best['score'])}/{best['total']}.")
    return 0
