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
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from labrun import awsenv, identity, installations, lanes, lease, teardown
from labrun.errors import LabrunError, SessionBusy
from labrun.home import installation_id
from labrun.home import owner as home_owner
from labrun.identity import CloudIdentity
from labrun.meter import budget_reached
from labrun.session import Session, parse_rfc3339, utcnow
from labrun.store import SessionStore
from labrun.sweep import Found, Marks, Survey, Sweeper, sweep
from labrun.teardown import in_region

UNKNOWN = "session unknown to this installation"
SESSION_WORKERS = 4  # teardowns at once: each is mostly Terraform processes and API waits


@dataclass
class ReapReport:
    """What a reap did (or, with dry_run, would do)."""

    dry_run: bool
    sessions: list[dict[str, Any]] = field(default_factory=list)
    orphans: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # sessions of another account than ours

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        """3 when the credentials reach another account than a session's (nothing else can
        fix that), 1 when anything else failed, else 0."""
        return 3 if self.refused else 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "ok": self.ok,
            "sessions": self.sessions,
            "orphans": self.orphans,
            "failures": self.failures,
            "warnings": self.warnings,
            "refused": self.refused,
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

    Each session and each orphan group is handled on its own: whatever goes wrong with one
    (an AccessDenied, a lost connection, a missing work folder) is listed in `failures`
    and the others are still attempted. Every place is the one the sessions recorded (their
    account, regions, endpoint and Docker engine), not this process's environment: the
    scheduled reaper runs with no AWS_* or DOCKER_HOST at all.

    Orphans in a real AWS account (config `aws.reap = true`) are only listed unless
    `confirm_real`: a sweep of a real account that is not a session's own teardown is a
    dry run until someone confirms it.
    """
    report = ReapReport(dry_run=dry_run)
    due = due_sessions(store, owner)
    for session, reason in due:
        report.sessions.append({"session": session.id, "lab": session.lab, "reason": reason})
    if not dry_run:
        _reap_sessions(store, [session for session, _ in due], report)
    for place in orphan_places(store, report):
        with awsenv.files_of(place.env):
            _reap_orphans(store, place, owner, report, dry_run or (place.real and not confirm_real))
    return report


def _reap_sessions(store: SessionStore, sessions: list[Session], report: ReapReport) -> None:
    """Tear the sessions down, SESSION_WORKERS at once; their failures in their order."""
    parts = [ReapReport(dry_run=False) for _ in sessions]  # one each: no shared list
    jobs = [
        lanes.Job("sessions", partial(_reap_session, store, session, entry, part))
        for session, entry, part in zip(sessions, report.sessions, parts, strict=True)
    ]
    lanes.run(jobs, workers=SESSION_WORKERS, default_limit=SESSION_WORKERS)
    for part in parts:
        report.failures += part.failures
        report.warnings += part.warnings
        report.refused += part.refused


def _reap_session(
    store: SessionStore, session: Session, entry: dict[str, Any], report: ReapReport
) -> None:
    try:
        receipt = teardown.stop(store, session)
    except SessionBusy:
        entry["ok"] = None  # another labrun process (another reaper) is on it
        entry["reason"] += "; busy: left to the process working on it"
        return
    except Exception as exc:  # this session only: the others are still attempted
        entry["ok"] = False
        report.failures.append(f"session {session.id}: {teardown.describe(exc)}")
        if isinstance(exc, teardown.AccountMismatch):
            report.refused.append(session.id)
        return
    entry["ok"] = receipt.ok
    entry["receipt"] = receipt.to_json()
    if not receipt.ok:
        problems = receipt.errors or [f"{len(receipt.remaining)} resources remain"]
        report.failures.append(f"session {session.id}: {problems[0]}")


@dataclass(frozen=True)
class Place:
    """A place orphans can be: a sweeper, what to call it, and whether it is a real account."""

    label: str
    sweeper: Sweeper
    real: bool = False
    env: dict[str, str] = field(default_factory=dict)  # an account's recorded settings


def orphan_places(store: SessionStore, report: ReapReport) -> list[Place]:
    """Where orphans can be: the local cloud when it runs (in every region its sessions
    used), every Docker engine a session recorded (and this shell's), and, when the config
    says so (aws.reap), every real account and region the sessions recorded."""
    from labrun import localcloud
    from labrun.sweep.aws import AwsSweeper

    sessions = store.sessions()
    recorded = [s.identity for s in sessions if s.identity is not None]
    # A place only ended sessions used may be long gone: not being able to reach it is a
    # failure only when a live session needs it.
    live = {s.identity for s in sessions if s.identity is not None and s.is_live}
    found: list[Place] = []
    cloud = localcloud.status()
    if cloud.running and cloud.endpoint:
        env = localcloud.aws_env(cloud.endpoint)
        regions = _regions(i for i in recorded if i.cloud == identity.LOCAL)
        for region in regions or [localcloud.REGION]:
            found.append(Place(f"aws (local, {region})", AwsSweeper(in_region(env, region))))
    found += _docker_places(recorded, live, report)
    found += _real_aws_places(recorded, live, report)
    return found


def _regions(identities: Iterable[CloudIdentity]) -> list[str]:
    return list(dict.fromkeys(r for i in identities for r in i.regions))


def _docker_places(
    recorded: list[CloudIdentity], live: set[CloudIdentity], report: ReapReport
) -> list[Place]:
    from labrun import dockerengine
    from labrun.sweep.docker import DockerSweeper

    shell = os.environ.get("DOCKER_HOST") or identity.DEFAULT_DOCKER_HOST
    hosts = dict.fromkeys([*(i.docker_host for i in recorded if i.docker_host), shell])
    found: list[Place] = []
    for host in hosts:
        engine = dockerengine.client(timeout=5, host=host)
        if engine is not None:
            found.append(Place(f"docker ({host})", DockerSweeper(engine)))
        elif host in {i.docker_host for i in live}:  # its orphans cannot be checked
            report.failures.append(f"docker ({host}): no Docker engine answers")
    return found


def _real_aws_places(
    recorded: list[CloudIdentity], live: set[CloudIdentity], report: ReapReport
) -> list[Place]:
    """The real accounts of the sessions (and this shell's), when config aws.reap is on."""
    from labrun import config
    from labrun.sweep.aws import AwsSweeper

    if not config.load().reap_aws:
        return []
    # This shell's account too, when it names one (cron's environment names none).
    shell = [identity.capture(identity.AWS, (), None, "")] if awsenv.passthrough() else []
    accounts: dict[CloudIdentity, list[str]] = {}
    needed: set[CloudIdentity] = set()  # the accounts a live session (or this shell) uses
    for where in [*(i for i in recorded if i.cloud == identity.AWS), *shell]:
        key = replace(where, regions=(), docker_host=None, account=None)
        accounts.setdefault(key, []).extend(r for r in where.regions if r)
        if where in live or where in shell:
            needed.add(key)
    found: list[Place] = []
    for where, regions in accounts.items():
        for region in dict.fromkeys(regions) or [None]:
            env = where.aws_env(region)
            label = f"aws ({region or 'no region'})"
            try:
                with awsenv.files_of(env):
                    config.require_allowed_account(env)
            except Exception as exc:
                if where in needed:
                    report.failures.append(f"{label}: {teardown.describe(exc)}")
                continue
            found.append(Place(label, AwsSweeper(env), real=True, env=env))
    return found


def _reap_orphans(
    store: SessionStore, place: Place, owner: str | None, report: ReapReport, dry_run: bool
) -> None:
    sweeper = place.sweeper
    try:
        listing = sweeper.survey(Marks(session=None, owner=owner))
    except Exception as exc:
        report.failures.append(f"{place.label}: listing failed: {teardown.describe(exc)}")
        return
    # A type that could not be listed (AccessDenied on one action) is a failure of its own;
    # the orphans of every other type are still reaped.
    for kind, error in sorted(listing.unlisted.items()):
        report.failures.append(f"{place.label}: listing {kind} failed: {error}")
    found = listing.found
    groups: dict[tuple[str, str | None], list[Found]] = defaultdict(list)
    for item in found:
        if item.session:
            groups[(item.session, item.owner)].append(item)
    foreign: dict[str, str] | None = None  # looked up when an unknown session shows up
    for (session_id, item_owner), items in sorted(groups.items(), key=lambda kv: kv[0][0]):
        why = _orphan_reason(store, session_id, items)
        if why is None:
            continue
        if why == UNKNOWN and foreign is None:
            foreign = _foreign_sessions(place, report)
        if why == UNKNOWN and foreign and (session_id in foreign or "*" in foreign):
            other = foreign.get(session_id, "unknown")
            report.warnings.append(
                f"{place.label}: session {session_id} was made by installation {other}, not "
                f"this one ({installation_id()}), with the same LABRUN_OWNER {home_owner()}: "
                "left alone. Give each installation its own LABRUN_OWNER"
            )
            continue
        for item in items:
            report.orphans.append(
                {**item.to_json(), "place": sweeper.name, "why": why, "removed": not dry_run}
            )
        if dry_run:
            continue
        try:
            marks = Marks(session=session_id, owner=owner or item_owner)
            result = sweep(sweeper, marks, first=Survey(found=items))  # listed already
        except Exception as exc:  # this group only: the next one is still attempted
            report.failures.append(
                f"session {session_id} ({place.label}): {teardown.describe(exc)}"
            )
            continue
        for resource, error in result.failed:
            report.failures.append(f"{resource.kind} {resource.id}: {error}")
        if result.remaining and not result.failed:
            report.failures.append(f"session {session_id}: {len(result.remaining)} remain")


def _orphan_reason(store: SessionStore, session_id: str, items: list[Found]) -> str | None:
    """Why these marked resources are orphans, or None when their session still owns them.

    Another installation's sessions are unknown here by nature: with --all-owners, their
    resources are reaped only once their `labrun:hard-expires-at` mark (created_at +
    max_ttl, which no `labrun extend` passes) has passed; resources an older labrun made,
    without that mark, once their `labrun:expires-at` has.
    """
    now = utcnow()
    if items[0].owner != home_owner():
        hard = [i.hard_expires_at for i in items if i.hard_expires_at]
        if hard:
            return "hard-expires-at passed" if any(_before(h, now) for h in hard) else None
        expired = any(i.expires_at and _before(i.expires_at, now) for i in items)
        return "expires-at passed" if expired else None
    try:
        session = store.get(session_id)
    except LabrunError:
        return UNKNOWN
    if not session.is_live:
        return f"session {session.status}"
    # The store's expiry wins over the mark: `labrun extend` moves it past the mark.
    return "expires-at passed" if session.expires_at <= now else None


def _foreign_sessions(place: Place, report: ReapReport) -> dict[str, str]:
    """Sessions of this owner that another installation made here (see installations.py)."""
    try:
        return installations.foreign_sessions(place.sweeper, home_owner(), installation_id())
    except Exception as exc:  # cannot tell: reap nothing "unknown" rather than another's
        report.failures.append(f"{place.label}: listing installations failed: {exc}")
        return {"*": "unknown"}


def _before(stamp: str, now: datetime) -> bool:
    try:
        return parse_rfc3339(stamp) <= now
    except ValueError:
        return False  # a mark we cannot read proves nothing
