"""The embedded local cloud: one moto server per LABRUN_HOME, shared by every local session.

labrun starts it on demand as a detached background process listening on 127.0.0.1 (a port the
OS picks), reuses it while it answers, and stops it when no local session is left. Its files,
under labrun_home()/cloud/:

- `server.json`: {"pid", "port", "started_at"}, written by the server itself once it listens,
  so a server is never running without a record of it;
- `lock`: flock held while starting, probing or stopping, so concurrent labrun processes
  agree on one server;
- `server.log`: the server's stdout and stderr.

moto is imported only in the server process: importing this module stays cheap.
"""

from __future__ import annotations

import argparse
import fcntl
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from labrun.errors import LabrunError
from labrun.home import labrun_home

REGION = "us-east-1"
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
HOST = "127.0.0.1"
PROBE_PATH = "/moto-api/"  # moto's dashboard: cheap, and only a moto server serves it
PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class CloudStatus:
    """Whether the local cloud runs, and where."""

    running: bool
    pid: int | None = None
    port: int | None = None
    endpoint: str | None = None
    started_at: str | None = None  # RFC 3339, UTC

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


NOT_RUNNING = CloudStatus(running=False)


def cloud_dir() -> Path:
    path = labrun_home() / "cloud"
    path.mkdir(exist_ok=True)
    return path


def state_file() -> Path:
    return cloud_dir() / "server.json"


def log_file() -> Path:
    return cloud_dir() / "server.log"


def endpoint_url(port: int) -> str:
    return f"http://{HOST}:{port}"


def aws_env(endpoint: str) -> dict[str, str]:
    """The environment that points boto3, the AWS CLI and Terraform at the local cloud."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }


def ensure_running(timeout: float = 30) -> CloudStatus:
    """The running local cloud, started first if needed (waiting at most `timeout` seconds)."""
    with _locked():
        current = _probe()
        if current.running:
            return current
        _stop_recorded(timeout=2)  # a recorded server that no longer answers is hung
        return _start(timeout)


def status() -> CloudStatus:
    """The local cloud as it is now; never starts anything."""
    with _locked():
        return _probe()


def stop(timeout: float = 10, *, force: bool = True) -> bool:
    """Stop the local cloud (SIGTERM, then SIGKILL after `timeout` s); False if none ran.

    Without `force`, refuses while local sessions use it: decided under the cloud lock, so
    a session starting at the same moment is either seen here or starts a new cloud after.
    """
    with _locked():
        users = [] if force else active_local_sessions()
        if users:
            raise LabrunError(
                f"local sessions still use the local cloud ({', '.join(users)}): end them "
                "with `labrun stop SESSION`, or use --force"
            )
        return _stop_recorded(timeout)


def stop_if_idle(timeout: float = 10) -> bool:
    """Stop the local cloud unless a local session still uses it; True if one was stopped.

    Callers record their session before calling ensure_running(), so that this check (made
    under the cloud lock) cannot stop a server that a starting session is about to use.
    """
    if active_local_sessions():
        return False  # the common case, decided without waiting for the lock
    with _locked():
        if active_local_sessions():
            return False
        return _stop_recorded(timeout)


def active_local_sessions() -> list[str]:
    """Ids of the local sessions that may still use the local cloud.

    A session uses it once its env points at it; one being set up or torn down may be about to.
    """
    from labrun.store import SessionStore  # here: the store is not needed to start the cloud

    live = SessionStore.open().sessions(live_only=True, target="local")
    # One being set up or torn down may be about to use it, before its env says so.
    return [s.id for s in live if "AWS_ENDPOINT_URL" in s.env or s.status != "active"]


LOCK_WAIT = 45.0  # seconds: longer than a server start (ensure_running's 30 s), held inside


@contextmanager
def _locked(wait: float = LOCK_WAIT) -> Iterator[None]:
    """The cloud's lock. Its holder may be paused (Ctrl-Z) for ever: wait a bounded time."""
    # Python opens files non-inheritable, so the server never holds this lock by accident.
    with open(cloud_dir() / "lock", "a") as lock:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabrunError(
                        f"the local cloud's lock ({lock.name}) has been held for {wait:g} s by "
                        "another labrun process (a paused one?)"
                    ) from None
                time.sleep(0.05)
        yield  # closing the file releases the lock


def _probe() -> CloudStatus:
    """The recorded server if it answers; forgets a record whose process is gone."""
    recorded = _read_state()
    if recorded is None or recorded.pid is None or recorded.port is None:
        return NOT_RUNNING
    if not _is_our_server(recorded.pid):
        state_file().unlink(missing_ok=True)
        return NOT_RUNNING
    # Alive but not answering: keep the record, so that stop() can still end it.
    return recorded if _answers(recorded.port) else NOT_RUNNING


