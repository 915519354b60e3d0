"""Hint levels: a task's hints are revealed one at a time, and each session keeps how far.

A task declares its hints in lab.toml, gentlest first (`hints = [...]`, or `hint = "..."`
for one level). `labrun check` shows the first level of a task that does not pass (or the
check's own hint); `labrun hint TASK` reveals the next. The store keeps, per session and
task, how many levels have been revealed, so a hint is never taken back and the next one
follows on from the last, whichever command (or `labrun ui`) revealed it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from labrun.checker import TaskResult
from labrun.errors import BadInput
from labrun.manifest import Manifest, Task
from labrun.store import SessionStore

SHOWS_HINTS = ("fail", "partial")


@dataclass(frozen=True)
class Hints:
    """A task's hints as a session has revealed them: the shape of `labrun hint --json`."""

    session: str
    task: str
    title: str
    revealed: tuple[str, ...]  # the levels revealed so far, first level first
    levels: int  # how many the task has

    @property
    def more(self) -> int:
        return self.levels - len(self.revealed)

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session, "task": self.task, "title": self.title,
            "level": len(self.revealed), "levels": self.levels, "hints": list(self.revealed),
            "more": self.more,
        }  # fmt: skip


def find_task(manifest: Manifest, task_id: str) -> Task:
    for task in manifest.tasks:
        if task.id == task_id:
            return task
    known = ", ".join(t.id for t in manifest.tasks)
    raise BadInput(f"lab {manifest.id} has no task {task_id!r} (its tasks: {known})")


def revealed(store: SessionStore, session_id: str, task: Task) -> Hints:
    """What the session has revealed of `task`'s hints, revealing nothing more."""
    level = min(store.hint_levels(session_id).get(task.id, 0), len(task.hints))
    return Hints(session_id, task.id, task.title, task.hints[:level], len(task.hints))


def reveal_next(store: SessionStore, session_id: str, task: Task) -> Hints:
    """Reveal one more level of `task`'s hints (the same ones again once all are shown)."""
    current = revealed(store, session_id, task)
    if current.more:
        store.reveal_hints(session_id, task.id, len(current.revealed) + 1)
        store.journal(session_id, "hint", {"task": task.id, "level": len(current.revealed) + 1})
    return revealed(store, session_id, task)


def with_levels(
    store: SessionStore, session_id: str, manifest: Manifest, results: list[TaskResult]
) -> list[TaskResult]:
    """`results` with how many hints each task has left; showing a task's first level (as
    `labrun check` does) counts as revealing it."""
    tasks = {t.id: t for t in manifest.tasks}
    counted = []
    for result in results:
        task = tasks.get(result.id)
        if task is None or not task.hints or result.status not in SHOWS_HINTS:
            counted.append(result)
            continue
        if result.hint == task.hint:
            store.reveal_hints(session_id, task.id, 1)
        more = revealed(store, session_id, task).more
        counted.append(replace(result, more_hints=more))
    return counted


def next_task(manifest: Manifest, last_report: dict[str, Any] | None) -> Task:
    """The task `labrun hint` is about when none is named: the first that did not pass at
    the last check (the first task before any check)."""
    if last_report is None:
        return manifest.tasks[0]
    passed = {t["id"] for t in last_report["tasks"] if t["status"] == "pass"}
    for task in manifest.tasks:
        if task.id not in passed:
            return task
    raise BadInput("every task passed at your last check: there is nothing to hint")
