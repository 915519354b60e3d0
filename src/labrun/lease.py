"""Leases: one labrun process at a time provisions or tears down a session.

The holder's pid and a heartbeat live in the session store. A lease whose holder is dead
(its pid is gone on this machine, or its heartbeat is stale) is taken over, so that a
`kill -9` never leaves a session nobody may touch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from labrun.errors import SessionBusy
from labrun.store import SessionStore

HEARTBEAT_EVERY = 10.0  # seconds
STALE_AFTER = timedelta(seconds=90)  # a heartbeat older than this: the holder is gone


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def held(store: SessionStore, session_id: str) -> Iterator[None]:
    """Hold the session's lease for the duration of the block, with a heartbeat."""
    pid = os.getpid()
    holder = store.acquire_lease(session_id, pid, STALE_AFTER, pid_alive)
    if holder is not None:
        raise SessionBusy(
            f"session {session_id} is busy: labrun process {holder} is working on it "
            "(try again when it is done)"
        )
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(store, session_id, pid, stop), daemon=True, name="lease"
    )
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        store.release_lease(session_id, pid)


def _heartbeat(store: SessionStore, session_id: str, pid: int, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_EVERY):
        store.heartbeat(session_id, pid)
