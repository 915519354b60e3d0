"""The session store: SQLite under LABRUN_HOME, safe when several labrun processes run at once.

Every write is its own short IMMEDIATE transaction in WAL mode, so concurrent processes queue
on SQLite's lock (busy timeout) instead of failing or overwriting each other.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from labrun.awsenv import CREDENTIALS, without_credentials
from labrun.errors import BadInput, LabrunError, LeaseLost
from labrun.home import labrun_home, private_file
from labrun.identity import CloudIdentity
from labrun.session import LIVE_STATUSES, STATUSES, Session, parse_rfc3339, rfc3339, utcnow

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    lab TEXT NOT NULL,
    lab_dir TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    owner TEXT NOT NULL,
    workdir TEXT NOT NULL,
    outputs TEXT NOT NULL DEFAULT '{}',
    env TEXT NOT NULL DEFAULT '{}',
    holder_pid INTEGER,
    heartbeat_at TEXT,
    hourly_usd REAL,
    budget_usd REAL,
    holder_started INTEGER,
    lease_generation INTEGER NOT NULL DEFAULT 0,
    identity TEXT,
    hard_expires_at TEXT,
    installation TEXT
);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    at TEXT NOT NULL,
    score REAL NOT NULL,
    total INTEGER NOT NULL,
    report TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hint_levels (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    task_id TEXT NOT NULL,
    level INTEGER NOT NULL,
    PRIMARY KEY (session_id, task_id)
);
CREATE INDEX IF NOT EXISTS journal_by_session ON journal(session_id, seq);
CREATE INDEX IF NOT EXISTS attempts_by_session ON attempts(session_id, seq);
"""
# Bumped whenever SCHEMA changes; a store of another version is refused, not misread.
SCHEMA_VERSION = 5
# What brings a store of an older version to the next one (2: the cost meter's columns;
# 3: how many hint levels each task has revealed; 4: the lease holder's process start time
# and the lease's generation, its fence; 5: the cloud identity, the hard expiry and the
# installation, and the credentials older versions kept in `env` are erased).
MIGRATIONS = {
    1: (
        "ALTER TABLE sessions ADD COLUMN hourly_usd REAL",
        "ALTER TABLE sessions ADD COLUMN budget_usd REAL",
    ),
    2: (
        "CREATE TABLE IF NOT EXISTS hint_levels (session_id TEXT NOT NULL REFERENCES sessions(id), "
        "task_id TEXT NOT NULL, level INTEGER NOT NULL, PRIMARY KEY (session_id, task_id))",
    ),
    3: (
        "ALTER TABLE sessions ADD COLUMN holder_started INTEGER",
        "ALTER TABLE sessions ADD COLUMN lease_generation INTEGER NOT NULL DEFAULT 0",
    ),
    4: (
        "ALTER TABLE sessions ADD COLUMN identity TEXT",
        "ALTER TABLE sessions ADD COLUMN hard_expires_at TEXT",
        "ALTER TABLE sessions ADD COLUMN installation TEXT",
        "UPDATE sessions SET env = json_remove(env, "
        + ", ".join(f"'$.{key}'" for key in CREDENTIALS)
        + ") WHERE target != 'local'",
    ),
}


FIRST_GENERATION = 1  # the lease a new session's creator holds from its insert on


@dataclass(frozen=True)
class LeaseRecord:
    """A session's lease as stored: who holds it (pid, process start time in clock ticks
    after boot), their last heartbeat, and its generation (bumped by every acquisition)."""

    pid: int | None
    started: int | None
    heartbeat_at: datetime | None
    generation: int


