"""The parent's side of the check process: start `python -m labrun.checks._child`, ask it
to run one check at a time, and enforce each check's timeout.

On a timeout, or when the child dies, the child's whole process group is killed (with
whatever the check started) and a fresh child serves the remaining tasks. The child's
stderr (tracebacks, anything a check prints) is appended to the session log.
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
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

from labrun.awsenv import overlay

Status = Literal["pass", "partial", "fail", "blocked", "error"]
_CLOSE_GRACE = 5.0  # seconds an idle child gets to exit after its stdin closes


def log_line(log: IO[str], line: str) -> None:
    log.write(f"labrun: {line}\n")
    log.flush()


def child_env(session_env: dict[str, str]) -> dict[str, str]:
    """os.environ plus the session env, with this labrun importable in the child."""
    env = overlay(os.environ, session_env)  # the session's AWS settings, whole
    package_root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


class CheckInfo(NamedTuple):
    """What the child reported about one registered check."""

    needs: tuple[str, ...]
    timeout: float | None


class Outcome(NamedTuple):
    status: Status
    score: float
    message: str
    hint: str | None


class Broken(Exception):
    """check.py could not be loaded in a child; the message is the tasks' error message."""


class Runner:
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

    def start(self) -> dict[str, CheckInfo]:
        """Start a child; the checks check.py registered, or Broken if it does not load."""
        import_timeout = self.import_timeout
        child = _Child(self.request, self.cwd, self.env, self.log)
        event = child.next_event({"ready", "import-error"}, time.monotonic() + import_timeout)
        if event["event"] != "ready":
            child.kill()
            raise Broken(_import_problem(event, import_timeout))
        self.child = child
        return {c["id"]: CheckInfo(tuple(c["needs"]), c["timeout"]) for c in event["checks"]}

    def run(self, task_id: str, timeout: float) -> Outcome:
        try:
            child = self.child or self._restart()
        except Broken as exc:
            return Outcome("error", 0.0, str(exc), None)
        child.send({"run": task_id})
        event = child.next_event({"result"}, time.monotonic() + timeout)
        if event["event"] == "result":
            return Outcome(event["status"], event["score"], event["message"], event["hint"])
        self.kill()
        if event["event"] == "timeout":
            log_line(self.log, f"check {task_id!r} timed out after {timeout:g} s: killed")
            return Outcome("error", 0.0, f"timed out after {timeout:g} s", None)
        log_line(self.log, f"check {task_id!r}: {event['message']}")
        return Outcome("error", 0.0, event["message"], None)

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
