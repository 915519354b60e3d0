"""`labrun grade [SESSION]`: the final grading of a finished lab, with reports as evidence."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from labrun.commands import json_option, session_argument
from labrun.output import console, err_console, print_json

if TYPE_CHECKING:
    from labrun.grade import Grade


@click.command(short_help="Final grading: check, tear down, write reports (for CI).")
@session_argument
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("labrun-report"),
    show_default=True,
    metavar="DIR",
    help="Folder for report.json, report.xml (JUnit), report.md and report.html (created "
    "if missing).",
)
@click.option("--keep", is_flag=True, help="Grade only: leave the session running (no teardown).")
@click.option(
    "--upload",
    "upload_url",
    metavar="URL",
    help="Also put the reports under URL/<owner>/<lab>/<session>/: s3://bucket/prefix "
    "(your own AWS settings) or a folder, e.g. a class's shared drive.",
)
@json_option
def grade(
    session: str | None, out_dir: Path, keep: bool, upload_url: str | None, as_json: bool
) -> int:
    """Grade a finished lab, tear it down, and write the reports: for CI jobs and teachers.

    Runs the checks (an attempt like `labrun check`), then `labrun stop` unless --keep,
    and writes into DIR: report.json (the grade and the teardown receipt), report.xml
    (JUnit, one testcase per task), report.md and report.html (both, for people). It never
    asks anything. Exits 0 when every task passes and nothing of the session remains (with
    --keep: when every task passes), 1 otherwise. SESSION may be left out: labrun takes
    LABRUN_SESSION, else the session whose workspace you are in, else the only active one.

    With --upload, the four reports also go to URL/<owner>/<lab>/<session>/, where
    `labrun class report URL` collects a whole class. A failed upload keeps the local
    reports, says so in one line, and does not change the exit code.

    \b
    Examples:
      labrun grade                                # the session you are in, or the only one
      labrun grade k3v9q2mz --out artifacts/grade # in a CI job: keep the folder
      labrun grade --keep --json                  # grade now, keep working
      labrun grade --upload s3://ml-course/2026-spring   # hand in to the class's bucket
      labrun grade --upload /mnt/class-share/reports     # or to a shared folder
    """
    from labrun import selection, upload
    from labrun.grade import grade as final_grade
    from labrun.progress import terraform_progress
    from labrun.render import check_report, receipt
    from labrun.store import SessionStore

    if upload_url is not None:
        upload.location(upload_url)  # a malformed URL is refused before anything is graded
    store = SessionStore.open()
    chosen = selection.resolve(store, session)
    with terraform_progress(f"Tearing down {chosen.id}") as progress:
        result = final_grade(store, chosen, out_dir, keep=keep, progress=progress)
    uploaded = None if upload_url is None else _upload(result, upload_url, out_dir)
    if as_json:
        files = {"files": [str(f) for f in result.files]}
        print_json({**result.to_json(), **files, **({} if uploaded is None else uploaded)})
        return 0 if result.ok else 1
    check_report(result.check)
    if result.receipt is None:
        console().print(f"Session {chosen.id} keeps running (--keep): `labrun stop` ends it.")
    else:
        receipt(result.receipt)
    console().print(
        f"Reports: {', '.join(str(f) for f in result.files)}", markup=False, soft_wrap=True
    )
    if uploaded is not None and uploaded["upload"]["ok"]:
        console().print(f"Uploaded to {uploaded['upload']['url']}", markup=False, soft_wrap=True)
    return 0 if result.ok else 1


def _upload(result: Grade, url: str, out_dir: Path) -> dict[str, Any]:
    """Upload the reports; a failure is one line on stderr, and the grade stands."""
    from labrun import upload

    try:
        where = upload.upload(result.files, url, result.owner, result.lab, result.check.session)
    except upload.LocationError as exc:
        err_console().print(
            f"labrun: upload failed, the reports stay in {out_dir}: {exc}",
            markup=False,
            soft_wrap=True,
        )
        return {"upload": {"url": url, "ok": False, "error": str(exc)}}
    return {"upload": {"url": where, "ok": True, "error": None}}
