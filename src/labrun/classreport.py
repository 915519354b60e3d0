"""The class report: every grade report under a location, aggregated for the instructor.

`class_report(url)` reads each ``report.json`` that `labrun grade --upload` put under an S3
prefix or a folder and returns the aggregates as one JSON-able document; `labrun class
report` prints it (--json) and renders it as a page (labrun.pages.classroom). It answers:

- who finished: one result per learner and lab (their latest graded session);
- which tasks people fail: per task, the share of learners who passed it, and the hints of
  failing tasks, most frequent first;
- whether anything was left running: every session's teardown receipt, flagged when it is
  not ok or the session was kept;
- what the class cost: the sessions' estimated cost, per learner and in total.

A file that is not a labrun report (or is corrupt) is listed under ``skipped`` with the reason;
it never stops the report.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from labrun.reports import percent, resource_name, seconds_between, verdict
from labrun.session import rfc3339, utcnow
from labrun.upload import location

REPORT_JSON = "report.json"
# What `labrun grade` writes beside report.json: read through it, never skipped.
SIBLINGS = ("report.xml", "report.md", "report.html")
TOP_HINTS = 10


@dataclass(frozen=True)
class Graded:
    """One report.json, read and checked: the fields the aggregates need."""

    key: str
    doc: dict[str, Any]

    @property
    def owner(self) -> str:
        return str(self.doc["owner"])

    @property
    def lab(self) -> str:
        return str(self.doc["lab"])

    @property
    def teardown(self) -> dict[str, Any] | None:
        receipt = self.doc.get("teardown")
        return receipt if isinstance(receipt, dict) else None

    @property
    def accrued_usd(self) -> float | None:
        cost = self.doc.get("cost")
        value = cost.get("accrued_usd") if isinstance(cost, dict) else None
        return float(value) if isinstance(value, int | float) else None

    @property
    def duration_seconds(self) -> int | None:
        seconds = self.doc.get("duration_seconds")
        return int(seconds) if isinstance(seconds, int | float) else None


def class_report(url: str) -> dict[str, Any]:
    """Read every report under ``url`` (s3://bucket/prefix or a folder); the aggregates."""
    where = location(url)
    wanted, skipped = [], []
    for key in where.files():
        name = key.rsplit("/", 1)[-1]
        if name == REPORT_JSON:
            wanted.append(key)
        elif name not in SIBLINGS:
            skipped.append({"file": key, "reason": "not a labrun grade report"})
    graded = []
    for key, content in where.read_many(wanted):
        parsed = _parse(key, content)
        if isinstance(parsed, Graded):
            graded.append(parsed)
        else:
            skipped.append({"file": key, "reason": parsed})
    skipped.sort(key=lambda s: s["file"])
    return aggregate(url, graded, skipped)


def _parse(key: str, content: bytes | Exception) -> Graded | str:
    """The report, or why it is skipped."""
    if isinstance(content, Exception):
        return f"unreadable: {content}"
    try:
        doc = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"not JSON: {exc}"
    problem = _shape_problem(doc)
    if problem:
        return f"not a labrun grade report: {problem}"
    if not doc.get("owner"):  # made by a labrun before reports named their owner
        parts = key.split("/")
        doc["owner"] = parts[-4] if len(parts) >= 4 else "unknown"
    return Graded(key, doc)


def _shape_problem(doc: Any) -> str:
    if not isinstance(doc, dict):
        return "not a JSON object"
    for name, kind in (("session", str), ("lab", str), ("tasks", list), ("total", int)):
        if not isinstance(doc.get(name), kind):
            return f"no {name!r}"
    if not isinstance(doc.get("score"), int | float):
        return "no 'score'"
    for task in doc["tasks"]:
        if not isinstance(task, dict) or not all(
            isinstance(task.get(k), str) for k in ("id", "status")
        ):
            return "a task without 'id' and 'status'"
    if not isinstance(doc.get("owner", ""), str):
        return "an 'owner' that is not a string"
    teardown = doc.get("teardown")
    if teardown is not None and not (
        isinstance(teardown, dict)
        and all(isinstance(teardown.get(k, []), list) for k in ("remaining", "errors"))
    ):
        return "a malformed 'teardown'"
    return ""


def aggregate(url: str, graded: list[Graded], skipped: list[dict[str, str]]) -> dict[str, Any]:
    """The class report's document from the reports read (see the module's docstring)."""
    latest = _latest_per_learner_and_lab(graded)
    sessions = Counter((g.owner, g.lab) for g in graded)
    results = [_result(g, sessions[(g.owner, g.lab)]) for g in latest]
    teardowns = sorted((_teardown(g) for g in graded), key=_flagged_first)
    left_running = sum(1 for t in teardowns if t["flagged"])
    return {
        "source": url,
        "generated_at": rfc3339(utcnow()),
        "counts": {
            "reports": len(graded),
            "learners": len({g.owner for g in graded}),
            "labs": len({g.lab for g in graded}),
            "passed": sum(1 for r in results if r["passed"]),
            "flagged_sessions": left_running,
            "skipped": len(skipped),
        },
        "learners": sorted({g.owner for g in graded}),
        "labs": sorted({g.lab for g in graded}),
        "results": results,
        "tasks": _task_pass_rates(latest),
        "teardowns": teardowns,
        "cost": _costs(graded),
        "failing_hints": _failing_hints(latest),
        "skipped": skipped,
    }


def _latest_per_learner_and_lab(graded: list[Graded]) -> list[Graded]:
    """Each learner's latest graded session of each lab: the one that counts."""
    latest: dict[tuple[str, str], Graded] = {}
    for g in sorted(graded, key=lambda g: (str(g.doc.get("graded_at", "")), g.key)):
        latest[(g.owner, g.lab)] = g
    return [latest[k] for k in sorted(latest)]


def _result(g: Graded, sessions: int) -> dict[str, Any]:
    doc = g.doc
    total = doc["total"]
    return {
        "owner": g.owner,
        "lab": g.lab,
        "session": doc["session"],
        "score": doc["score"],
        "total": total,
        "percent": percent(doc["score"], total),
        "passed": bool(doc.get("passed")),
        "status": verdict(doc),
        "graded_at": doc.get("graded_at"),
        "duration_seconds": g.duration_seconds
        if g.duration_seconds is not None
        else seconds_between(doc.get("started_at"), doc.get("graded_at")),
        "sessions": sessions,
        "file": g.key,
    }


def _task_pass_rates(latest: list[Graded]) -> list[dict[str, Any]]:
    """Per lab and task (in the lab's order), how many learners passed it, of how many."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for g in latest:
        for task in g.doc["tasks"]:
            row = seen.setdefault(
                (g.lab, task["id"]),
                {"lab": g.lab, "task": task["id"], "title": task.get("title", ""),
                 "learners": 0, "passed": 0},
            )  # fmt: skip
            row["learners"] += 1
            row["passed"] += task["status"] == "pass"
    rows = sorted(seen.values(), key=lambda r: r["lab"])  # stable: each lab keeps its order
    for row in rows:
        row["share"] = round(row["passed"] / row["learners"], 4)
    return rows


def _teardown(g: Graded) -> dict[str, Any]:
    receipt = g.teardown
    row: dict[str, Any] = {"owner": g.owner, "lab": g.lab, "session": g.doc["session"]}
    if receipt is None:  # graded with --keep: it may still be running
        return {**row, "ok": None, "kept": True, "flagged": True, "remaining": [], "errors": [],
                "finished_at": None}  # fmt: skip
    ok = bool(receipt.get("ok"))
    found = receipt.get("remaining", [])
    return {
        **row,
        "ok": ok,
        "kept": False,
        "flagged": not ok,
        "remaining": [resource_name(r) if isinstance(r, dict) else str(r) for r in found],
        "errors": [str(e) for e in receipt.get("errors", [])],
        "finished_at": receipt.get("finished_at"),
    }


def _flagged_first(row: dict[str, Any]) -> tuple[bool, str, str, str]:
    return (not row["flagged"], row["owner"], row["lab"], row["session"])


def _costs(graded: list[Graded]) -> dict[str, Any]:
    """Every session's estimated cost (all of them ran, not only the latest), per learner."""
    per: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"accrued_usd": 0.0, "sessions": 0, "unpriced_sessions": 0}
    )
    for g in graded:
        row = per[g.owner]
        row["sessions"] += 1
        if g.accrued_usd is None:
            row["unpriced_sessions"] += 1
        else:
            row["accrued_usd"] += g.accrued_usd
    learners = [
        {"owner": owner, **row, "accrued_usd": round(row["accrued_usd"], 6)}
        for owner, row in sorted(per.items())
    ]
    return {
        "currency": "USD",
        "estimate": "each session's hourly estimate (priced at start) times the time it lived",
        "per_learner": learners,
        "class_usd": round(sum(r["accrued_usd"] for r in learners), 6),
        "unpriced_sessions": sum(r["unpriced_sessions"] for r in learners),
    }


def _failing_hints(latest: list[Graded]) -> list[dict[str, Any]]:
    """The hints shown on failing (or partial) tasks, by how many learners saw each."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for g in latest:
        for task in g.doc["tasks"]:
            hint = task.get("hint")
            if task["status"] in ("fail", "partial") and isinstance(hint, str) and hint:
                counts[(g.lab, task["id"], hint)] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_HINTS]
    return [
        {"lab": lab, "task": task, "hint": hint, "learners": n} for (lab, task, hint), n in ranked
    ]
