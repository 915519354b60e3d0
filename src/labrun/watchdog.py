"""The session watchdog: one detached process per LABRUN_HOME that tears sessions down at expiry.

`labrun start` arms it; it sleeps until the next expiry among the live sessions, tears that
session down with the one teardown pipeline (lease, receipt, journal), and exits once no
session is left. It is recorded in `watchdog.json` (its pid and the process's start time, so
that a reused pid is never taken for it, and the live sessions' expiries), and any labrun
command that finds it dead starts it again (`on_command`, cheap: one small file read).

It sleeps in short steps and checks the wall clock after each one: a laptop that wakes past
an expiry acts within one step, whatever the monotonic clock did while it slept.
`LABRUN_WATCHDOG=off` turns it off (then `labrun reap` or `labrun reaper install` does the job).

Run as `python -m labrun.watchdog`; this module is the process's whole program.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labrun.home import labrun_home, logs_dir

if TYPE_CHECKING:
    from labrun.session import Session
    from labrun.store import SessionStore

STEP = 10.0  # seconds: the longest sleep, so a wake-up past an expiry acts within it
RETRY_AFTER = 60.0  # seconds before a failed teardown is tried again
LOCK_WAIT = 15.0  # seconds a new watchdog waits for an exiting one to let go of the lock
ARM_WAIT = 5.0  # seconds a command waits for the watchdog it started to record itself
WARN_UNDER = 600  # seconds: "less than 10 minutes left"
OFF = ("0", "off", "false", "no")


@dataclass(frozen=True)
class Watchdog:
    """What `watchdog.json` says, and whether that process is still the watchdog."""

    running: bool
    pid: int | None = None
    sessions: tuple[tuple[str, str], ...] = ()  # (session id, expires_at RFC 3339), soonest first
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        nxt = self.sessions[0] if self.sessions else None
        return {
            "enabled": self.enabled, "running": self.running, "pid": self.pid,
            "next_expiry": {"session": nxt[0], "expires_at": nxt[1]} if nxt else None,
        }  # fmt: skip


def enabled() -> bool:
    return os.environ.get("LABRUN_WATCHDOG", "on").strip().lower() not in OFF


def state_path() -> Path:
    return labrun_home() / "watchdog.json"


def status() -> Watchdog:
    """The recorded watchdog, and whether it is alive (same pid and same process start)."""
    if not enabled():
        return Watchdog(running=False, enabled=False)
    try:
        data = json.loads(state_path().read_text())
    except (OSError, ValueError):
        return Watchdog(running=False)
    from labrun.lease import holder_alive

    pid, started = int(data.get("pid", 0)), data.get("started")
    sessions = tuple((s["id"], s["expires_at"]) for s in data.get("sessions", []))
    alive = pid > 0 and started is not None and holder_alive(pid, started)
    return Watchdog(running=alive, pid=pid, sessions=sessions)


def ensure_running(wait: float = ARM_WAIT) -> Watchdog:
    """Start the watchdog unless it runs; wait (a little) until it has recorded itself."""
    current = status()
    if current.running or not current.enabled:
        return current
    _spawn()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.05)
        current = status()
        if current.running:
            break
    return current


def on_command() -> None:
    """Run by every labrun command: restart a dead watchdog, warn of an expiry under 10 minutes.

    Cheap when nothing is due: no watchdog.json (no session to watch) means one failed open."""
    current = status()
    if not current.enabled or current.pid is None:
        return
    if not current.running:
        current = ensure_running()
    warn_soon([sid for sid, _ in current.sessions], dict(current.sessions))


def warn_soon(ids: list[str], expiries: dict[str, str]) -> None:
    """One stderr line per session with less than 10 minutes left, once per session."""
    from labrun.durations import format_duration
    from labrun.session import parse_rfc3339, utcnow

    warned_file = labrun_home() / "watchdog-warned"
    try:
        warned = set(warned_file.read_text().split())
    except OSError:
        warned = set()
    now = utcnow()
    for sid in ids:
        expires_at = parse_rfc3339(expiries[sid])
        left = (expires_at - now).total_seconds()
        if sid in warned or left >= WARN_UNDER:
            continue
        if left > 0:
            sys.stderr.write(
                f"labrun: warning: session {sid} has {format_duration(expires_at - now)} left: "
                f"it is torn down at {expires_at:%H:%M:%S} UTC "
                f"(`labrun extend {sid} 30m` for more)\n"
            )
        else:
            sys.stderr.write(f"labrun: warning: session {sid} has expired: it is torn down now\n")
        with warned_file.open("a") as f:
            f.write(sid + "\n")


def arm(session: Session) -> str:
    """Make sure the watchdog watches `session` (just recorded); the one line saying what
    happens at its expiry. Warns when less than 10 minutes are left."""
    from labrun.session import rfc3339

    when = f"{session.expires_at:%H:%M} UTC"
    if not enabled():
        line = (
            f"At {when} this session expires; the watchdog is off (LABRUN_WATCHDOG): "
            "`labrun reap` tears it down."
        )
    else:
        dog = ensure_running()
        who = f"the watchdog (pid {dog.pid})" if dog.running else "the next labrun command"
        line = (
            f"At {when} {who} tears this session down, with nobody at the keyboard; "
            "`labrun extend` gives it more time."
        )
    warn_soon([session.id], {session.id: rfc3339(session.expires_at)})
    return line


def _spawn() -> None:
    """A detached `python -m labrun.watchdog`: its own session and process group, no terminal,
    so that closing the terminal (SIGHUP) or Ctrl-C in it leaves it running."""
    import subprocess

    home = labrun_home()
    log = (logs_dir() / "watchdog.log").open("ab")
    with log:
        subprocess.Popen(
            [sys.executable, "-m", "labrun.watchdog"],
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )


# ---- the watchdog process itself -------------------------------------------------------


def main() -> int:
    """The watchdog's loop: returns when no live session is left (or another one runs)."""
    lock = _take_lock()
    if lock is None:
        _log("another watchdog runs for this LABRUN_HOME: exiting")
        return 0
    from labrun.store import SessionStore

    store = SessionStore.open()
    failed_at: dict[str, float] = {}
    _log(f"watching {labrun_home()} (pid {os.getpid()})")
    while True:
        if not store.path.exists():  # its LABRUN_HOME was deleted: nothing left to watch
            return 0
        live = store.sessions(live_only=True)
        if not live:
            _forget_self()
            live = store.sessions(live_only=True)  # a start may have recorded one meanwhile
            if not live:
                _log("no live session left: exiting")
                return 0
        _record(live)
        _tear_down_due(store, failed_at)
        time.sleep(_nap(live))


