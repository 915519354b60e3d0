"""LABRUN_HOME is the user's alone, an older store loses the credentials it kept, and a lab
that hides a bundled one is named."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path

from labrun.catalog import bundled_labs_dir
from labrun.store import SessionStore
from testing.cli import labrun, labrun_json


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_labrun_home_is_0700_and_its_files_0600(labrun_home: Path, test_labs: Path) -> None:
    session = labrun_json("start", "s3-hello", "--labs-dir", str(test_labs))["session"]
    labrun_json("stop", session)
    assert mode(labrun_home) == 0o700
    for name in ("sessions.db", "sessions.db-wal", "sessions.db-shm", "owner"):
        if (labrun_home / name).exists() or name == "sessions.db":
            assert mode(labrun_home / name) == 0o600, name
    assert mode(labrun_home / "sessions" / session) == 0o700


def test_an_existing_home_and_store_are_made_private(labrun_home: Path) -> None:
    labrun_home.mkdir(mode=0o755)
    labrun_home.chmod(0o755)
    (labrun_home / "sessions.db").touch(mode=0o644)
    SessionStore.open()
    assert mode(labrun_home) == 0o700
    assert mode(labrun_home / "sessions.db") == 0o600


OLD_SCHEMA = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, lab TEXT NOT NULL, lab_dir TEXT NOT NULL, target TEXT NOT NULL,
    status TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    owner TEXT NOT NULL, workdir TEXT NOT NULL, outputs TEXT NOT NULL DEFAULT '{}',
    env TEXT NOT NULL DEFAULT '{}', holder_pid INTEGER, heartbeat_at TEXT,
    hourly_usd REAL, budget_usd REAL
);
CREATE TABLE journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
    at TEXT NOT NULL, event TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}');
CREATE TABLE attempts (seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
    at TEXT NOT NULL, score REAL NOT NULL, total INTEGER NOT NULL, report TEXT NOT NULL);
PRAGMA user_version = 2;
"""


def test_a_store_of_labrun_2_loses_the_credentials_it_kept(labrun_home: Path) -> None:
    labrun_home.mkdir()
    kept = {"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIAOLD",
            "AWS_SECRET_ACCESS_KEY": "old-secret", "AWS_SESSION_TOKEN": "old-token"}  # fmt: skip
    db = sqlite3.connect(labrun_home / "sessions.db")
    db.executescript(OLD_SCHEMA)
    db.execute(
        "INSERT INTO sessions (id, lab, lab_dir, target, status, created_at, expires_at, owner,"
        " workdir, env) VALUES ('a0000000', 'l', '/x', 'aws', 'active', '2026-01-01T00:00:00Z',"
        " '2026-01-01T01:00:00Z', 'o', '/x/a0000000', ?)",
        (json.dumps(kept),),
    )
    db.commit()
    db.close()
    session = SessionStore.open().get("a0000000")
    assert session.env == {"AWS_REGION": "eu-west-1"}
    assert session.identity is None and session.hard_expires_at is None


def test_a_lab_that_hides_a_bundled_one_is_named(tmp_path: Path) -> None:
    bundled = sorted(p for p in bundled_labs_dir().iterdir() if (p / "lab.toml").is_file())[0]
    mine = tmp_path / "mine"
    shutil.copytree(bundled, mine / bundled.name)
    listed = labrun_json("list", env={"LABRUN_LABS_PATH": str(mine)})
    entry = next(lab for lab in listed["labs"] if lab["id"] == bundled.name)
    assert entry["path"] == str((mine / bundled.name).resolve())
    assert entry["shadows"] == str(bundled.resolve())
    others = [lab["shadows"] for lab in listed["labs"] if lab["id"] != bundled.name]
    assert others == [None] * len(others)
    shown = labrun("list", env={"LABRUN_LABS_PATH": str(mine)})
    assert f"{bundled.name} comes from {(mine / bundled.name).resolve()}" in " ".join(
        shown.stderr.split()
    )
