"""Sweeping: find everything that provably belongs to a session (or an owner) and delete it.

A resource belongs to a session only when it carries the session's mark (the AWS tag
`labrun:session` or the Docker label `labrun.session`), or lives inside something that
does (an object in a marked bucket, a container on a marked network). Never because of its
name or its age alone.

The marks rule (`Marks.claim`): a resource marked with this session's id is the session's
unless it also carries another owner's mark (`labrun:owner`). A learner who tags a queue
`labrun:session=<id>` alone gets it swept with the session. One that carries the session's
id and another owner's mark is never deleted: it is reported under `remaining`, so the
receipt is not ok and a person looks at it.

Each place labrun sweeps (the AWS account, the Docker engine) is a `Sweeper`; inside a
sweeper, each resource type is one entry in a registry, so supporting one more type is one
small, self-contained addition. A sweeper's `survey` never stops at one failing type: what
it could not list is named in `Survey.unlisted`, and `sweep` turns that into a failure of
the result (the final listing cannot prove that nothing of that type remains).

Deletes run concurrently (`labrun.lanes`): the resources of one dependency level at once,
each level only once the one before it is done, and at most a sweeper's limit per lane (an
AWS service) in flight. A sweeper says where each resource goes with `slot`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from labrun import lanes
from labrun.errors import LabrunError


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

    def claim(self, session: str | None, owner: str | None) -> str | None:
        """What the sweep does with a resource marked (session, owner): OURS (delete it),
        FOREIGN (this session's id with another owner's mark: report it, never delete it),
        or None (not selected at all)."""
        if session is None or self.session not in (None, session):
            return None
        if self.owner is None or owner == self.owner:
            return OURS
        if self.session is None:
            return None  # an owner's orphans: other owners' resources are theirs to reap
        return OURS if owner is None else FOREIGN


OURS = "ours"
FOREIGN = "foreign"
UNLISTED = "*"  # the id of a Found that stands for every resource of a type not listed


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
class Survey:
    """One listing of a sweeper: what to delete, what to report, what could not be listed."""

    found: list[Found] = field(default_factory=list)  # ours, in deletion order
    foreign: list[Found] = field(default_factory=list)  # this session's id, another owner's
    unlisted: dict[str, str] = field(default_factory=dict)  # kind -> why it was not listed
    thorough: bool = False  # listed by each type's own listing (the proof), not a quick index

    def problems(self) -> list[tuple[Found, str]]:
        """Each type that could not be listed, as a failure: nothing proves it is clean."""
        return [
            (Found(kind=kind, id=UNLISTED, reason="not listed"), error)
            for kind, error in sorted(self.unlisted.items())
        ]


@dataclass
class SweepResult:
    """What one sweep did: what it removed, what it could not, what is left after it.

    `failed` also holds one entry per type the final listing could not list (its id is
    UNLISTED, "*"), so that whoever reports the failures reports those too.
    """

    removed: list[Found] = field(default_factory=list)
    failed: list[tuple[Found, str]] = field(default_factory=list)  # (resource, error)
    remaining: list[Found] = field(default_factory=list)  # found again by the final listing
    passes: int = 0

    @property
    def errors(self) -> list[str]:
        """The failures as lines: "aws:iam:role *: AccessDenied: ..."."""
        return [f"{resource.kind} {resource.id}: {error}" for resource, error in self.failed]


@dataclass(frozen=True)
class Slot:
    """Where one delete goes: deletes of one `level` run together, a level only once every
    lower one is done (dependents go first); at most `limit` deletes of a `lane` at once."""

    level: int
    lane: str
    limit: int


class Sweeper(Protocol):
    """A place labrun can sweep."""

    name: str  # "aws" or "docker"
    workers: int  # deletes in flight at once, in all lanes (1: one after another)

    def slot(self, resource: Found) -> Slot:
        """The level and lane of `resource`'s delete (see `Slot`)."""
        ...

    def survey(self, marks: Marks, thorough: bool = False) -> Survey:
        """Everything carrying the marks (and what lives inside it), ours in deletion order.
        Never raises for one type: a type that cannot be listed goes to `unlisted`.
        `thorough`: the final proof, by each type's own listing where a quicker index (the
        AWS tagging API) can lag behind."""
        ...

    def find(self, marks: Marks) -> list[Found]:
        """`survey(marks).found`; raises SweepIncomplete when a type could not be listed."""
        ...

    def delete(self, resource: Found) -> None:
        """Delete one resource; "not found" is success. Raise on any other failure."""
        ...

    def unmarked_since(self, since: datetime) -> list[Found]:
        """Resources created at or after `since` that carry no labrun:session mark at all
        and live in nothing marked: reported to the learner, never deleted."""
        ...


