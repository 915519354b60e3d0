"""The lab manifest (lab.toml): parsing and validation.

Every problem is reported as one line naming the file, the field and what is wrong.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from labrun.durations import parse_duration
from labrun.errors import ManifestError

ID_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")  # matched whole: fullmatch
TARGETS = ("local", "aws")
REQUIRES = ("docker", "aws")
DIFFICULTIES = ("beginner", "intermediate", "advanced")
# Policy rules that refuse a resource unless the lab's [policy] allow lists them.
REFUSABLE = ("nat-gateway", "eks-cluster", "gpu-instance", "instance-size", "unknown-at-plan")

_TOP_KEYS = {
    "id", "title", "summary", "version", "difficulty", "duration", "ttl", "max_ttl",
    "targets", "requires", "tasks", "budget_usd", "check_timeout", "policy", "costs",
}  # fmt: skip
_COST_KEYS = {"type", "count", "values"}
_TASK_KEYS = {"id", "title", "points", "hint", "hints", "timeout"}
_POLICY_KEYS = {"allow", "regions", "instance_types"}


@dataclass(frozen=True)
class LabPolicy:
    """lab.toml's [policy]: what this lab needs beyond the default policy."""

    allow: tuple[str, ...] = ()  # refusable rules lifted for this lab (REFUSABLE)
    regions: tuple[str, ...] = ()  # regions allowed on top of the user's
    instance_types: tuple[str, ...] = ()  # instance types or families allowed on top of the user's


@dataclass(frozen=True)
class DeclaredCost:
    """lab.toml's [[costs]]: resources the lab makes outside Terraform's plan (a script run
    by a provisioner), declared as the Terraform type they would be, to be priced alike."""

    type: str  # e.g. "aws_instance"
    count: int = 1
    values: dict[str, Any] = field(default_factory=dict)  # e.g. {instance_type = "t3.micro"}


@dataclass(frozen=True)
class Task:
    """One graded step of a lab, as declared in lab.toml."""

    id: str
    title: str
    points: int = 1
    hints: tuple[str, ...] = ()  # levels, revealed one at a time (`labrun hint TASK`)
    timeout: float | None = None  # seconds; None means the lab's check_timeout

    @property
    def hint(self) -> str:
        """The first level: what `labrun check` shows when the task does not pass."""
        return self.hints[0] if self.hints else ""


@dataclass(frozen=True)
class Manifest:
    """A validated lab.toml."""

    id: str
    title: str
    summary: str
    version: str
    difficulty: str
    duration: str
    ttl: timedelta
    max_ttl: timedelta
    targets: tuple[str, ...]
    requires: tuple[str, ...]
    tasks: tuple[Task, ...]
    budget_usd: float | None = None
    check_timeout: float = 60.0
    extra: dict[str, Any] = field(default_factory=dict)
    policy: LabPolicy = field(default_factory=LabPolicy)
    costs: tuple[DeclaredCost, ...] = ()

    @property
    def total_points(self) -> int:
        return sum(t.points for t in self.tasks)


