"""Ctrl-C at any point of a start leaves nothing (the local cloud included), or a session
that stays listed and one line saying how to stop it.

Real components: the `labrun start` command line in a child process interrupted with
SIGINT, the embedded Terraform, the moto server labrun starts.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from labrun import localcloud
from labrun.store import SessionStore
from testing.cli import labrun_json, spawn, wait_for
from testing.midway import recorded, sleeping


@pytest.mark.parametrize("point", ["recorded", "terraform", "active"])
def test_ctrl_c_during_a_start_leaves_nothing_or_says_how_to_stop(
    test_labs: Path, point: str
) -> None:
    store = SessionStore.open()
    start = spawn("start", "late-bucket", "--labs-dir", str(test_labs))
    session = recorded(store, "late-bucket")  # the local cloud is coming up for it
    if point == "terraform":
        wait_for(lambda: sleeping(session))
    if point == "active":  # provisioned: catch it before it has printed the session
        wait_for(lambda: store.get(session.id).status == "active", every=0.005)
        os.kill(start.pid, signal.SIGSTOP)
        assert start.poll() is None, "the start ended before it could be interrupted"
    start.send_signal(signal.SIGINT)
    if point == "active":
        os.kill(start.pid, signal.SIGCONT)
    _, stderr = start.communicate(timeout=120)

    assert start.returncode == 130, stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    live = store.sessions(live_only=True)
    if point == "active":
        assert [s.id for s in live] == [session.id]
    if live:  # still there: listed, and one line says how to stop it
        status = labrun_json("status")["sessions"]
        assert [s["session"] for s in status] == [session.id]
        assert last == (
            f"labrun: interrupted: session {session.id} is still there ({live[0].status}): "
            f"`labrun stop {session.id}` tears it down"
        )
        assert labrun_json("stop", session.id)["ok"] is True
    else:  # nothing left: the session failed, its cleanup proven, the cloud stopped
        assert last == f"labrun: interrupted: session {session.id} failed; nothing was left running"
        assert store.get(session.id).status == "failed"
    assert localcloud.status().running is False
    assert not (localcloud.cloud_dir() / "server.json").exists()
