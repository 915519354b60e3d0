"""HTML pages with one look: report.html, the class report and the live lab page.

Every page is one self-contained file: the CSS is inlined and charts are inline SVG, so a
page opens from a shared drive or an e-mail attachment without any network. Everything
that comes from a lab, a learner or a report file is escaped here (``esc``), never trusted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cache
from html import escape
from importlib.resources import files

from labrun.durations import format_duration
from labrun.meter import usd


@cache
def style() -> str:
    """The CSS every page inlines."""
    return files("labrun.pages").joinpath("style.css").read_text(encoding="utf-8")


def esc(value: object) -> str:
    """Text as HTML text or attribute value."""
    return escape(str(value), quote=True)


def document(title: str, subtitle: str, body: Iterable[str], head: str = "") -> str:
    """A whole page: a header with ``title`` and ``subtitle``, then ``body``'s sections."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{style()}</style>{head}</head><body>"
        f'<header class="top"><h1>{esc(title)}</h1>'
        f'<div class="sub">{esc(subtitle)}</div></header>'
        f"<main>{''.join(body)}</main></body></html>\n"
    )


def section(title: str, body: str, ident: str = "") -> str:
    attr = f' id="{esc(ident)}"' if ident else ""
    return f'<section class="card"{attr}><h2>{esc(title)}</h2>{body}</section>'


def badge(status: str, text: str | None = None) -> str:
    """A coloured status label (pass, partial, fail, blocked, error, ok, left-running...)."""
    return f'<span class="badge {esc(status)}">{esc(status if text is None else text)}</span>'


def figures(items: Iterable[tuple[str, str]]) -> str:
    """Big numbers with a label above each: ``[("score", "4/10 (40%)"), ...]`` (escaped)."""
    cells = (
        f'<div><div class="label">{esc(label)}</div><div class="big">{esc(value)}</div></div>'
        for label, value in items
    )
    return f'<div class="figures">{"".join(cells)}</div>'


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Iterable[int] = (),
    flagged: Iterable[bool] | None = None,
    ident: str = "",
) -> str:
    """A table of HTML cells (callers escape their text); ``numeric`` columns align right.

    No ``headers``: a table of label and value rows, without a head.
    """
    right = set(numeric)
    marks = iter(flagged) if flagged is not None else None

    def cells(tag: str, row: Sequence[str]) -> str:
        return "".join(
            f'<{tag} class="num">{c}</{tag}>' if i in right else f"<{tag}>{c}</{tag}>"
            for i, c in enumerate(row)
        )

    body = []
    for row in rows:
        flag = marks is not None and next(marks, False)
        body.append(f'<tr class="flagged">{cells("td", row)}</tr>' if flag else
                    f"<tr>{cells('td', row)}</tr>")  # fmt: skip
    attr = f' id="{esc(ident)}"' if ident else ""
    head = f"<thead><tr>{cells('th', [esc(h) for h in headers])}</tr></thead>" if headers else ""
    return f"<table{attr}>{head}<tbody>{''.join(body)}</tbody></table>"


def bar_chart(bars: Sequence[tuple[str, float, str]], ident: str = "") -> str:
    """Horizontal bars as inline SVG: ``(label, share from 0 to 1, text after the bar)``.

    Each bar is a ``<rect class="bar" data-label=... data-share=...>``: the share is there as
    data, for tests and for anyone reading the file with a script.
    """
    label_w, bar_w, row_h, text_w = 260, 420, 26, 150
    width, height = label_w + bar_w + text_w, max(1, len(bars)) * row_h + 4
    rows = []
    for index, (label, share, text) in enumerate(bars):
        y = index * row_h + 4
        level = "low" if share < 0.5 else "mid" if share < 0.8 else "high"
        rows.append(
            f'<text x="0" y="{y + 15}">{esc(_clip(label, 40))}</text>'
            f'<rect class="track" x="{label_w}" y="{y}" width="{bar_w}" height="18" rx="3"/>'
            f'<rect class="bar {level}" x="{label_w}" y="{y}" width="{bar_w * share:.1f}" '
            f'height="18" rx="3" data-label="{esc(label)}" data-share="{share:.4f}">'
            f"<title>{esc(label)}: {esc(text)}</title></rect>"
            f'<text x="{label_w + bar_w + 8}" y="{y + 15}">{esc(text)}</text>'
        )
    attr = f' id="{esc(ident)}"' if ident else ""
    return (
        f'<svg class="chart"{attr} xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">{"".join(rows)}</svg>'
    )


def duration(seconds: float | None) -> str:
    """``1h05m``, ``4m30s``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    return format_duration(timedelta(seconds=seconds)) if seconds > 0 else "0s"


def money(amount: float | None) -> str:
    """``$0.0042``, ``$1.05``; ``-`` when the session was never priced."""
    return "-" if amount is None else usd(amount)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
