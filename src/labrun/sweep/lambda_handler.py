"""The cloud reaper's AWS Lambda entry point: labrun's own sweep, run in the user's account.

`labrun reaper deploy` uploads this module with the sweep and what it imports (nothing but
boto3 at run time: `labrun.cloudreaper` checks the import closure when it builds the zip).
Each run:
  1. lists what carries a `labrun:session` mark and an owner it serves
     (LABRUN_REAPER_OWNERS: a comma-separated list, or "*" for every owner);
  2. groups it by session. A session is due when its `labrun:hard-expires-at` mark
     (created_at + the lab's max_ttl, which `labrun extend` never passes) is in the past.
     A session without that mark (made by an older labrun) is kept: its `labrun:expires-at`
     may be stale after an extend, so it is no proof of expiry;
  3. sweeps each due session with the sweep `labrun stop` uses;
  4. writes its receipt to CloudWatch Logs (LABRUN_REAPER_LOG_GROUP), one stream per run.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from labrun.sweep import Found, Marks, sweep
from labrun.sweep.aws import AwsSweeper

ENV_KEYS = (
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
)  # fmt: skip


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One reaper run; returns (and logs) its receipt."""
    env = {k: os.environ[k] for k in ENV_KEYS if os.environ.get(k)}
    owners = os.environ.get("LABRUN_REAPER_OWNERS", "").split(",")
    receipt = reap(AwsSweeper(env), [o.strip() for o in owners if o.strip()])
    group = os.environ.get("LABRUN_REAPER_LOG_GROUP")
    if group:
        write_receipt(AwsSweeper(env), group, receipt)
    print(json.dumps({"labrun-reaper": "done", "ok": receipt["ok"]}))
    return receipt


def reap(sweeper: AwsSweeper, owners: list[str], now: datetime | None = None) -> dict[str, Any]:
    """Sweep every session of `owners` ("*": any owner) whose hard expiry has passed."""
    now = now or datetime.now(UTC)
    receipt: dict[str, Any] = {
        "started_at": _stamp(now), "owners": owners, "sessions": [], "kept": [], "errors": [],
    }  # fmt: skip
    if not owners:
        receipt["errors"].append("LABRUN_REAPER_OWNERS is empty: no owner to serve")
    for owner in owners:
        try:
            listing = sweeper.survey(Marks(session=None, owner=None if owner == "*" else owner))
        except Exception as exc:  # reported: the other owners still get their run
            receipt["errors"].append(f"listing for owner {owner}: {type(exc).__name__}: {exc}")
            continue
        for kind, error in sorted(listing.unlisted.items()):  # the other types get theirs
            receipt["errors"].append(f"listing {kind} for owner {owner}: {error}")
        found = listing.found
        for (session, mark_owner), items in _by_session(found).items():
            due = hard_expiry(items)
            entry = {"session": session, "owner": mark_owner, "hard_expires_at": due}
            why = _kept_because(mark_owner, due, now)
            if why:
                receipt["kept"].append({**entry, "why": why})
                continue
            receipt["sessions"].append(_sweep_one(sweeper, session, mark_owner, entry))
    receipt["ok"] = not receipt["errors"] and all(s["ok"] for s in receipt["sessions"])
    receipt["finished_at"] = _stamp(datetime.now(UTC))
    return receipt


def _kept_because(owner: str | None, due: str | None, now: datetime) -> str | None:
    """Why a session's resources stay, or None when they are due."""
    if owner is None:
        return "no owner mark"  # the reaper serves owners: a session tag alone is not enough
    if due is None:
        return "no hard expiry"
    return "live" if _parse(due) > now else None


def hard_expiry(items: list[Found]) -> str | None:
    """The session's hard expiry: the earliest mark among its resources (all carry the same)."""
    marks = sorted(i.hard_expires_at for i in items if i.hard_expires_at)
    return marks[0] if marks else None


def write_receipt(sweeper: AwsSweeper, group: str, receipt: dict[str, Any]) -> None:
    """The receipt as one event in a new stream of `group` (named by the run's start)."""
    logs = sweeper.client("logs")
    stream = receipt["started_at"].replace(":", "-") + f"-{os.getpid()}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    event = {"timestamp": int(time.time() * 1000), "message": json.dumps(receipt)}
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[event])


def _sweep_one(
    sweeper: AwsSweeper, session: str, owner: str | None, entry: dict[str, Any]
) -> dict[str, Any]:
    try:
        result = sweep(sweeper, Marks(session=session, owner=owner))
    except Exception as exc:  # one session's failure is reported, the others still go
        return {**entry, "ok": False, "removed": [], "remaining": [], "errors": [str(exc)]}
    return {
        **entry,
        "ok": not result.remaining,
        "removed": [r.to_json() for r in result.removed],
        "remaining": [r.to_json() for r in result.remaining],
        "errors": [f"{r.kind} {r.id}: {error}" for r, error in result.failed],
    }


def _by_session(found: list[Found]) -> dict[tuple[str, str | None], list[Found]]:
    groups: dict[tuple[str, str | None], list[Found]] = defaultdict(list)
    for item in found:
        if item.session:
            groups[(item.session, item.owner)].append(item)
    return dict(sorted(groups.items(), key=lambda kv: kv[0][0]))


def _parse(stamp: str) -> datetime:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # a mark we cannot read proves nothing: kept


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