def load_manifest(path: Path) -> Manifest:
    """Read and validate a lab.toml; the folder name must equal the lab id."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(path, "", "missing (every lab folder needs a lab.toml)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(path, "", f"not valid TOML: {exc}") from None
    return parse_manifest(data, path)


def parse_manifest(data: dict[str, Any], path: Path) -> Manifest:
    v = _Validator(path)
    v.no_unknown_keys(data, _TOP_KEYS, "")
    lab_id = v.string(data, "id", required=True)
    if not ID_RE.fullmatch(lab_id):
        v.fail("id", f"{lab_id!r} must use only a-z, 0-9 and '-' (at most 64)")
    if lab_id != path.parent.name:
        v.fail("id", f"{lab_id!r} must equal the lab's folder name {path.parent.name!r}")
    ttl = v.duration(data, "ttl", "2h")
    max_ttl = v.duration(data, "max_ttl", data.get("ttl", "2h") if "ttl" in data else "2h")
    if max_ttl < ttl:
        v.fail("max_ttl", f"{data.get('max_ttl')!r} must be at least ttl ({data.get('ttl')!r})")
    difficulty = v.string(data, "difficulty", default="beginner")
    if difficulty not in DIFFICULTIES:
        v.fail("difficulty", f"{difficulty!r} is not one of {', '.join(DIFFICULTIES)}")
    return Manifest(
        id=lab_id,
        title=v.string(data, "title", required=True),
        summary=v.string(data, "summary", required=True),
        version=v.string(data, "version", default="1"),
        difficulty=difficulty,
        duration=v.duration_text(data, "duration", "30m"),
        ttl=ttl,
        max_ttl=max_ttl,
        targets=v.subset(data, "targets", TARGETS, default=("local",)),
        requires=v.subset(data, "requires", REQUIRES, default=()),
        tasks=v.tasks(data),
        budget_usd=v.number(data, "budget_usd", minimum=0.0),
        check_timeout=v.number(data, "check_timeout", minimum=1.0) or 60.0,
        policy=v.lab_policy(data),
        costs=v.costs(data),
    )


class _Validator:
    """Field readers that raise ManifestError naming the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field_name: str, problem: str) -> None:
        raise ManifestError(self.path, field_name, problem)

    def no_unknown_keys(self, data: dict[str, Any], known: set[str], prefix: str) -> None:
        unknown = sorted(set(data) - known)
        if unknown:
            self.fail(prefix + unknown[0], f"unknown key (known: {', '.join(sorted(known))})")

    def string(
        self, data: dict[str, Any], key: str, *, required: bool = False, default: str = "",
        prefix: str = "",
    ) -> str:  # fmt: skip
        if key not in data:
            if required:
                self.fail(prefix + key, "missing (required)")
            return default
        value = data[key]
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(prefix + key, f"must be a non-empty string, not {value!r}")
        return str(value)

    def duration(self, data: dict[str, Any], key: str, default: str) -> timedelta:
        value = data.get(key, default)
        if not isinstance(value, str):
            self.fail(key, f'must be a duration string like "2h", not {value!r}')
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ManifestError(self.path, key, str(exc)) from None

    def duration_text(self, data: dict[str, Any], key: str, default: str) -> str:
        """A duration kept as written (for display), but checked like the others."""
        self.duration(data, key, default)
        return str(data.get(key, default))

    def number(
        self, data: dict[str, Any], key: str, *, minimum: float, prefix: str = ""
    ) -> float | None:
        if key not in data:
            return None
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            self.fail(prefix + key, f"must be a number >= {minimum:g}, not {value!r}")
        return float(value)

    def subset(
        self, data: dict[str, Any], key: str, allowed: tuple[str, ...], default: tuple[str, ...]
    ) -> tuple[str, ...]:
        value = data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            self.fail(key, f"must be a list of strings, not {value!r}")
        bad = [x for x in value if x not in allowed]
        if bad:
            self.fail(key, f"{bad[0]!r} is not one of {', '.join(allowed)}")
        if len(set(value)) != len(value):
            self.fail(key, "lists a value twice")
        return tuple(value)

    def costs(self, data: dict[str, Any]) -> tuple[DeclaredCost, ...]:
        raw = data.get("costs", [])
        if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
            self.fail("costs", "must be [[costs]] tables")
        declared = []
        for i, item in enumerate(raw):
            prefix = f"costs[{i}]."
            self.no_unknown_keys(item, _COST_KEYS, prefix)
            kind = self.string(item, "type", required=True, prefix=prefix)
            count = item.get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                self.fail(prefix + "count", f"must be an integer >= 1, not {count!r}")
            values = item.get("values", {})
            if not isinstance(values, dict):
                self.fail(prefix + "values", "must be a table of the resource's arguments")
            declared.append(DeclaredCost(kind, count, values))
        return tuple(declared)

    def lab_policy(self, data: dict[str, Any]) -> LabPolicy:
        raw = data.get("policy", {})
        if not isinstance(raw, dict):
            self.fail("policy", "must be a [policy] table")
        self.no_unknown_keys(raw, _POLICY_KEYS, "policy.")
        lists = {key: self.strings(raw, key, "policy.") for key in sorted(_POLICY_KEYS)}
        bad = [name for name in lists["allow"] if name not in REFUSABLE]
        if bad:
            self.fail("policy.allow", f"{bad[0]!r} is not one of {', '.join(REFUSABLE)}")
        return LabPolicy(**lists)

    def strings(self, data: dict[str, Any], key: str, prefix: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
            self.fail(prefix + key, f"must be a list of strings, not {value!r}")
        return tuple(value)

    def hints(self, item: dict[str, Any], prefix: str) -> tuple[str, ...]:
        """`hint = "..."` (one level) or `hints = ["...", "..."]` (levels, gentlest first)."""
        if "hint" in item and "hints" in item:
            self.fail(prefix + "hints", "give either hint (one level) or hints (a list), not both")
        if "hint" in item:
            hint = self.string(item, "hint", prefix=prefix)
            return (hint,) if hint.strip() else ()
        value = item.get("hints", [])
        if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
            self.fail(prefix + "hints", f"must be a list of non-empty strings, not {value!r}")
        return tuple(value)

    def tasks(self, data: dict[str, Any]) -> tuple[Task, ...]:
        raw = data.get("tasks")
        if raw is None:
            self.fail("tasks", "missing: declare at least one [[tasks]]")
        if not isinstance(raw, list) or not raw or not all(isinstance(t, dict) for t in raw):
            self.fail("tasks", "must be one or more [[tasks]] tables")
        assert isinstance(raw, list)
        tasks: list[Task] = []
        for i, item in enumerate(raw):
            tasks.append(self.task(item, f"tasks[{i}]."))
        ids = [t.id for t in tasks]
        for i, task_id in enumerate(ids):
            if task_id in ids[:i]:
                self.fail(f"tasks[{i}].id", f"{task_id!r} is declared twice")
        return tuple(tasks)

    def task(self, item: dict[str, Any], prefix: str) -> Task:
        self.no_unknown_keys(item, _TASK_KEYS, prefix)
        task_id = self.string(item, "id", required=True, prefix=prefix)
        if not ID_RE.fullmatch(task_id):
            self.fail(prefix + "id", f"{task_id!r} must use only a-z, 0-9 and '-'")
        points = item.get("points", 1)
        if isinstance(points, bool) or not isinstance(points, int) or points < 0:
            self.fail(prefix + "points", f"must be an integer >= 0, not {points!r}")
        return Task(
            id=task_id,
            title=self.string(item, "title", required=True, prefix=prefix),
            points=points,
            hints=self.hints(item, prefix),
            timeout=self.number(item, "timeout", minimum=1.0, prefix=prefix),
        )
