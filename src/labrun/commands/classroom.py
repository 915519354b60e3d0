"""`labrun class report SOURCE`: one page for the instructor, from a whole class's reports."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import click

from labrun.commands import json_option
from labrun.output import console, err_console, print_json


@click.group(name="class", short_help="For instructors: the class report from handed-in grades.")
def class_group() -> None:
    """For instructors: what a class handed in with `labrun grade --upload URL`."""


@class_group.command(short_help="One HTML page (or --json) from every report under SOURCE.")
@click.argument("source", metavar="SOURCE")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("class-report.html"),
    show_default=True,
    metavar="FILE",
    help="Where to write the page (one self-contained file: open it in any browser).",
)
@json_option
def report(source: str, out_file: Path, as_json: bool) -> int:
    """Read every report under SOURCE and write one self-contained HTML page.

    SOURCE is where the learners uploaded with `labrun grade --upload`: s3://bucket/prefix
    (read with your own AWS settings) or a folder. The page shows a learners-by-labs table
    (score, status, time taken; each learner's latest session of a lab), per task the
    share of learners who passed it, every teardown receipt with the sessions that may
    have left something running flagged first, the estimated cost per learner and for the
    class, and the most common hints of failing tasks. Files that are not labrun reports
    are listed as skipped. --json prints the same figures as data (the page is written too).

    \b
    Examples:
      labrun class report s3://ml-course/2026-spring
      labrun class report /mnt/class-share/reports --out week3.html
      labrun class report s3://ml-course/2026-spring --json | jq .counts
    """
    from labrun.classreport import class_report
    from labrun.pages.classroom import class_page

    with _reading(source):
        data = class_report(source)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(class_page(data), encoding="utf-8")
    if as_json:
        print_json({**data, "out": str(out_file)})
        return 0
    counts = data["counts"]
    out = console()
    out.print(
        f"{counts['reports']} reports of {counts['learners']} learners in {counts['labs']} labs: "
        f"{counts['passed']} of {len(data['results'])} passed.",
        markup=False,
    )
    if counts["flagged_sessions"]:
        out.print(
            f"{counts['flagged_sessions']} sessions may have left something running "
            "(see the page's teardown receipts).",
            style="yellow",
            markup=False,
        )
    if counts["skipped"]:
        out.print(f"{counts['skipped']} files skipped (listed on the page).", markup=False)
    out.print(f"Class report: {out_file}", markup=False, soft_wrap=True)
    return 0


def _reading(source: str) -> AbstractContextManager[object]:
    """A spinner on a terminal while the reports are read (S3 takes a few seconds)."""
    if not sys.stderr.isatty():
        return nullcontext()
    return err_console().status(f"Reading the reports under {source}...")