class SessionStore:
    """Sessions, their journal and their check attempts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        private_file(path)  # SQLite gives the WAL files it creates the store's mode
        for suffix in ("-wal", "-shm"):  # ones an older labrun made
            private_file(path.with_name(path.name + suffix), create=False)
        self._initialise()

    def _initialise(self, attempts: int = 50) -> None:
        """Create the schema in WAL mode, in one transaction with the version check (so a
        concurrent process never sees tables without their version). Switching to WAL does
        not wait on SQLite's busy timeout, so that step is retried here."""
        for attempt in range(attempts):
            try:
                with self._connect() as db:
                    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        db.execute("PRAGMA journal_mode=WAL")
                break
            except LabrunError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.1)
        with self._write() as db:
            self._check_version(db)
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _check_version(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sessions'")
        if version == SCHEMA_VERSION or (version == 0 and tables.fetchone()[0] == 0):
            return
        while version in MIGRATIONS:
            for statement in MIGRATIONS[version]:
                db.execute(statement)
            version += 1
        if version == SCHEMA_VERSION:
            return
        made_by = "a newer" if version > SCHEMA_VERSION else "an older"
        raise LabrunError(
            f"the session store {self.path} was made by {made_by} labrun (schema {version}, "
            f"this one reads {SCHEMA_VERSION}): finish its sessions with that labrun, or set "
            "LABRUN_HOME to a new folder"
        )

    @classmethod
    def open(cls) -> SessionStore:
        return cls(labrun_home() / "sessions.db")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            yield db
        except sqlite3.IntegrityError:
            raise  # a constraint the caller handles (a session id already taken)
        except sqlite3.DatabaseError as exc:
            raise LabrunError(f"session store {self.path}: {exc}") from exc
        finally:
            db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def insert(self, session: Session, holder_started: int | None = None) -> bool:
        """Record a new session, its lease held by this process (started at `holder_started`)
        in generation FIRST_GENERATION, so that no reaper takes a session being set up for a
        crashed one; False when the id is taken."""
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO sessions (id, lab, lab_dir, target, status, created_at, "
                    "expires_at, owner, workdir, outputs, env, holder_pid, heartbeat_at, "
                    "holder_started, lease_generation, identity, hard_expires_at, installation) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        session.id, session.lab, str(session.lab_dir), session.target,
                        session.status, rfc3339(session.created_at), rfc3339(session.expires_at),
                        session.owner, str(session.workdir), json.dumps(session.outputs),
                        _to_column(_stored_env(session.target, session.env)), os.getpid(),
                        rfc3339(utcnow()), holder_started, FIRST_GENERATION,
                        _to_column(session.identity), _to_column(session.hard_expires_at),
                        session.installation,
                    ),
                )  # fmt: skip
                _journal(db, session.id, "created", {"lab": session.lab, "target": session.target})
        except sqlite3.IntegrityError:
            return False
        return True

    def update(self, session_id: str, fence: int | None = None, **fields: Any) -> None:
        """Change some fields of a session (status, outputs, env, expires_at, identity, and
        its cost meter: hourly_usd, budget_usd). With `fence` (a lease generation), only while
        the lease is still of that generation: LeaseLost otherwise."""
        allowed = {"status", "outputs", "env", "expires_at", "identity", "hourly_usd", "budget_usd"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(f"unknown status {fields['status']!r}")
        values = {k: _to_column(v) for k, v in fields.items()}
        assignments = ", ".join(f"{k} = :{k}" for k in values)
        where = "id = :id" + ("" if fence is None else " AND lease_generation = :fence")
        with self._write() as db:
            if "env" in fields:  # a credential is never stored, whoever passes it
                row = db.execute("SELECT target FROM sessions WHERE id = ?", (session_id,))
                target = (row.fetchone() or {"target": ""})["target"]
                values["env"] = _to_column(_stored_env(target, fields["env"]))
            changed = db.execute(
                f"UPDATE sessions SET {assignments} WHERE {where}",
                {**values, "id": session_id, "fence": fence},
            ).rowcount
            if fence is not None and not changed:
                raise LeaseLost(session_id)
            if "status" in fields:
                _journal(db, session_id, "status", {"status": fields["status"]})

    def acquire_lease(
        self,
        session_id: str,
        pid: int,
        started: int | None,
        live: Callable[[LeaseRecord], bool],
    ) -> LeaseRecord:
        """Take the session's lease for process `pid` (started at `started`) unless another
        holder is `live`; the lease as it is afterwards (its holder: `pid`, or the other)."""
        with self._write() as db:
            current = _lease(db, session_id)
            if current is None:
                raise BadInput(f"no session {session_id!r}")
            mine = current.pid == pid and current.started in (None, started)
            if current.pid is not None and not mine and live(current):
                return current
            now = utcnow()
            taken = LeaseRecord(pid, started, now, current.generation + 1)
            db.execute(
                "UPDATE sessions SET holder_pid = ?, holder_started = ?, heartbeat_at = ?, "
                "lease_generation = ? WHERE id = ?",
                (pid, started, rfc3339(now), taken.generation, session_id),
            )
            if current.pid is not None and not mine:
                detail = {"from_pid": current.pid, "pid": pid, "generation": taken.generation}
                _journal(db, session_id, "lease-taken-over", detail)
        return taken

    @contextmanager
    def heartbeats(self, session_id: str, generation: int) -> Iterator[Callable[[], bool]]:
        """A heartbeat for the lease of `generation`: a call refreshes it, False once the lease
        is of another generation. Its connection stays open (for one thread): closing a
        store's last connection checkpoints it, a long write a paused holder could sit in,
        blocking every other labrun process."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA synchronous = NORMAL")  # WAL: no fsync per beat, still consistent

        def beat() -> bool:
            db.execute("BEGIN IMMEDIATE")
            try:
                changed = db.execute(
                    "UPDATE sessions SET heartbeat_at = ? WHERE id = ? AND lease_generation = ?",
                    (rfc3339(utcnow()), session_id, generation),
                ).rowcount
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return bool(changed)

        try:
            yield beat
        finally:
            db.close()

    def release_lease(self, session_id: str, generation: int) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sessions SET holder_pid = NULL, holder_started = NULL, "
                "heartbeat_at = NULL WHERE id = ? AND lease_generation = ?",
                (session_id, generation),
            )

    def lease_record(self, session_id: str) -> LeaseRecord | None:
        with self._connect() as db:
            return _lease(db, session_id)

    def lease_generation(self, session_id: str) -> int | None:
        with self._connect() as db:
            return lease_generation(db, session_id)

    def meter(self, session_id: str) -> tuple[float | None, float | None]:
        """The session's hourly estimate and budget (None: unknown, or no budget)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT hourly_usd, budget_usd FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        return (None, None) if row is None else (row["hourly_usd"], row["budget_usd"])

    def journal(self, session_id: str, event: str, detail: dict[str, Any] | None = None) -> None:
        with self._write() as db:
            _journal(db, session_id, event, detail or {})

    def get(self, session_id: str) -> Session:
        with self._connect() as db:
            row = db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise BadInput(f"no session {session_id!r}; `labrun status --all` lists them")
        return _from_row(row)

    def sessions(self, *, live_only: bool = False, target: str | None = None) -> list[Session]:
        query = "SELECT * FROM sessions"
        clauses: list[str] = []
        params: list[str] = []
        if live_only:
            clauses.append(f"status IN ({','.join('?' * len(LIVE_STATUSES))})")
            params.extend(LIVE_STATUSES)
        if target:
            clauses.append("target = ?")
            params.append(target)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at, id", params).fetchall()
        return [_from_row(r) for r in rows]

    def active_ids(self, target: str | None = None) -> list[str]:
        """Ids of the sessions that may still hold resources."""
        return [s.id for s in self.sessions(live_only=True, target=target)]

    def events(self, session_id: str) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT at, event, detail FROM journal WHERE session_id = ? ORDER BY seq",
                (session_id,),
            ).fetchall()
        return [{"at": r["at"], "event": r["event"], **json.loads(r["detail"])} for r in rows]

    def add_attempt(
        self, session_id: str, score: float, total: int, report: dict[str, Any]
    ) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO attempts (session_id, at, score, total, report) VALUES (?,?,?,?,?)",
                (session_id, rfc3339(utcnow()), score, total, json.dumps(report)),
            )

    def attempts(self, session_id: str) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT at, score, total, report FROM attempts WHERE session_id = ? ORDER BY seq",
                (session_id,),
            ).fetchall()
        return [
            {
                "at": r["at"],
                "score": r["score"],
                "total": r["total"],
                "report": json.loads(r["report"]),
            }
            for r in rows
        ]

    def hint_levels(self, session_id: str) -> dict[str, int]:
        """How many hint levels each task of the session has revealed (absent: none)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT task_id, level FROM hint_levels WHERE session_id = ?", (session_id,)
            ).fetchall()
        return {r["task_id"]: int(r["level"]) for r in rows}

    def reveal_hints(self, session_id: str, task_id: str, level: int) -> int:
        """Record that `task_id` has revealed at least `level` hints; the level now kept."""
        with self._write() as db:
            db.execute(
                "INSERT INTO hint_levels (session_id, task_id, level) VALUES (?,?,?) "
                "ON CONFLICT (session_id, task_id) "
                "DO UPDATE SET level = max(level, excluded.level)",
                (session_id, task_id, level),
            )
            row = db.execute(
                "SELECT level FROM hint_levels WHERE session_id = ? AND task_id = ?",
                (session_id, task_id),
            ).fetchone()
        return int(row["level"])


def open_reader(path: Path) -> sqlite3.Connection:
    """A connection for reading only, to keep open (no checkpoint on every close), usable
    from any thread one at a time: a Terraform child checks its lease on one."""
    return sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)


def lease_generation(db: sqlite3.Connection, session_id: str) -> int | None:
    """The generation of a session's lease."""
    try:
        row = db.execute(
            "SELECT lease_generation FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise LabrunError(f"session store: {exc}") from exc
    return None if row is None else int(row[0])


def _lease(db: sqlite3.Connection, session_id: str) -> LeaseRecord | None:
    row = db.execute(
        "SELECT holder_pid, holder_started, heartbeat_at, lease_generation FROM sessions "
        "WHERE id = ?",
        (session_id,),
    ).fetchone()
    if row is None:
        return None
    beat = row["heartbeat_at"]
    return LeaseRecord(
        pid=row["holder_pid"],
        started=row["holder_started"],
        heartbeat_at=None if beat is None else parse_rfc3339(beat),
        generation=row["lease_generation"],
    )


def _journal(db: sqlite3.Connection, session_id: str, event: str, detail: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO journal (session_id, at, event, detail) VALUES (?,?,?,?)",
        (session_id, rfc3339(utcnow()), event, json.dumps(detail, default=str)),
    )


def _stored_env(target: str, env: dict[str, str]) -> dict[str, str]:
    """What of a session's env is stored: never a credential (the local cloud's fixed,
    public ones aside: they open nothing but the emulator)."""
    return env if target == "local" else without_credentials(env)


def _to_column(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, CloudIdentity):
        return json.dumps(value.to_json())
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    if hasattr(value, "tzinfo"):
        return rfc3339(value)
    return value


def _from_row(row: sqlite3.Row) -> Session:
    return Session(
        id=row["id"],
        lab=row["lab"],
        lab_dir=Path(row["lab_dir"]),
        target=row["target"],
        status=row["status"],
        created_at=parse_rfc3339(row["created_at"]),
        expires_at=parse_rfc3339(row["expires_at"]),
        owner=row["owner"],
        workdir=Path(row["workdir"]),
        outputs=json.loads(row["outputs"]),
        env=json.loads(row["env"]),
        identity=CloudIdentity.from_json(json.loads(row["identity"])) if row["identity"] else None,
        hard_expires_at=parse_rfc3339(row["hard_expires_at"]) if row["hard_expires_at"] else None,
        installation=row["installation"] or "",
    )