class SweepIncomplete(LabrunError):
    """A listing needed by `find` failed: the listing is not the whole truth."""


def found_or_raise(survey: Survey) -> list[Found]:
    """What `find` returns: the survey's finds, when every type could be listed."""
    if survey.unlisted:
        failures = "; ".join(f"{kind}: {error}" for kind, error in sorted(survey.unlisted.items()))
        raise SweepIncomplete(f"listing failed: {failures}")
    return survey.found


def sweep(
    sweeper: Sweeper,
    marks: Marks,
    max_passes: int = 5,
    first: Survey | None = None,
    expect_clean: bool = False,
) -> SweepResult:
    """Delete everything `sweeper` finds for `marks`, listing again after each pass.

    A pass deletes level by level (dependents first), each level's deletes concurrently
    (see `Slot`); what fails in one pass (a security group still in use by an instance
    being terminated) is retried in the next. Once the quick listing finds nothing, a
    thorough one must agree (what the AWS tagging API does not show yet is found there,
    and deleted too); after a pass where every delete succeeded, the thorough listing comes
    at once (it sees all the quick one would). That final listing is the proof: `remaining`
    must be empty and `failed` too.

    `first`: a survey of `marks` the caller already made (the reaper's), for the first pass.
    `expect_clean`: most likely nothing is left (a teardown after Terraform's destroy): the
    first listing is the thorough one, which is then at once the proof.
    """
    result = SweepResult()
    errors: dict[tuple[str, str], str] = {}
    survey = first if first is not None else sweeper.survey(marks, thorough=expect_clean)
    for attempt in range(max_passes):
        if not survey.found and not survey.thorough:
            survey = sweeper.survey(marks, thorough=True)
        if not survey.found:
            break
        if errors:  # a dependency was still settling (an instance shutting down): give it time
            time.sleep(min(2.0**attempt / 4, 4.0))
        result.passes += 1
        for level in levels(sweeper, survey.found):
            outcomes = delete_level(sweeper, level)
            for resource, error in zip(level, outcomes, strict=True):
                _note(resource, error, result, errors)
        survey = sweeper.survey(marks, thorough=not errors)
    final = survey if survey.thorough else sweeper.survey(marks, thorough=True)
    result.remaining = [*final.found, *final.foreign]
    left = {(r.kind, r.id) for r in result.remaining}
    result.removed = [r for r in result.removed if (r.kind, r.id) not in left]
    result.failed = [(r, errors[(r.kind, r.id)]) for r in final.found if (r.kind, r.id) in errors]
    result.failed += final.problems()
    return result


def levels(sweeper: Sweeper, found: list[Found]) -> list[list[Found]]:
    """`found` grouped by dependency level, lowest (deleted first) first."""
    grouped: dict[int, list[Found]] = {}
    for resource in found:
        grouped.setdefault(sweeper.slot(resource).level, []).append(resource)
    return [grouped[level] for level in sorted(grouped)]


def delete_level(sweeper: Sweeper, level: list[Found]) -> list[Exception | None]:
    """Delete one level's resources concurrently, within the lanes' limits: each one's
    failure (or None), in order. Returns once every delete has finished."""
    slots = [sweeper.slot(resource) for resource in level]
    jobs = [lanes.Job(s.lane, _deleter(sweeper, r)) for s, r in zip(slots, level, strict=True)]
    limits = {slot.lane: slot.limit for slot in slots}
    return lanes.run(jobs, limits, workers=sweeper.workers)


def _deleter(sweeper: Sweeper, resource: Found) -> Callable[[], None]:
    return lambda: sweeper.delete(resource)


def _note(
    resource: Found,
    error: Exception | None,
    result: SweepResult,
    errors: dict[tuple[str, str], str],
) -> None:
    """Note one delete's outcome; a failure is kept for the next pass or the report."""
    if error is not None:
        errors[(resource.kind, resource.id)] = f"{type(error).__name__}: {error}"
        return
    errors.pop((resource.kind, resource.id), None)
    if resource not in result.removed:
        result.removed.append(resource)
