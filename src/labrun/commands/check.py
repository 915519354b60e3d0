"""`labrun check [SESSION]`: grade the learner's work."""

from __future__ import annotations

import click

from labrun.commands import json_option, session_argument
from labrun.output import print_json


@click.command()
@session_argument
@json_option
def check(session: str | None, as_json: bool) -> int:
    """Grade your work: each task with pass/fail, a message and a hint, then the score.

    Run it as often as you like; every attempt is recorded. Exits 0 when every task
    passes, 1 otherwise.
    """
    from labrun import grading, selection
    from labrun.render import check_report
    from labrun.store import SessionStore

    store = SessionStore.open()
    report = grading.check(store, selection.resolve(store, session))
    if as_json:
        print_json(report.to_json())
    else:
        check_report(report)
    return 0 if report.passed else 1
