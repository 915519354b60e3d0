"""Grading: run a lab's check.py in a child process and return one result per task.

The policy lives here, the child (labrun.checks._child) only imports check.py and runs
the check it is told to. This side orders the tasks so that each runs after what it
``needs``, blocks those whose prerequisites did not pass, and enforces each task's
timeout: on a timeout, or when the child dies, it kills the child's whole process group,
marks that task "error" and carries on with a fresh child for the remaining tasks.
The child's stderr (tracebacks, anything a check prints) is appended to the session log.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

from labrun.errors import LabrunError
from labrun.manifest import Manifest, Task

Status = Literal["pass", "partial", "fail", "blocked", "error"]
NO_CHECK = "no check function for this task in check.py"
CYCLE = "its needs form a cycle (see @task(..., needs=...) in check.py)"
_CLOSE_GRACE = 5.0  # seconds an idle child gets to exit after its stdin closes


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
        _log(log, f"checking lab {manifest.id!r} with {check_py}")
        workspace = Path(context["workspace"])
        runner = _Runner(request, workspace, _child_env(session_env), log, manifest.check_timeout)
        try:
            results = _grade_all(manifest, runner, log)
        except BaseException:
            runner.kill()
            raise
        runner.close()
    return results


def _grade_all(manifest: Manifest, runner: _Runner, log: IO[str]) -> list[TaskResult]:
    try:
        checks = runner.start()
    except _Broken as exc:
        return [_result(t, "error", message=str(exc)) for t in manifest.tasks]
    for extra in sorted(set(checks) - {t.id for t in manifest.tasks}):
        _log(log, f"warning: check.py has a check for {extra!r}, not a task of lab.toml: ignored")
    return _Grading(manifest, checks, runner).run()


class _Grading:
    """One pass over a lab's tasks, in dependency order, collecting their results."""

    def __init__(self, manifest: Manifest, checks: dict[str, _CheckInfo], runner: _Runner) -> None:
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


def _log(log: IO[str], line: str) -> None:
    log.write(f"labrun: {line}\n")
    log.flush()


def _child_env(session_env: dict[str, str]) -> dict[str, str]:
    """os.environ plus the session env, with this labrun importable in the child."""
    env = {**os.environ, **session_env}
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


class _CheckInfo(NamedTuple):
    """What the child reported about one registered check."""

    needs: tuple[str, ...]
    timeout: float | None


class _Outcome(NamedTuple):
    status: Status
    score: float
    message: str
    hint: str | None


class _Broken(Exception):
    """check.py could not be loaded in a child; the message is the tasks' error message."""


class _Runner:
    """Runs checks in a child process, replacing the child after a timeout or a crash."""

    def __init__(
        self,
        request: dict[str, Any],
        cwd: Path,
        env: dict[str, str],
        log: IO[str],
        import_timeout: float,
    ) -> None:
        self.request, self.cwd, self.env, self.log = request, cwd, env, log
        self.import_timeout = import_timeout
        self.child: _Child | None = None

    def start(self) -> dict[str, _CheckInfo]:
        """Start a child; the checks check.py registered, or _Broken if it does not load."""
        import_timeout = self.import_timeout
        child = _Child(self.request, self.cwd, self.env, self.log)
        event = child.next_event({"ready", "import-error"}, time.monotonic() + import_timeout)
        if event["event"] != "ready":
            child.kill()
            raise _Broken(_import_problem(event, import_timeout))
        self.child = child
        return {c["id"]: _CheckInfo(tuple(c["needs"]), c["timeout"]) for c in event["checks"]}

    def run(self, task_id: str, timeout: float) -> _Outcome:
        try:
            child = self.child or self._restart()
        except _Broken as exc:
            return _Outcome("error", 0.0, str(exc), None)
        child.send({"run": task_id})
        event = child.next_event({"result"}, time.monotonic() + timeout)
        if event["event"] == "result":
            return _Outcome(event["status"], event["score"], event["message"], event["hint"])
        self.kill()
        if event["event"] == "timeout":
            _log(self.log, f"check {task_id!r} timed out after {timeout:g} s: killed")
            return _Outcome("error", 0.0, f"timed out after {timeout:g} s", None)
        _log(self.log, f"check {task_id!r}: {event['message']}")
        return _Outcome("error", 0.0, event["message"], None)

    def _restart(self) -> _Child:
        self.start()
        assert self.child is not None
        return self.child

    def kill(self) -> None:
        if self.child is not None:
            self.child.kill()
            self.child = None

    def close(self) -> None:
        if self.child is not None:
            self.child.close()
            self.child = None


def _import_problem(event: dict[str, Any], timeout: float) -> str:
    if event["event"] == "timeout":
        return f"check.py failed to import: still importing after {timeout:g} s"
    if event["event"] == "exit":
        return f"check.py failed to import: {event['message']}"
    return str(event["message"])


class _Child:
    """One `python -m labrun.checks._child` process, in its own process group.

    A reader thread turns its stdout lines into events on a queue, so the parent can wait
    for the next one with a deadline. Two events are made up here: "timeout" (the
    deadline passed) and "exit" (stdout closed: the child died).
    """

    def __init__(
        self, request: dict[str, Any], cwd: Path, env: dict[str, str], log: IO[str]
    ) -> None:
        # -P: files in the learner's workspace (the cwd) must not shadow modules.
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "labrun.checks._child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=cwd,
            env=env,
            text=True,
            encoding="utf-8",
            start_new_session=True,
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send(request)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                with suppress(json.JSONDecodeError):
                    self.events.put(json.loads(line))
        self.events.put(None)

    def send(self, message: dict[str, Any]) -> None:
        """Write one request line; if the child is gone, next_event reports it."""
        assert self.proc.stdin is not None
        with suppress(OSError):
            self.proc.stdin.write(json.dumps(message, default=str) + "\n")
            self.proc.stdin.flush()

    def next_event(self, kinds: set[str], deadline: float) -> dict[str, Any]:
        """The next event of one of ``kinds``, or a "timeout" or "exit" event."""
        while True:
            try:
                event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return {"event": "timeout"}
            if event is None:
                return {"event": "exit", "message": self._death()}
            if event["event"] in kinds:
                return event

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=_CLOSE_GRACE)
        except subprocess.TimeoutExpired:
            return "the check process closed its output and stopped answering"
        if code < 0:
            return f"the check process was killed by {signal.Signals(-code).name}"
        return f"the check process exited unexpectedly (exit code {code})"

    def kill(self) -> None:
        """Kill the child and anything it started (its whole process group)."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._close_stdin()

    def close(self) -> None:
        """Let an idle child exit (EOF on its stdin); kill it if it does not."""
        self._close_stdin()
        try:
            self.proc.wait(timeout=_CLOSE_GRACE)
        except subprocess.TimeoutExpired:
            self.kill()

    def _close_stdin(self) -> None:
        assert self.proc.stdin is not None
        with suppress(OSError):
            self.proc.stdin.close()
