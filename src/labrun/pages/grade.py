"""report.html: one session's grade and teardown receipt, as a page (from report.json's data)."""

from __future__ import annotations

from typing import Any

from labrun.pages import badge, document, duration, esc, figures, money, section, table
from labrun.reports import number, resource_name, score_text, verdict


def grade_page(report: dict[str, Any]) -> str:
    """The page of one report.json document (what `labrun grade` writes as report.html)."""
    title = f"Grade of session {report['session']} ({report['lab']})"
    who = f"{report['owner']}, " if report.get("owner") else ""
    body = [
        section("Result", _summary(report)),
        section("Tasks", _tasks(report["tasks"]), "tasks"),
        section("Teardown", teardown_html(report.get("teardown"), report["session"]), "teardown"),
    ]
    return document(title, f"{who}graded {report.get('graded_at', '')}", body)


def _summary(report: dict[str, Any]) -> str:
    cost = (report.get("cost") or {}).get("accrued_usd")
    shown = [
        ("score", score_text(report["score"], report["total"])),
        ("time taken", duration(report.get("duration_seconds"))),
        ("estimated cost", money(cost)),
    ]
    return figures(shown) + f"<p>{badge(verdict(report))}</p>"


def _tasks(tasks: list[dict[str, Any]]) -> str:
    rows = [
        (
            f"<code>{esc(t['id'])}</code>",
            esc(t.get("title", "")),
            badge(t["status"]),
            f"{number(t['earned'])}/{t['points']}",
            esc(t.get("message", "")),
            esc(t.get("hint", "")),
        )
        for t in tasks
    ]
    headers = ("task", "title", "status", "points", "message", "hint")
    return table(headers, rows, numeric=[3])


def teardown_html(receipt: dict[str, Any] | None, session: str) -> str:
    """The receipt as people read it; ``None``: the session was kept running."""
    if receipt is None:
        return (
            f"<p>{badge('kept')} The session was kept running (<code>--keep</code>): stop it "
            f"with <code>labrun stop {esc(session)}</code>.</p>"
        )
    verdict_html = (
        f"<p>{badge('ok')} Nothing of this session remains.</p>"
        if receipt.get("ok")
        else f"<p>{badge('left-running')} Not everything was removed: the session is still "
        "listed.</p>"
    )
    rows = [
        ("destroyed by Terraform", _names(receipt.get("destroyed", []))),
        ("removed by the sweep", _names(resource_name(r) for r in receipt.get("swept", []))),
        ("still there", _names(resource_name(r) for r in receipt.get("remaining", []))),
        ("created without labrun's mark (not touched)",
         _names(resource_name(r) for r in receipt.get("unowned", []))),
        ("errors", _names(receipt.get("errors", []))),
        ("places checked", _names(receipt.get("checked", []))),
        ("finished at", esc(receipt.get("finished_at", ""))),
    ]  # fmt: skip
    return verdict_html + table((), [(esc(k), v) for k, v in rows])


def _names(items: Any) -> str:
    shown = [f"<code>{esc(i)}</code>" for i in items]
    return ", ".join(shown) if shown else '<span class="muted">none</span>'
