"""The reaper: tear down what was forgotten, and only what is provably ours.

It finds (1) sessions past their expiry, whose provisioning crashed, or whose teardown is
unfinished, and tears each down with the one teardown pipeline, several at once (each
under its own lease, `SESSION_WORKERS` at a time: they are independent); (2) orphans: resources
bearing this owner's marks whose session is unknown, over, or past its `expires-at` mark,
and sweeps them. It carries on past a failure and reports them all.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from labrun import lanes, lease
from labrun.errors import LabrunError, SessionBusy
from labrun.home import owner as home_owner
from labrun.meter import budget_reached
from labrun.session import Session, parse_rfc3339, utcnow
from labrun.store import SessionStore
from labrun.sweep import Found, Marks, Survey, Sweeper, sweep

if TYPE_CHECKING:
    from labrun.teardown import Receipt

SESSION_WORKERS = 4  # teardowns at once: each is mostly Terraform processes and API waits


@dataclass
class ReapReport:
    """What a reap did (or, with dry_run, would do)."""

    dry_run: bool
    sessions: list[dict[str, Any]] = field(default_factory=list)
    orphans: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "ok": self.ok,
            "sessions": self.sessions,
            "orphans": self.orphans,
            "failures": self.failures,
        }


def due_sessions(store: SessionStore, owner: str | None) -> list[tuple[Session, str]]:
    """Live sessions the reaper must tear down, with the reason; busy ones are left alone."""
    now = utcnow()
    due: list[tuple[Session, str]] = []
    for session in store.sessions(live_only=True):
        if owner is not None and session.owner != owner:
            continue
        if lease.busy(store, session.id):
            continue  # a live labrun process is working on it (the rule `stop` uses too)
        if session.expires_at <= now:
            due.append((session, "expired"))
        elif session.status == "provisioning":
            due.append((session, "provisioning crashed"))
        elif session.status == "tearing-down":
            due.append((session, "teardown unfinished"))
        elif budget_reached(store, session, now):
            due.append((session, "budget reached"))
    return due


def reap(
    store: SessionStore, owner: str | None, dry_run: bool = False, confirm_real: bool = False
) -> ReapReport:
    """One reaper run: due sessions first, then orphans. `owner=None` means every owner.

    Orphans in a real AWS account (config `aws.reap = true`) are only listed unless
    `confirm_real`: a sweep of a real account that is not a session's own teardown is a
    dry run until someone confirms it.
    """
    from labrun import teardown

    report = ReapReport(dry_run=dry_run)
    due = due_sessions(store, owner)
    for session, reason in due:
        report.sessions.append({"session": session.id, "lab": session.lab, "reason": reason})
    if not dry_run:
        jobs = [lanes.Job("sessions", partial(teardown.stop, store, s)) for s, _ in due]
        outcomes = lanes.run(jobs, workers=SESSION_WORKERS, default_limit=SESSION_WORKERS)
        for entry, outcome in zip(report.sessions, outcomes, strict=True):
            _record_teardown(report, entry, outcome)
    for sweeper, real in orphan_sweepers(report):
        _reap_orphans(store, sweeper, owner, report, dry_run or (real and not confirm_real))
    return report


def _record_teardown(report: ReapReport, entry: dict[str, Any], outcome: object) -> None:
    """Note one session's teardown (its receipt, or what it raised) in the report."""
    session = entry["session"]
    if isinstance(outcome, SessionBusy):
        entry["ok"] = None  # another labrun process (another reaper) is on it
        entry["reason"] += "; busy: left to the process working on it"
    elif isinstance(outcome, LabrunError):
        entry["ok"] = False
        report.failures.append(f"session {session}: {outcome}")
    elif isinstance(outcome, Exception):
        raise outcome  # not a teardown's failure: a bug, reported as one
    else:
        receipt = cast("Receipt", outcome)
        entry["ok"] = receipt.ok
        entry["receipt"] = receipt.to_json()
        if not receipt.ok:
            problems = receipt.errors or [f"{len(receipt.remaining)} resources remain"]
            report.failures.append(f"session {session}: {problems[0]}")


def orphan_sweepers(report: ReapReport) -> list[tuple[Sweeper, bool]]:
    """Where orphans can be, and whether it is a real account: the local cloud when it runs,
    the Docker engine if any, and the real AWS account when the config says so."""
    from labrun import config, dockerengine, localcloud
    from labrun.sweep.aws import AwsSweeper

    found: list[tuple[Sweeper, bool]] = []
    cloud = localcloud.status()
    if cloud.running and cloud.endpoint:
        found.append((AwsSweeper(localcloud.aws_env(cloud.endpoint)), False))
    engine = dockerengine.client(timeout=5)
    if engine is not None:
        from labrun.sweep.docker import DockerSweeper

        found.append((DockerSweeper(engine), False))
    if config.load().reap_aws:
        from labrun.environment import AWS_PASSTHROUGH

        env = {k: os.environ[k] for k in AWS_PASSTHROUGH if k in os.environ}
        try:
            config.require_allowed_account(env)
        except LabrunError as exc:
            report.failures.append(f"aws: {exc}")
        else:
            found.append((AwsSweeper(env), True))
    return found


def _reap_orphans(
    store: SessionStore, sweeper: Sweeper, owner: str | None, report: ReapReport, dry_run: bool
) -> None:
    try:
        found = sweeper.find(Marks(session=None, owner=owner))
    except Exception as exc:
        report.failures.append(f"{sweeper.name}: listing failed: {exc}")
        return
    groups: dict[tuple[str, str | None], list[Found]] = defaultdict(list)
    for item in found:
        if item.session:
            groups[(item.session, item.owner)].append(item)
    for (session_id, item_owner), items in sorted(groups.items(), key=lambda kv: kv[0][0]):
        why = _orphan_reason(store, session_id, items)
        if why is None:
            continue
        for item in items:
            report.orphans.append(
                {**item.to_json(), "place": sweeper.name, "why": why, "removed": not dry_run}
            )
        if dry_run:
            continue
        marks = Marks(session=session_id, owner=owner or item_owner)
        result = sweep(sweeper, marks, first=Survey(found=items))  # listed already: not again
        for resource, error in result.failed:
            report.failures.append(f"{resource.kind} {resource.id}: {error}")
        if result.remaining and not result.failed:
            report.failures.append(f"session {session_id}: {len(result.remaining)} remain")


def _orphan_reason(store: SessionStore, session_id: str, items: list[Found]) -> str | None:
    """Why these marked resources are orphans, or None when their session still owns them.

    Another installation's sessions are unknown here by nature: with --all-owners, their
    resources are reaped only once their own expires-at mark has passed.
    """
    now = utcnow()
    expired = any(i.expires_at and _before(i.expires_at, now) for i in items)
    if items[0].owner != home_owner():
        return "expires-at passed" if expired else None
    try:
        session = store.get(session_id)
    except LabrunError:
        return "session unknown to this installation"
    if not session.is_live:
        return f"session {session.status}"
    # The store's expiry wins over the mark: `labrun extend` moves it past the mark.
    return "expires-at passed" if session.expires_at <= now else None


def _before(stamp: str, now: datetime) -> bool:
    try:
        return parse_rfc3339(stamp) <= now
    except ValueError:
        return False  # a mark we cannot read proves nothing
