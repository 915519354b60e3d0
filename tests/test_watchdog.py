"""The session watchdog, through the real CLI, the embedded Terraform and real processes.

No labrun command runs between a start and the expiry: only the watchdog can end the session.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labrun import watchdog
from labrun.lease import process_started
from labrun.session import parse_rfc3339, utcnow
from labrun.store import SessionStore
from testing.cli import labrun, labrun_json

DEADLINE = 180.0  # seconds: generous on a shared 2-core machine; the polls end far sooner


@pytest.fixture
def watched(labrun_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The watchdog on, for this test; whatever watchdog it left is killed afterwards."""
    monkeypatch.setenv("LABRUN_WATCHDOG", "on")
    yield
    dog = watchdog.status()
    if dog.running and dog.pid:
        os.kill(dog.pid, signal.SIGKILL)


def poll(what: str, ready: Callable[[], bool], deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not ready():
        assert time.monotonic() < end, f"still waiting, after {deadline:.0f}s, for {what}"
        time.sleep(0.2)


def start(test_labs: Path, ttl: str) -> dict[str, object]:
    proc = labrun(
        "start", "grading-demo", "--labs-dir", str(test_labs), "--ttl", ttl, "--new", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    started: dict[str, object] = json.loads(proc.stdout)
    started["stderr"] = proc.stderr
    return started


def ended(session_id: str) -> Callable[[], bool]:
    return lambda: SessionStore.open().get(session_id).status == "ended"


def watchdog_pid() -> int:
    dog = watchdog.status()
    assert dog.running and dog.pid, dog
    return dog.pid


def test_an_expired_session_is_torn_down_with_no_command_run(
    watched: None, test_labs: Path
) -> None:
    started = start(test_labs, "3s")
    sid = str(started["session"])
    assert f"warning: session {sid} has" in str(started["stderr"])  # under 10 minutes
    pid = watchdog_pid()

    poll(f"the watchdog to end {sid}", ended(sid))
    events = SessionStore.open().events(sid)
    assert [e["reason"] for e in events if e["event"] == "watchdog"] == ["expired"]
    receipt = next(e for e in events if e["event"] == "teardown")
    assert receipt["ok"] is True
    # No session left: the watchdog exits and forgets itself.
    poll("the watchdog to exit", lambda: process_started(pid) is None)
    assert not watchdog.state_path().exists()


def test_a_killed_watchdog_is_restarted_by_the_next_command(watched: None, test_labs: Path) -> None:
    sid = str(start(test_labs, "20s")["session"])
    first = watchdog_pid()
    os.kill(first, signal.SIGKILL)
    poll("the killed watchdog to be gone", lambda: process_started(first) is None)
    assert not watchdog.status().running  # its record names a dead process

    status = labrun_json("status")  # any command: it finds the watchdog dead
    assert status["watchdog"]["running"] is True
    second = watchdog_pid()
    assert second != first
    assert status["watchdog"]["next_expiry"]["session"] == sid

    poll(f"the restarted watchdog to end {sid}", ended(sid))
    assert SessionStore.open().get(sid).status == "ended"


def test_one_watchdog_per_home_and_status_says_expiry_is_armed(
    watched: None, test_labs: Path
) -> None:
    one = str(start(test_labs, "1h")["session"])
    pid = watchdog_pid()
    two = str(start(test_labs, "30m")["session"])
    assert watchdog_pid() == pid  # the second start found it running
    poll("the watchdog to see both", lambda: len(watchdog.status().sessions) == 2)
    assert watchdog.status().sessions[0][0] == two  # the sooner expiry first

    shown = labrun("status")
    assert f"Expiry armed: the watchdog (pid {pid}) tears {two} down" in shown.stdout
    reapers = labrun_json("reaper", "status")
    assert reapers["watchdog"]["pid"] == pid and reapers["cloud"]["checked"] is False
    for sid in (one, two):
        labrun_json("stop", sid)
    poll("the watchdog to exit", lambda: process_started(pid) is None)


def test_the_first_command_past_ten_minutes_left_warns_once(watched: None, test_labs: Path) -> None:
    started = start(test_labs, "10m15s")  # a slow start still ends above 10m
    sid = str(started["session"])
    assert "left" not in str(started["stderr"])  # more than 10 minutes at start
    expires_at = parse_rfc3339(str(started["expires_at"]))
    poll("10 minutes left", lambda: (expires_at - utcnow()).total_seconds() < 599)

    first = labrun("list")
    assert f"warning: session {sid} has" in first.stderr
    assert "torn down at" in first.stderr
    again = labrun("list")
    assert sid not in again.stderr  # once per session
    labrun_json("stop", sid)


def test_off_means_no_watchdog_and_start_says_so(test_labs: Path) -> None:
    proc = labrun("start", "grading-demo", "--labs-dir", str(test_labs), "--ttl", "1h")
    assert proc.returncode == 0, proc.stderr
    assert "the watchdog is off" in proc.stdout
    assert not watchdog.state_path().exists()
    status = labrun_json("status")
    assert status["watchdog"] == {
        "enabled": False, "running": False, "pid": None, "next_expiry": None
    }  # fmt: skip
    labrun_json("stop", status["sessions"][0]["session"])
