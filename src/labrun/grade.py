"""The final grading of a session: check, tear down, and write the reports as evidence.

`labrun grade` is what a CI job runs on a learner's finished lab. It never asks anything:
it checks the session, tears it down (unless told to keep it) and writes three files into
one folder:

- ``report.json``: the grade (the shape of `labrun check --json`) plus who, when, what it
  cost and the teardown receipt: what `labrun class report` aggregates;
- ``report.xml``: the grade as JUnit XML (see labrun.reports for the mapping);
- ``report.md``: the grade and the receipt for people;
- ``report.html``: the same, as a self-contained page (the class report's look).

The session is torn down even when the check itself cannot run: do not leave resources
running, also in CI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labrun import grading, reports, teardown
from labrun.errors import LabrunError
from labrun.meter import Meter, meter
from labrun.pages.grade import grade_page
from labrun.session import Session, rfc3339, utcnow
from labrun.store import SessionStore
from labrun.tfengine import ProgressCallback

REPORT_FILES = ("report.json", "report.xml", "report.md", "report.html")


@dataclass
class Grade:
    """One final grading: the check, the teardown receipt (None with --keep), the files."""

    lab: str
    graded_at: str
    check: grading.CheckReport
    receipt: teardown.Receipt | None
    owner: str = ""
    target: str = ""
    started_at: str = ""
    cost: Meter | None = None  # the session's meter when graded (after its teardown)
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every task passes and, unless the session was kept, nothing of it remains."""
        return self.check.passed and (self.receipt is None or self.receipt.ok)

    def to_json(self) -> dict[str, Any]:
        """The content of report.json (what `labrun grade --json` prints, plus the files)."""
        return {
            **self.check.to_json(),
            "lab": self.lab,
            "owner": self.owner,
            "target": self.target,
            "started_at": self.started_at,
            "graded_at": self.graded_at,
            "duration_seconds": reports.seconds_between(self.started_at, self.graded_at),
            "cost": None if self.cost is None else self.cost.to_json(),
            "percent": reports.percent(self.check.score, self.check.total),
            "passed": self.check.passed,
            "kept": self.receipt is None,
            "teardown": None if self.receipt is None else self.receipt.to_json(),
            "ok": self.ok,
        }


def grade(
    store: SessionStore,
    session: Session,
    out_dir: Path,
    *,
    keep: bool = False,
    progress: ProgressCallback | None = None,
) -> Grade:
    """Check ``session``, tear it down unless ``keep``, write the reports into ``out_dir``."""
    graded_at = rfc3339(utcnow())
    try:
        check = grading.check(store, session)
    except BaseException:
        if not keep:
            _stop_anyway(store, session, progress)
        raise
    receipt = None if keep else teardown.stop(store, session, progress)
    result = Grade(
        session.lab,
        graded_at,
        check,
        receipt,
        owner=session.owner,
        target=session.target,
        started_at=rfc3339(session.created_at),
        cost=meter(store, store.get(session.id)),
    )
    result.files = write_reports(result, out_dir)
    return result


def _stop_anyway(store: SessionStore, session: Session, progress: ProgressCallback | None) -> None:
    """The check could not run: still tear down a live session; the check's error is the
    one to report, so a teardown error is only journaled (the session stays listed)."""
    try:
        if store.get(session.id).is_live:
            teardown.stop(store, session, progress)
    except LabrunError as exc:
        store.journal(session.id, "grade-teardown-failed", {"error": str(exc)})


def write_reports(result: Grade, out_dir: Path) -> list[Path]:
    """Write report.json, report.xml, report.md and report.html into ``out_dir``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, xml_path, md_path, html_path = (out_dir / name for name in REPORT_FILES)
    document = result.to_json()
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    reports.write_junit(result.check, result.lab, xml_path, result.graded_at)
    md_path.write_text(
        reports.markdown(result.check, result.lab, result.receipt, result.graded_at),
        encoding="utf-8",
    )
    html_path.write_text(grade_page(document), encoding="utf-8")
    return [json_path, xml_path, md_path, html_path]