def _nap(live: list[Session]) -> float:
    """Until the next expiry, at most STEP: the wall clock is checked again after each nap."""
    from labrun.session import utcnow

    soonest = min(s.expires_at for s in live)
    return min(STEP, max(0.2, (soonest - utcnow()).total_seconds()))


def _tear_down_due(store: SessionStore, failed_at: dict[str, float]) -> None:
    from labrun import teardown
    from labrun.reaper import due_sessions

    for session, why in due_sessions(store, owner=None):
        if time.monotonic() - failed_at.get(session.id, -RETRY_AFTER) < RETRY_AFTER:
            continue
        _log(f"session {session.id} ({session.lab}): {why}: tearing down")
        store.journal(session.id, "watchdog", {"reason": why, "pid": os.getpid()})
        try:
            receipt = teardown.stop(store, session)
        except Exception as exc:  # logged and retried later: one session never stops the rest
            failed_at[session.id] = time.monotonic()
            _log(f"session {session.id}: teardown failed: {type(exc).__name__}: {exc}")
            continue
        if receipt.ok:
            failed_at.pop(session.id, None)
            _log(f"session {session.id}: ended, nothing remains")
        else:
            failed_at[session.id] = time.monotonic()
            _log(f"session {session.id}: teardown incomplete: {receipt.errors[:1]}")


def _record(live: list[Session]) -> None:
    """Write watchdog.json when what it says changed (atomically: readers never see half)."""
    from labrun.lease import process_started
    from labrun.session import rfc3339

    ordered = sorted(live, key=lambda s: s.expires_at)
    data = {
        "pid": os.getpid(),
        "started": process_started(os.getpid()),
        "sessions": [{"id": s.id, "expires_at": rfc3339(s.expires_at)} for s in ordered],
    }
    text = json.dumps(data, indent=1)
    path = state_path()
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    scratch = path.with_name(f".watchdog.{os.getpid()}.json")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(scratch, path)


def _forget_self() -> None:
    """Remove watchdog.json if it names this process (before the last look at the store, so
    that a start recording a session after that look finds no watchdog and starts one)."""
    if status().pid == os.getpid():
        state_path().unlink(missing_ok=True)


def _take_lock() -> Any:
    """The exclusive lock that makes this the only watchdog of its LABRUN_HOME (held until
    the process exits), or None when another one keeps it past LOCK_WAIT."""
    import fcntl

    handle = (labrun_home() / "watchdog.lock").open("a")
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                return None
            time.sleep(0.2)


def _log(message: str) -> None:
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S%z")
    print(f"{stamp} watchdog: {message}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
