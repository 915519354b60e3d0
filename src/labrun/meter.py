"""A session's cost meter: its hourly estimate times the time it has lived, against its budget.

The estimate is the plan's, priced at start (`labrun plan` shows the same figures). The
meter runs from the session's creation until now, or until it ended; `labrun status`
shows it and the reaper tears a session down once it reaches the budget.

Prices are AWS's. A session on the local target costs nothing: its meter says $0 here and
shows the AWS figures as what the lab would cost there (the budget still applies to them,
so that a lab practised locally behaves as it would on AWS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from labrun.session import parse_rfc3339, utcnow

if TYPE_CHECKING:
    from labrun.session import Session
    from labrun.store import SessionStore


@dataclass(frozen=True)
class Meter:
    """What a session costs per hour (None: started before labrun priced plans) and may cost."""

    hourly_usd: float | None
    budget_usd: float | None
    hours: float = 0.0  # how long the session has lived (or lived)
    local: bool = False  # on the local target: the figures are what AWS would charge

    @property
    def accrued_usd(self) -> float | None:
        return None if self.hourly_usd is None else self.hourly_usd * self.hours

    @property
    def budget_reached(self) -> bool:
        """A priced session whose accrued estimate has reached its budget ($0 costs never do)."""
        accrued, budget = self.accrued_usd, self.budget_usd
        return bool(self.hourly_usd) and budget is not None and (accrued or 0.0) >= budget

    def to_json(self) -> dict[str, Any]:
        """hourly/accrued/budget are AWS figures; cost_here_usd is what is charged where the
        session runs: 0 on the local target."""
        accrued = None if self.accrued_usd is None else round(self.accrued_usd, 6)
        return {
            "hourly_usd": self.hourly_usd,
            "accrued_usd": accrued,
            "budget_usd": self.budget_usd,
            "cost_here_usd": 0.0 if self.local else accrued,
        }

    def text(self) -> str:
        """Accrued of budget: "$0.12 of $1.00", "$0.00 (no budget)", "-" if never priced;
        on the local target "$0 here (AWS: $0.12 of $1.00)"."""
        if self.accrued_usd is None or (self.local and not self.hourly_usd):
            return "$0 here" if self.local else "-"
        budget = "(no budget)" if self.budget_usd is None else f"of {usd(self.budget_usd)}"
        figures = f"{usd(self.accrued_usd)} {budget}"
        return f"$0 here (AWS: {figures})" if self.local else figures

    def rate_text(self) -> str:
        """The plan's estimate as priced at start: "$0.53/h estimated, budget $2.00"; on
        the local target "$0 here; on AWS $0.53/h estimated, budget $2.00"."""
        if not self.hourly_usd:
            return "$0 here (and $0 on AWS)" if self.local else "$0/h estimated"
        budget = "no budget" if self.budget_usd is None else f"budget {usd(self.budget_usd)}"
        rate = f"{usd(self.hourly_usd)}/h estimated, {budget}"
        return f"$0 here; on AWS {rate}" if self.local else rate


def usd(amount: float) -> str:
    """Dollars, with enough digits to show a small lab's cents: $0.0042, $1.05."""
    return f"${amount:.4f}" if 0 < amount < 0.01 else f"${amount:.2f}"


def meter(store: SessionStore, session: Session, now: datetime | None = None) -> Meter:
    """The session's meter as it stands `now` (for an ended session: when it ended)."""
    hourly, budget = store.meter(session.id)
    until = (now or utcnow()) if session.is_live else _ended_at(store, session)
    hours = max(0.0, (until - session.created_at).total_seconds() / 3600)
    return Meter(hourly, budget, hours, local=session.target == "local")


def budget_reached(store: SessionStore, session: Session, now: datetime | None = None) -> bool:
    return meter(store, session, now).budget_reached


def _ended_at(store: SessionStore, session: Session) -> datetime:
    changes = [e["at"] for e in store.events(session.id) if e["event"] == "status"]
    return parse_rfc3339(changes[-1]) if changes else session.created_at
