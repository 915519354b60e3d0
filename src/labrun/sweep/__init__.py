"""Sweeping: find everything that provably belongs to a session (or an owner) and delete it.

A resource belongs to a session only when it carries the session's mark (the AWS tag
`labrun:session` or the Docker label `labrun.session`), or lives inside something that
does (an object in a marked bucket, a container on a marked network). Never because of its
name or its age alone.

Each place labrun sweeps (the AWS account, the Docker engine) is a `Sweeper`; inside a
sweeper, each resource type is one entry in a registry, so supporting one more type is one
small, self-contained addition.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Marks:
    """Which resources a sweep may touch.

    session: only resources marked with this session id (None: any session's).
    owner: only resources marked with this owner (None: any owner's, for `--all-owners`).
    since: when the session started. Something unmarked is adopted by containment (and
    removed) only when it was created at or after it; None: nothing unmarked is removed.
    """

    session: str | None
    owner: str | None
    since: datetime | None = None


@dataclass(frozen=True)
class Found:
    """One resource a sweeper found, and why it is ours."""

    kind: str  # e.g. "aws:s3:bucket", "aws:iam:role", "docker:container"
    id: str  # an ARN, a name or a Docker id: what the sweeper's delete needs
    session: str | None = None  # the labrun:session mark it carries (or its parent carries)
    owner: str | None = None
    expires_at: str | None = None  # the labrun:expires-at mark, RFC 3339
    hard_expires_at: str | None = None  # labrun:hard-expires-at (created_at + max_ttl)
    reason: str = "marked"  # "marked", or "inside <kind> <id>" for what lives in marked things
    name: str = ""  # what people call it, where that differs from `id` (a container's name)

    def to_json(self) -> dict[str, str | None]:
        return {
            "kind": self.kind, "id": self.id, "name": self.name or self.id,
            "session": self.session, "reason": self.reason,
        }  # fmt: skip


@dataclass
class SweepResult:
    """What one sweep did: what it removed, what it could not, what is left after it."""

    removed: list[Found] = field(default_factory=list)
    failed: list[tuple[Found, str]] = field(default_factory=list)  # (resource, error)
    remaining: list[Found] = field(default_factory=list)  # found again by the final listing
    passes: int = 0


class Sweeper(Protocol):
    """A place labrun can sweep."""

    name: str  # "aws" or "docker"

    def find(self, marks: Marks) -> list[Found]:
        """Everything carrying the marks (and what lives inside it), in deletion order."""
        ...

    def delete(self, resource: Found) -> None:
        """Delete one resource; "not found" is success. Raise on any other failure."""
        ...

    def unmarked_since(self, since: datetime) -> list[Found]:
        """Resources created at or after `since` that carry no labrun:session mark at all
        and live in nothing marked: reported to the learner, never deleted."""
        ...


def sweep(sweeper: Sweeper, marks: Marks, max_passes: int = 5) -> SweepResult:
    """Delete everything `sweeper` finds for `marks`, listing again after each pass.

    A pass deletes in the order `find` returns (dependents first); what fails in one pass
    (a security group still in use by an instance being terminated) is retried in the
    next. The final listing is the proof: `remaining` must be empty.
    """
    result = SweepResult()
    errors: dict[tuple[str, str], str] = {}
    for attempt in range(max_passes):
        found = sweeper.find(marks)
        if not found:
            break
        if errors:  # a dependency was still settling (an instance shutting down): give it time
            time.sleep(min(2.0**attempt / 4, 4.0))
        result.passes += 1
        for resource in found:
            try:
                sweeper.delete(resource)
            except Exception as exc:  # carried on: the next pass or the report deals with it
                errors[(resource.kind, resource.id)] = f"{type(exc).__name__}: {exc}"
            else:
                errors.pop((resource.kind, resource.id), None)
                if resource not in result.removed:
                    result.removed.append(resource)
    result.remaining = sweeper.find(marks)
    left = {(r.kind, r.id) for r in result.remaining}
    result.removed = [r for r in result.removed if (r.kind, r.id) not in left]
    result.failed = [
        (r, errors[(r.kind, r.id)]) for r in result.remaining if (r.kind, r.id) in errors
    ]
    return result
