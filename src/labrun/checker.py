"""Grading: run a lab's check.py in a child process and return one result per task.

The policy lives here: the order of the tasks (each after what it ``needs``), blocking
those whose prerequisites did not pass, and the score. The child (labrun.checks._child)
only imports check.py and runs the check it is told to; labrun.checks._process starts it,
enforces each task's timeout and replaces it after a timeout or a crash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from labrun.checks._process import (
    Broken,
    CheckInfo,
    Runner,
    Status,
    child_env,
    log_line,
)
from labrun.errors import LabrunError
from labrun.manifest import Manifest, Task

NO_CHECK = "no check function for this task in check.py"
CYCLE = "its needs form a cycle (see @task(..., needs=...) in check.py)"


@dataclass(frozen=True)
class TaskResult:
    """The grade of one task: ``earned`` is ``points * score`` (pass = all points)."""

    id: str
    title: str
    status: Status
    points: int
    earned: float
    message: str = ""
    hint: str = ""
    more_hints: int = 0  # hint levels not yet revealed (`labrun hint TASK`)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def score(results: list[TaskResult]) -> tuple[float, int]:
    """(points earned, rounded to 2 decimals; points available)."""
    return round(sum(r.earned for r in results), 2), sum(r.points for r in results)


def run_checks(
    lab_dir: Path,
    manifest: Manifest,
    context: dict[str, Any],
    *,
    log_path: Path,
    env: dict[str, str] | None = None,
) -> list[TaskResult]:
    """Grade every task of ``manifest`` with ``lab_dir/check.py``; results in manifest order.

    ``context`` holds what ``ctx`` shows the checks (session, lab, outputs, workspace, tags,
    labels); ``context["workspace"]`` is required and is the child's current directory.
    ``env`` is the session env (else ``context["env"]``): the child runs with os.environ
    plus it, and checks see it as ``ctx.env``.
    """
    check_py = lab_dir / "check.py"
    if not check_py.is_file():
        raise LabrunError(f"{lab_dir}/check.py is missing")
    session_env = dict(env if env is not None else context.get("env") or {})
    request = {"check_py": str(check_py.resolve()), "context": {**context, "env": session_env}}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log_line(log, f"checking lab {manifest.id!r} with {check_py}")
        workspace = Path(context["workspace"])
        runner = Runner(request, workspace, child_env(session_env), log, manifest.check_timeout)
        try:
            results = _grade_all(manifest, runner, log)
        except BaseException:
            runner.kill()
            raise
        runner.close()
    return results


def _grade_all(manifest: Manifest, runner: Runner, log: IO[str]) -> list[TaskResult]:
    try:
        checks = runner.start()
    except Broken as exc:
        return [_result(t, "error", message=str(exc)) for t in manifest.tasks]
    for extra in sorted(set(checks) - {t.id for t in manifest.tasks}):
        log_line(
            log, f"warning: check.py has a check for {extra!r}, not a task of lab.toml: ignored"
        )
    return _Grading(manifest, checks, runner).run()


class _Grading:
    """One pass over a lab's tasks, in dependency order, collecting their results."""

    def __init__(self, manifest: Manifest, checks: dict[str, CheckInfo], runner: Runner) -> None:
        self.manifest = manifest
        self.tasks = {t.id: t for t in manifest.tasks}
        self.checks = checks
        self.runner = runner
        self.needs = {t: checks[t].needs if t in checks else () for t in self.tasks}
        self.results: dict[str, TaskResult] = {}

    def run(self) -> list[TaskResult]:
        cyclic = [t for t in self.tasks if _in_cycle(t, self.needs)]
        for task_id in cyclic:
            self.results[task_id] = _result(self.tasks[task_id], "error", message=CYCLE)
        for task_id in _run_order([t for t in self.tasks if t not in cyclic], self.needs):
            self.results[task_id] = self.grade(self.tasks[task_id])
        return [self.results[t] for t in self.tasks]

    def grade(self, task: Task) -> TaskResult:
        if task.id not in self.checks:
            return _result(task, "error", message=NO_CHECK)
        unknown = [n for n in self.needs[task.id] if n not in self.tasks]
        if unknown:
            return _result(task, "error", message=f"needs {_names(unknown)}: not in lab.toml")
        unmet = [n for n in self.needs[task.id] if self.results[n].status != "pass"]
        if unmet:
            return _result(task, "blocked", message=f"blocked: needs {_names(unmet)} to pass first")
        outcome = self.runner.run(task.id, self.timeout(task))
        return _result(task, outcome.status, outcome.score, outcome.message, outcome.hint)

    def timeout(self, task: Task) -> float:
        """lab.toml's task timeout, else the one given to @task, else the lab's check_timeout."""
        return task.timeout or self.checks[task.id].timeout or self.manifest.check_timeout


def _in_cycle(task_id: str, needs: dict[str, tuple[str, ...]]) -> bool:
    seen: set[str] = set()
    stack = list(needs.get(task_id, ()))
    while stack:
        current = stack.pop()
        if current == task_id:
            return True
        if current not in seen:
            seen.add(current)
            stack.extend(needs.get(current, ()))
    return False


def _run_order(ids: list[str], needs: dict[str, tuple[str, ...]]) -> list[str]:
    """``ids`` reordered so each comes after the ids it needs, else in the given order.

    ``ids`` must hold no cycle; needs outside ``ids`` (unknown, cyclic) impose no order.
    """
    pending, order = list(ids), []
    while pending:
        ready = next(i for i in pending if not any(n in pending for n in needs.get(i, ())))
        pending.remove(ready)
        order.append(ready)
    return order


def _result(
    task: Task, status: Status, score: float = 0.0, message: str = "", hint: str | None = None
) -> TaskResult:
    """A TaskResult; failing and partial tasks show the check's hint, else lab.toml's."""
    shown = (task.hint if hint is None else hint) if status in ("fail", "partial") else ""
    # Rounded like the total, so that the tasks' figures add up to the score shown.
    earned = round(task.points * score, 2) if status in ("pass", "partial") else 0.0
    return TaskResult(task.id, task.title, status, task.points, earned, message, shown)


def _names(ids: list[str]) -> str:
    return ", ".join(ids)
