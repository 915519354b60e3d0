"""`labrun lab test`: the self-test a lab author runs before publishing a lab.

A lab is only as good as its checker. Five steps, each reported:

1. ``start``: a session of the lab on the local target;
2. ``untouched``: a check of the untouched workspace, where every task with points must
   fail (or be blocked). A task that passes or earns points there is a broken checker
   (a learner would score by doing nothing); one that errors crashes on the very first
   `labrun check` a learner runs. Both fail this step, naming the tasks;
3. ``solution``: the reference solution, ``solution/solve.sh`` (run with bash) or
   ``solution/solve.py`` (run with labrun's Python), in the workspace with the session's
   environment, under a timeout;
4. ``solved``: a check that must reach 100%: every task passes;
5. ``stop``: the teardown, whose receipt must say that nothing of the session remains.

The session is always stopped, whichever step failed; later steps still run after a failed
one (except after a failed start), so one run reports every problem.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from labrun import environment, grading, provision, teardown
from labrun.awsenv import overlay
from labrun.catalog import Lab, find_lab, load_lab
from labrun.errors import BadInput, LabrunError
from labrun.reports import number, score_text
from labrun.session import Session, session_manifest
from labrun.store import SessionStore
from labrun.tfengine import ProgressCallback

StepStatus = Literal["ok", "failed", "skipped"]
STEPS = ("start", "untouched", "solution", "solved", "stop")
SOLUTIONS = ("solve.sh", "solve.py")
SOLUTION_TIMEOUT = 600.0  # seconds
_TAIL = 5  # lines of the solution's output shown when it fails


@dataclass(frozen=True)
class Step:
    """The outcome of one step; ``detail`` holds its data (a check report, a receipt...)."""

    name: str
    status: StepStatus
    message: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"step": self.name, "status": self.status, "message": self.message, **self.detail}


@dataclass
class LabTest:
    """Every step of one `labrun lab test` run; ``ok`` when each of the five is ok."""

    lab: str
    path: str
    session: str | None = None
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return [s.name for s in self.steps if s.status == "ok"] == list(STEPS)

    def to_json(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "path": self.path,
            "session": self.session,
            "ok": self.ok,
            "steps": [s.to_json() for s in self.steps],
        }


def find(lab: str, labs_dir: Path | None = None) -> Lab:
    """A lab folder given by its path (it holds lab.toml), else the lab of that id."""
    if (Path(lab) / "lab.toml").is_file():
        return load_lab(Path(lab))
    return find_lab(lab, labs_dir)


def solution_script(lab: Lab) -> Path:
    """The lab's reference solution; BadInput when it has none."""
    for name in SOLUTIONS:
        if (lab.solution_dir / name).is_file():
            return lab.solution_dir / name
    raise BadInput(
        f"lab {lab.id} has no reference solution to test with: add solution/solve.sh "
        "or solution/solve.py"
    )


def run(
    store: SessionStore,
    lab: Lab,
    *,
    solution_timeout: float = SOLUTION_TIMEOUT,
    on_step: Callable[[Step], None] | None = None,
    progress: ProgressCallback | None = None,
) -> LabTest:
    """Run the five steps on ``lab``; ``on_step`` sees each step as it ends."""
    script = solution_script(lab)
    result = LabTest(lab.id, str(lab.path))

    def record(step: Step) -> None:
        result.steps.append(step)
        if on_step is not None:
            on_step(step)

    try:
        session = provision.start(store, lab, progress=progress)
    except LabrunError as exc:
        record(Step("start", "failed", str(exc)))
        for name in STEPS[1:]:
            record(Step(name, "skipped", "the session did not start"))
        return result
    result.session = session.id
    record(Step("start", "ok", f"session {session.id} is active"))
    try:
        record(_guarded("untouched", lambda: untouched(store, session)))
        record(_guarded("solution", lambda: run_solution(session, script, solution_timeout)))
        record(_guarded("solved", lambda: solved(store, session)))
    finally:
        record(_guarded("stop", lambda: stop(store, session, progress)))
    return result