def _read_state() -> CloudStatus | None:
    try:
        data = json.loads(state_file().read_text())
        pid, port, started_at = int(data["pid"]), int(data["port"]), str(data["started_at"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):  # not ours to trust: forget it
        state_file().unlink(missing_ok=True)
        return None
    return CloudStatus(True, pid, port, endpoint_url(port), started_at)


def _is_our_server(pid: int) -> bool:
    """pid runs the server of this LABRUN_HOME: guards against pid reuse, and against zombies
    (whose cmdline is empty)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"labrun.localcloud" in argv and os.fsencode(state_file()) in argv


def _answers(port: int) -> bool:
    # No proxy: an HTTP_PROXY in the environment must not see (or break) loopback traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(endpoint_url(port) + PROBE_PATH, timeout=PROBE_TIMEOUT) as response:
            return bool(response.status == 200)
    except (OSError, http.client.HTTPException):
        return False


def _start(timeout: float) -> CloudStatus:
    state, log = state_file(), log_file()
    state.unlink(missing_ok=True)
    command = [sys.executable, "-m", "labrun.localcloud", "serve", "--state-file", str(state)]
    with open(log, "wb") as out:
        # The launcher forks the server and exits once it listens (see serve()).
        launcher = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cloud_dir(),
            start_new_session=True,
        )
    try:
        code = launcher.wait(timeout)
    except subprocess.TimeoutExpired:
        _kill_group(launcher.pid)  # the launcher leads the session: this kills both
        launcher.wait()
        state.unlink(missing_ok=True)
        raise LabrunError(
            f"the local cloud did not come up within {timeout:g} s: see {log}"
        ) from None
    except BaseException:  # Ctrl-C: a cloud half started for nobody must not stay
        _kill_group(launcher.pid)
        launcher.wait()
        state.unlink(missing_ok=True)
        raise
    started = _read_state()
    if code != 0 or started is None:
        raise LabrunError(f"the local cloud failed to start (exit code {code}): see {log}")
    return started


def _stop_recorded(timeout: float) -> bool:
    recorded = _read_state()
    state_file().unlink(missing_ok=True)
    if recorded is None or recorded.pid is None or not _is_our_server(recorded.pid):
        return False
    _terminate(recorded.pid, timeout)
    return True


def _terminate(pid: int, timeout: float) -> None:
    for signum, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        if _wait_gone(pid, wait):
            return
    raise LabrunError(f"the local cloud (pid {pid}) survived SIGKILL")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _is_our_server(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


# The server process: `python -m labrun.localcloud serve --state-file F`.


def serve(state: Path) -> int:
    """Daemonise, serve, record the server in `state`, then block until SIGTERM or SIGINT.

    The process labrun starts (the launcher) forks the server and exits as soon as it listens:
    0 if it does, 1 if it died first. The server is then nobody's child in labrun, so it never
    lingers as a zombie there, and labrun learns about readiness from a plain exit code.
    """
    ready_read, ready_write = os.pipe()
    if os.fork() > 0:
        os.close(ready_write)
        return 0 if os.read(ready_read, 1) else 1  # EOF: the server died before listening
    os.close(ready_read)
    _run_server(state, ready_write)
    return 0


def _run_server(state: Path, ready: int) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    from labrun.session import rfc3339, utcnow

    stop_signals = {signal.SIGTERM, signal.SIGINT}
    # Blocked before any thread starts, so only sigwait() below ever receives them.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request fills the log
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    port = int(server.get_host_and_port()[1])
    record = {"pid": os.getpid(), "port": port, "started_at": rfc3339(utcnow())}
    partial = state.with_name(state.name + ".tmp")
    partial.write_text(json.dumps(record) + "\n")
    partial.replace(state)  # atomic: readers see no file or a whole one
    os.write(ready, b"1")
    os.close(ready)
    print(f"local cloud listening on {endpoint_url(port)} (pid {os.getpid()})", flush=True)
    threading.Thread(target=_warm, args=(endpoint_url(port),), name="warm", daemon=True).start()
    signal.sigwait(stop_signals)
    print("local cloud stopped", flush=True)
    # Its state lives in memory only: exiting at once closes the socket. A graceful shutdown
    # (the HTTP server's 0.5 s poll, then the interpreter's teardown of moto's backends, 2 s)
    # would be waited for by every `labrun stop` that stops the cloud.
    os._exit(0)


# moto builds a service's backend, and the web application that answers for it, on its first
# request; EC2's take seconds (its AMIs and instance types): the first `labrun stop` would pay
# for them in its sweep. Once ready, the server makes the very calls a teardown's sweep makes
# (one thorough listing of every type labrun sweeps) in the background, so that readiness is
# not delayed and a stop finds everything built. Building the backends alone left the first
# listing at 1.2 s against 3.0 s cold and 0.1 s after one listing (benchmarks/README.md).
WARM_UP_SESSION = "labrun-warm-up"  # a session id no session has: the listing finds nothing


def _warm(endpoint: str) -> None:
    from labrun.sweep import Marks
    from labrun.sweep.aws import AwsSweeper

    with suppress(OSError, AttributeError):  # Linux: this thread only yields to the rest
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    started = time.monotonic()
    try:
        sweeper = AwsSweeper(aws_env(endpoint), workers=1)  # in this thread: it is niced
        survey = sweeper.survey(Marks(WARM_UP_SESSION, None), thorough=True)
    except Exception as exc:  # only slower: the first stop builds what is left
        print(f"local cloud warm-up failed: {exc}", flush=True)
        return
    print(f"local cloud warm: {len(survey.unlisted)} types not listed, "
          f"{time.monotonic() - started:.1f}s", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labrun.localcloud")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the local cloud (labrun does this)")
    serve_parser.add_argument("--state-file", type=Path, required=True)
    args = parser.parse_args(argv)
    return serve(args.state_file)


if __name__ == "__main__":
    raise SystemExit(main())


def endpoint_for_teardown() -> str:
    """The cloud a teardown must reach. A recorded server that is alive but does not answer
    may still hold the session's resources: that is an error (the teardown is retried
    later), never a reason to start a fresh, empty cloud and call the session clean."""
    running = _probe()  # a server that answers needs no lock (its record is written atomically)
    if running.running and running.endpoint:
        return running.endpoint
    with _locked():
        recorded = _read_state()
        if (
            recorded is not None
            and recorded.pid is not None
            and recorded.port is not None
            and _is_our_server(recorded.pid)
            and not _answers(recorded.port)
        ):
            raise LabrunError(
                f"the local cloud (pid {recorded.pid}) does not answer; "
                "the session stays tearing-down and a later stop or reap finishes it"
            )
    endpoint = ensure_running().endpoint
    assert endpoint is not None
    return endpoint
