"""Leases: one labrun process at a time provisions or tears down a session, and it is fenced.

The session store keeps the lease: its holder (pid and process start time, so that a reused
pid is never mistaken for the holder), a heartbeat and a generation. One liveness rule
serves `start`, `stop` and the reaper alike: a holder is alive while its process runs and
its heartbeat is fresher than LABRUN_LEASE_STALE_AFTER (default 90s). A dead holder's lease
(`kill -9`), or a paused one's (Ctrl-Z, a suspended laptop), is taken over, and taking it
bumps the generation.

The fence: every status change and every Terraform run of a holder first checks that the
generation is still its own, and the heartbeat stops the holder's Terraform as soon as it
is not. So a process that wakes up after losing its lease creates nothing more: it stops,
and leaves the session to the new holder.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from labrun.durations import parse_duration
from labrun.errors import BadInput, LeaseLost, SessionBusy
from labrun.session import utcnow
from labrun.store import LeaseRecord, SessionStore, lease_generation, open_reader

HEARTBEAT_EVERY = 10.0  # seconds (at most: a third of the stale delay when that is shorter)
STALE_AFTER = timedelta(seconds=90)  # a heartbeat older than this: the holder is gone
STALE_AFTER_VAR = "LABRUN_LEASE_STALE_AFTER"
FENCE_VAR = "LABRUN_FENCE"  # tells the embedded Terraform which lease to check itself


def stale_after() -> timedelta:
    """How old a heartbeat may be before its holder counts as gone."""
    text = os.environ.get(STALE_AFTER_VAR)
    if not text:
        return STALE_AFTER
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise BadInput(f"{STALE_AFTER_VAR}: {exc}") from None


def heartbeat_every() -> float:
    return min(HEARTBEAT_EVERY, stale_after().total_seconds() / 3)


def process_started(pid: int) -> int | None:
    """When `pid` started (clock ticks after boot, /proc/<pid>/stat); None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces and ")"
    return None if fields[0] in ("Z", "X") else int(fields[19])


def holder_alive(pid: int, started: int | None) -> bool:
    """Whether the holder's process still runs: the same pid, started at the same moment."""
    now_started = process_started(pid)
    if started is None:  # recorded before start times were: the pid alone must do
        return now_started is not None
    return now_started == started


def live(record: LeaseRecord, now: datetime | None = None) -> bool:
    """The one liveness rule: a holder whose process runs and whose heartbeat is fresh."""
    if record.pid is None or record.heartbeat_at is None:
        return False
    fresh = (now or utcnow()) - record.heartbeat_at < stale_after()
    return fresh and holder_alive(record.pid, record.started)


def busy(store: SessionStore, session_id: str) -> LeaseRecord | None:
    """The live holder of the session's lease, when it is another process."""
    record = store.lease_record(session_id)
    if record is None or _is_me(record) or not live(record):
        return None
    return record


def _is_me(record: LeaseRecord) -> bool:
    me = os.getpid()
    return record.pid == me and record.started in (None, process_started(me))


class Lease:
    """A lease this process holds: the fence its status changes and Terraform runs check."""

    def __init__(self, store: SessionStore, session_id: str, generation: int) -> None:
        self.store = store
        self.session_id = session_id
        self.generation = generation
        self.lost = threading.Event()
        self._guarded: set[int] = set()
        self._lock = threading.Lock()

    def holds(self) -> bool:
        current = None if self.lost.is_set() else self.store.lease_generation(self.session_id)
        if current != self.generation:
            self._on_lost()
        return not self.lost.is_set()

    def check(self) -> None:
        """Raise LeaseLost unless this process still holds the lease."""
        if not self.holds():
            raise LeaseLost(self.session_id)

    def update(self, **fields: Any) -> None:
        """Change the session's fields, status included, only while holding the lease."""
        self.store.update(self.session_id, fence=self.generation, **fields)

    def env(self) -> dict[str, str]:
        """What the embedded Terraform needs to check the lease itself (see tfworker)."""
        spec = {"store": str(self.store.path), "session": self.session_id, "gen": self.generation}
        return {FENCE_VAR: json.dumps(spec)}

    @contextmanager
    def guard(self, pgid: int) -> Iterator[None]:
        """Kill the process group `pgid` (a Terraform) as soon as the lease is lost."""
        with self._lock:
            self._guarded.add(pgid)
        try:
            if self.lost.is_set():
                _kill_group(pgid)
            yield
        finally:
            with self._lock:
                self._guarded.discard(pgid)

    def _on_lost(self) -> None:
        self.lost.set()
        with self._lock:
            for pgid in self._guarded:
                _kill_group(pgid)


@contextmanager
def held(store: SessionStore, session_id: str, generation: int | None = None) -> Iterator[Lease]:
    """Hold the session's lease for the duration of the block, with a heartbeat.

    `generation`: keep the lease this process already holds in that generation (a new
    session's, FIRST_GENERATION from its insert); LeaseLost if someone took it meanwhile.
    """
    pid = os.getpid()
    if generation is not None:
        lease = Lease(store, session_id, generation)
        with store.heartbeats(session_id, generation) as refresh:
            if not refresh():
                lease.lost.set()
        lease.check()
    else:
        record = store.acquire_lease(session_id, pid, process_started(pid), live)
        if record.pid != pid:
            raise SessionBusy(
                f"session {session_id} is busy: labrun process {record.pid} is working on it "
                "(try again when it is done)"
            )
        lease = Lease(store, session_id, record.generation)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(lease, stop), daemon=True, name="lease")
    beat.start()
    try:
        yield lease
    finally:
        stop.set()
        beat.join()
        store.release_lease(session_id, lease.generation)


def _heartbeat(lease: Lease, stop: threading.Event) -> None:
    every = heartbeat_every()
    with lease.store.heartbeats(lease.session_id, lease.generation) as beat:
        while not stop.wait(every):
            try:
                kept = beat()
            except Exception:  # the store was busy for long: the next beat tries again
                continue
            if not kept:
                lease._on_lost()
                return


class FenceWatch:
    """For a Terraform child: the lease FENCE_VAR describes, checked on one open connection."""

    def __init__(self, spec: str) -> None:
        fence = json.loads(spec)
        self.session_id: str = fence["session"]
        self.generation: int = fence["gen"]
        self._db = open_reader(Path(fence["store"]))
        self._lock = threading.Lock()

    def holds(self) -> bool:
        with self._lock:
            return lease_generation(self._db, self.session_id) == self.generation


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