def _guarded(name: str, step: Callable[[], Step]) -> Step:
    """Run one step; a labrun error fails that step, not the whole test."""
    try:
        return step()
    except LabrunError as exc:
        return Step(name, "failed", str(exc))


def untouched(store: SessionStore, session: Session) -> Step:
    """Check the untouched work: every task with points must fail or be blocked."""
    report = grading.check(store, session)
    scored = [t for t in report.tasks if t.points > 0]
    broken = [t for t in scored if t.status in ("pass", "partial")]
    crashed = [t for t in scored if t.status == "error"]
    detail = {
        "broken": [t.id for t in broken],
        "crashed": [t.id for t in crashed],
        "check": report.to_json(),
    }
    problems = []
    if broken:
        named = ", ".join(f"{t.id} ({t.status}, {number(t.earned)}/{t.points})" for t in broken)
        problems.append(f"the checker passes untouched work: {named}")
    if crashed:
        named = ", ".join(f"{t.id} ({t.message})" for t in crashed)
        problems.append(f"the checker crashes on untouched work: {named}")
    if problems:
        return Step("untouched", "failed", "; ".join(problems), detail)
    score = score_text(report.score, report.total)
    message = f"every task with points fails on untouched work: {score}"
    return Step("untouched", "ok", message, detail)


def solved(store: SessionStore, session: Session) -> Step:
    """Check after the reference solution: every task must pass."""
    report = grading.check(store, session)
    score = score_text(report.score, report.total)
    detail = {"check": report.to_json()}
    if report.passed:
        return Step("solved", "ok", f"the reference solution scores {score}", detail)
    missed = ", ".join(
        f"{t.id} ({t.status}: {t.message})" for t in report.tasks if t.status != "pass"
    )
    message = f"the reference solution scores {score}, not 100%: {missed}"
    return Step("solved", "failed", message, detail)


def stop(store: SessionStore, session: Session, progress: ProgressCallback | None) -> Step:
    """Tear the session down; nothing of it may remain."""
    receipt = teardown.stop(store, store.get(session.id), progress)
    detail = {"receipt": receipt.to_json()}
    if receipt.ok:
        return Step("stop", "ok", "nothing of this session remains", detail)
    left = [f"{r['kind']} {r.get('name') or r['id']}" for r in receipt.remaining]
    message = "; ".join([*(f"still there: {x}" for x in left), *receipt.errors])
    return Step("stop", "failed", message, detail)


def run_solution(session: Session, script: Path, timeout: float) -> Step:
    """Run the reference solution in the workspace, with the session's environment."""
    log = session.logs_dir / "solution.log"
    shown = f"solution/{script.name}"
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as output:
        env = _solution_env(session)
        code = _execute(_command(script), session.workspace, env, output, timeout)
    seconds = round(time.monotonic() - started, 1)
    detail = {"script": str(script), "exit_code": code, "seconds": seconds, "log": str(log)}
    if code is None:
        message = f"{shown} still ran after {timeout:g} s: killed"
        return Step("solution", "failed", message, detail)
    if code != 0:
        tail = " | ".join(log.read_text(encoding="utf-8").strip().splitlines()[-_TAIL:])
        return Step("solution", "failed", f"{shown} exited {code}: {tail}", detail)
    return Step("solution", "ok", f"{shown} ran in {seconds:.1f} s", detail)


def _command(script: Path) -> list[str]:
    if script.suffix == ".py":
        return [sys.executable, str(script)]
    return ["bash", str(script)]


def _solution_env(session: Session) -> dict[str, str]:
    """What the learner's shell has after `eval "$(labrun env)"`, plus LABRUN_PYTHON."""
    endpoint = environment.cloud_endpoint_for(session_manifest(session), session)
    session_env = environment.session_env(session, endpoint)
    return {**overlay(os.environ, session_env), "LABRUN_PYTHON": sys.executable}


def _execute(
    command: list[str], cwd: Path, env: dict[str, str], output: Any, timeout: float
) -> int | None:
    """Run ``command``; its exit code, or None when it was killed at the timeout."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return None
    except BaseException:
        _kill(proc)
        raise


def _kill(proc: subprocess.Popen[Any]) -> None:
    """Kill the solution and whatever it started (its process group)."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
