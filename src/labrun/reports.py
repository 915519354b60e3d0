"""Grade reports in files: JUnit XML for CI systems and LMS importers, Markdown for people.

Both are written from one CheckReport, with the same numbers as `labrun check` prints:
the score is CheckReport.score (rounded to 2 decimals) and every number is written with
``format(value, "g")``, as the table writes it.

JUnit mapping, one <testcase> per task (classname: the lab id, name: the task id):

- pass: a plain testcase;
- partial and fail: <failure type="partial|fail">. Not all the points: a CI job that
  requires every test to pass fails, as `labrun check` exits 1;
- error: <error type="error">. The check crashed, hung or is missing: not a verdict on
  the learner's work;
- blocked: <skipped message="blocked: ...">. Not run; its prerequisite's own failure
  already fails the suite, and counting it again would report one mistake twice.

Each testcase carries <properties> status, points, earned and title; the testsuite carries
session, lab, score, total and percent.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from labrun.checker import TaskResult
    from labrun.grading import CheckReport
    from labrun.teardown import Receipt

STATUSES = ("pass", "partial", "fail", "blocked", "error")
JUNIT_CHILD = {"partial": "failure", "fail": "failure", "error": "error", "blocked": "skipped"}


def number(value: float) -> str:
    """A number as every labrun report writes it: 2, 0.5, 2.66667 (as the table does)."""
    return f"{value:g}"


def percent(score: float, total: int) -> float:
    """The score as a percentage of the total (100 when there is nothing to earn)."""
    return round(100 * score / total, 2) if total else 100.0


def verdict(report: dict[str, Any]) -> str:
    """A report.json document's one word: passed, incomplete, or left-running (its teardown
    receipt is not ok, so something of the session may still be running)."""
    teardown = report.get("teardown")
    if isinstance(teardown, dict) and not teardown.get("ok", False):
        return "left-running"
    return "passed" if report.get("passed") else "incomplete"


def seconds_between(start: object, end: object) -> int | None:
    """Whole seconds between two RFC 3339 times; None when either is missing or malformed."""
    from labrun.session import parse_rfc3339

    try:
        return int((parse_rfc3339(str(end)) - parse_rfc3339(str(start))).total_seconds())
    except ValueError:
        return None


def score_text(score: float, total: int) -> str:
    """``4/10 (40%)``: the score line of the table, the Markdown and the JUnit suite."""
    return f"{number(score)}/{total} ({percent(score, total):.0f}%)"


# --- JUnit XML -----------------------------------------------------------------------------


def junit_xml(report: CheckReport, lab: str, timestamp: str = "") -> str:
    """The report as a JUnit XML document (``timestamp``: RFC 3339, optional)."""
    counts = _junit_counts(report.tasks)
    root = ET.Element("testsuites", {"name": "labrun", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": lab, **counts})
    if timestamp:
        suite.set("timestamp", timestamp.removesuffix("Z"))  # JUnit's xs:dateTime, UTC
    _properties(
        suite,
        session=report.session,
        lab=lab,
        score=number(report.score),
        total=str(report.total),
        percent=number(percent(report.score, report.total)),
    )
    for task in report.tasks:
        _testcase(suite, lab, task)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(report: CheckReport, lab: str, path: Path, timestamp: str = "") -> None:
    """Write :func:`junit_xml` to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(report, lab, timestamp), encoding="utf-8")


def _junit_counts(tasks: list[TaskResult]) -> dict[str, str]:
    kinds = [JUNIT_CHILD.get(t.status) for t in tasks]
    return {
        "tests": str(len(tasks)),
        "failures": str(kinds.count("failure")),
        "errors": str(kinds.count("error")),
        "skipped": str(kinds.count("skipped")),
    }


def _testcase(suite: ET.Element, lab: str, task: TaskResult) -> None:
    case = ET.SubElement(suite, "testcase", name=task.id, classname=lab)
    _properties(
        case,
        title=task.title,
        status=task.status,
        points=str(task.points),
        earned=number(task.earned),
    )
    kind = JUNIT_CHILD.get(task.status)
    if kind is None:
        return
    outcome = ET.SubElement(case, kind, message=task.message or task.status)
    if kind != "skipped":
        outcome.set("type", task.status)
        outcome.text = _junit_text(task)


def _junit_text(task: TaskResult) -> str:
    lines = [f"{task.status}: {number(task.earned)}/{task.points} points"]
    if task.message:
        lines.append(task.message)
    if task.hint:
        lines.append(f"hint: {task.hint}")
    return "\n".join(lines)


def _properties(parent: ET.Element, **values: str) -> None:
    properties = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=value)


# --- Markdown ------------------------------------------------------------------------------


def markdown(report: CheckReport, lab: str, receipt: Receipt | None, graded_at: str = "") -> str:
    """A grade report for people: the score, the tasks, and the teardown as evidence.

    ``receipt`` is None when the session was kept running (``labrun grade --keep``).
    """
    when = f" on {graded_at}" if graded_at else ""
    lines = [
        f"# Grade of session {report.session} ({lab})",
        "",
        f"**Score: {score_text(report.score, report.total)}**, graded{when}.",
        "",
        "| task | status | points | message | hint |",
        "|---|---|---|---|---|",
    ]
    for t in report.tasks:
        cells = (t.id, t.status, f"{number(t.earned)}/{t.points}", t.message, t.hint)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", "## Teardown", "", *_teardown_lines(report.session, receipt)]
    return "\n".join(lines) + "\n"


def _teardown_lines(session: str, receipt: Receipt | None) -> list[str]:
    if receipt is None:
        return [
            f"The session was kept running (`--keep`): stop it with `labrun stop {session}`.",
        ]
    verdict = (
        "**Nothing of this session remains.**"
        if receipt.ok
        else "**Not everything was removed: the session is still listed.**"
    )
    return [
        verdict,
        "",
        f"- destroyed by Terraform: {_names(receipt.destroyed)}",
        f"- removed by the sweep: {_names(resource_name(r) for r in receipt.swept)}",
        f"- still there: {_names(resource_name(r) for r in receipt.remaining)}",
        f"- created without labrun's mark (not touched): "
        f"{_names(resource_name(r) for r in receipt.unowned)}",
        f"- errors: {_names(receipt.errors)}",
        f"- places checked: {_names(receipt.checked)}",
        f"- finished at: {receipt.finished_at}",
    ]


def resource_name(resource: dict[str, Any]) -> str:
    """ "bucket my-data": how reports name a resource of a receipt."""
    return f"{resource.get('kind')} {resource.get('name') or resource.get('id')}"


def _names(items: Iterable[str]) -> str:
    shown = [f"`{_cell(i)}`" for i in items]
    return ", ".join(shown) if shown else "none"


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


# --- history -------------------------------------------------------------------------------


def history(session: str, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """`labrun check --history --json`: the session's attempts, oldest first, numbered from 1.

    ``attempts`` is what SessionStore.attempts returns.
    """
    return {
        "session": session,
        "attempts": [_attempt(n, a) for n, a in enumerate(attempts, start=1)],
    }


def _attempt(index: int, attempt: dict[str, Any]) -> dict[str, Any]:
    tasks = attempt["report"].get("tasks", [])
    statuses = [t["status"] for t in tasks]
    return {
        "attempt": index,
        "at": attempt["at"],
        "score": attempt["score"],
        "total": attempt["total"],
        "percent": percent(attempt["score"], attempt["total"]),
        "passed": all(s == "pass" for s in statuses),
        "statuses": {s: statuses.count(s) for s in STATUSES if s in statuses},
        "tasks": tasks,
    }
