"""The session store under concurrent processes, and session ids."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from labrun.errors import BadInput
from labrun.session import Session, new_session_id, utcnow
from labrun.store import SessionStore

WRITER = """
import sys
from datetime import timedelta
from pathlib import Path
from labrun.session import Session, new_session_id, utcnow
from labrun.store import SessionStore

store = SessionStore(Path(sys.argv[1]))
for n in range(int(sys.argv[2])):
    now = utcnow()
    s = Session(id=new_session_id(), lab="lab", lab_dir=Path("/l"), target="local",
                status="provisioning", created_at=now, expires_at=now + timedelta(hours=1),
                owner="o", workdir=Path("/w"))
    assert store.insert(s)
    store.update(s.id, status="active", outputs={"n": n})
    store.journal(s.id, "note", {"n": n})
"""


def make_session(session_id: str = "abc12345", status: str = "provisioning") -> Session:
    now = utcnow()
    return Session(
        id=session_id, lab="lab", lab_dir=Path("/labs/lab"), target="local", status=status,
        created_at=now, expires_at=now + timedelta(hours=1), owner="me", workdir=Path("/w"),
    )  # fmt: skip


def test_session_ids_are_short_and_safe_in_resource_names() -> None:
    ids = {new_session_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"[a-z][a-z0-9]{7}", i) for i in ids)


def test_insert_get_update_and_journal(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    session = make_session()
    assert store.insert(session)
    assert not store.insert(session)  # the id is taken: the caller draws another
    store.update(session.id, status="active", outputs={"bucket": "b"}, env={"K": "V"})
    got = store.get(session.id)
    assert (got.status, got.outputs, got.env) == ("active", {"bucket": "b"}, {"K": "V"})
    assert got.expires_at == session.expires_at
    assert [e["event"] for e in store.events(session.id)] == ["created", "status"]
    with pytest.raises(ValueError, match="unknown status"):
        store.update(session.id, status="sleeping")
    with pytest.raises(ValueError, match="cannot update"):
        store.update(session.id, lab="other")
    with pytest.raises(BadInput, match="no session 'nope'"):
        store.get("nope")


def test_live_sessions_and_targets(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    statuses = ("active", "ended", "tearing-down", "failed")
    for n, status in enumerate(statuses):
        store.insert(make_session(f"a000000{n}", status))
    # An unfinished teardown still holds things; a failed start cleaned up after itself.
    assert store.active_ids() == ["a0000000", "a0000002"]
    assert store.active_ids(target="aws") == []
    assert len(store.sessions()) == 4


def test_check_attempts_are_kept_in_order(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    store.insert(make_session())
    store.add_attempt("abc12345", 1.0, 3, {"score": 1.0})
    store.add_attempt("abc12345", 3.0, 3, {"score": 3.0})
    assert [a["score"] for a in store.attempts("abc12345")] == [1.0, 3.0]


def test_several_processes_write_at_once_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), "25"], stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    sessions = SessionStore(path).sessions()
    assert len(sessions) == 150
    assert all(s.status == "active" for s in sessions)
