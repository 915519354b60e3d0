"""The class report's page: the aggregates of labrun.classreport, for an instructor."""

from __future__ import annotations

from typing import Any

from labrun.pages import (
    badge,
    bar_chart,
    document,
    duration,
    esc,
    figures,
    money,
    section,
    table,
)
from labrun.reports import number


def class_page(data: dict[str, Any]) -> str:
    """The page of one class_report document."""
    counts = data["counts"]
    subtitle = (
        f"{counts['reports']} reports from {data['source']}, generated {data['generated_at']}"
    )
    body = [
        section("Summary", _summary(data)),
        section("Learners and labs", _matrix(data), "results"),
        section("Share of learners who passed each task", _charts(data), "tasks"),
        section("Teardown receipts", _teardowns(data["teardowns"]), "teardowns"),
        section("Estimated cost", _costs(data["cost"]), "cost"),
        section("Most common failing hints", _hints(data["failing_hints"]), "hints"),
        section("Skipped files", _skipped(data["skipped"]), "skipped"),
    ]
    return document("Class report", subtitle, body)


def _summary(data: dict[str, Any]) -> str:
    counts = data["counts"]
    shown = [
        ("learners", str(counts["learners"])),
        ("labs", str(counts["labs"])),
        ("passed", f"{counts['passed']} of {len(data['results'])}"),
        ("left running or kept", str(counts["flagged_sessions"])),
        ("class cost (est.)", money(data["cost"]["class_usd"])),
    ]
    return figures(shown)


def _matrix(data: dict[str, Any]) -> str:
    """One row per learner, one column per lab: the latest graded session of each."""
    if not data["results"]:
        return '<p class="muted">No grade report was found.</p>'
    cells = {(r["owner"], r["lab"]): r for r in data["results"]}
    rows = []
    for owner in data["learners"]:
        row = [esc(owner)]
        for lab in data["labs"]:
            result = cells.get((owner, lab))
            row.append(_cell(result) if result else '<span class="muted">-</span>')
        rows.append(row)
    note = (
        '<p class="note">Each cell: the learner\'s latest graded session of the lab, its '
        "score, status and the time from start to grade.</p>"
    )
    return table(["learner", *data["labs"]], rows, ident="results-table") + note


def _cell(result: dict[str, Any]) -> str:
    score = f"{number(result['score'])}/{result['total']}"
    more = f" · {result['sessions']} sessions" if result["sessions"] > 1 else ""
    return (
        f'<span class="result" data-owner="{esc(result["owner"])}" '
        f'data-lab="{esc(result["lab"])}" data-score="{esc(score)}" '
        f'data-status="{esc(result["status"])}">'
        f"{badge(result['status'])} {esc(score)} ({result['percent']:.0f}%)<br>"
        f'<span class="muted">{esc(duration(result["duration_seconds"]))}{esc(more)}</span>'
        "</span>"
    )


def _charts(data: dict[str, Any]) -> str:
    if not data["tasks"]:
        return '<p class="muted">No tasks.</p>'
    parts = []
    for lab in data["labs"]:
        bars = [
            (t["task"], t["share"], f"{t['passed']}/{t['learners']} ({100 * t['share']:.0f}%)")
            for t in data["tasks"]
            if t["lab"] == lab
        ]
        parts.append(f"<h3>{esc(lab)}</h3>{bar_chart(bars, ident=f'chart-{lab}')}")
    return "".join(parts)


def _teardowns(rows: list[dict[str, Any]]) -> str:
    flagged = [r for r in rows if r["flagged"]]
    fine = [r for r in rows if not r["flagged"]]
    headers = ("learner", "lab", "session", "receipt", "still there", "errors", "finished at")
    if flagged:
        lead = (
            f"<p>{badge('left-running', f'{len(flagged)} flagged')} These sessions' teardown "
            "did not prove that nothing remains (or they were graded with <code>--keep</code>): "
            "something may still be running.</p>"
        )
        lead += table(headers, [_receipt_row(r) for r in flagged], flagged=[True] * len(flagged),
                      ident="flagged-table")  # fmt: skip
    else:
        lead = f"<p>{badge('ok')} Every session's teardown proved that nothing of it remains.</p>"
    if fine:
        lead += (
            f"<details><summary>{len(fine)} sessions torn down cleanly</summary>"
            f"{table(headers, [_receipt_row(r) for r in fine])}</details>"
        )
    return lead


def _receipt_row(row: dict[str, Any]) -> list[str]:
    receipt = badge("kept") if row["kept"] else badge("ok" if row["ok"] else "left-running")
    return [
        esc(row["owner"]),
        esc(row["lab"]),
        f"<code>{esc(row['session'])}</code>",
        receipt,
        esc(", ".join(row["remaining"])) or "-",
        esc("; ".join(row["errors"])) or "-",
        esc(row["finished_at"] or "-"),
    ]


def _costs(cost: dict[str, Any]) -> str:
    rows = [
        [esc(r["owner"]), str(r["sessions"]), money(r["accrued_usd"]),
         str(r["unpriced_sessions"]) if r["unpriced_sessions"] else "-"]
        for r in cost["per_learner"]
    ]  # fmt: skip
    rows.append(["<strong>class</strong>", str(sum(r["sessions"] for r in cost["per_learner"])),
                 f"<strong>{money(cost['class_usd'])}</strong>",
                 str(cost["unpriced_sessions"] or "-")])  # fmt: skip
    headers = ("learner", "sessions", "estimated cost", "unpriced sessions")
    return table(headers, rows, numeric=[1, 2, 3]) + f'<p class="note">{esc(cost["estimate"])}.</p>'


def _hints(hints: list[dict[str, Any]]) -> str:
    if not hints:
        return '<p class="muted">No failing task showed a hint.</p>'
    rows = [
        [str(h["learners"]), esc(h["lab"]), f"<code>{esc(h['task'])}</code>", esc(h["hint"])]
        for h in hints
    ]
    return table(("learners", "lab", "task", "hint"), rows, numeric=[0])


def _skipped(skipped: list[dict[str, str]]) -> str:
    if not skipped:
        return '<p class="muted">None: every file was a labrun report.</p>'
    rows = [[f"<code>{esc(s['file'])}</code>", esc(s["reason"])] for s in skipped]
    return table(("file", "reason"), rows, ident="skipped-table")
