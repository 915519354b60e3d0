"""Serving the lab page: a free port on 127.0.0.1, a random token, the browser, the end.

The server ends when the session does (stopped from the page, `labrun stop` in a terminal,
or the reaper) and on Ctrl-C. A Ctrl-C ends the page only: the session keeps running.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass

from labrun.store import SessionStore

HOST = "127.0.0.1"
WATCH_EVERY = 1.0  # seconds between looks at the session's status
GRACE = 1.5  # seconds the page has to fetch its last state once the session has ended
ENDED, INTERRUPTED = "the session has ended", "interrupted"


@dataclass(frozen=True)
class Page:
    """Where the lab page is served: its URL carries the token."""

    port: int
    token: str

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?token={self.token}"


def serve(
    store: SessionStore,
    session_id: str,
    *,
    open_browser: bool,
    announce: Callable[[Page, bool], None],
) -> str:
    """Serve the lab page until the session ends or Ctrl-C; why it stopped (ENDED or
    INTERRUPTED).

    ``announce`` is told the page and whether a browser was opened, once it listens.
    """
    import uvicorn

    from labrun.webui.app import make_app

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, 0))  # a free port the OS picks
    listener.listen(128)  # from now on, a request waits for the server instead of failing
    page = Page(port=listener.getsockname()[1], token=secrets.token_urlsafe(24))
    app = make_app(store, session_id, page.token)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    ended = threading.Event()

    def watch() -> None:
        while not server.should_exit:
            time.sleep(WATCH_EVERY)
            if not store.get(session_id).is_live:
                ended.set()
                time.sleep(GRACE)
                server.should_exit = True

    threading.Thread(target=watch, name="labrun-ui-watch", daemon=True).start()
    try:
        announce(page, open_browser and _open_browser(page.url))
        server.run(sockets=[listener])
    except KeyboardInterrupt:  # before uvicorn handles it, or re-raised by it once shut down
        pass
    finally:
        listener.close()
    return ENDED if ended.is_set() else INTERRUPTED


def _open_browser(url: str) -> bool:
    """Open the page in a graphical browser, if this machine has one in reach.

    On Linux without a display (ssh, a container) there is none: Python's webbrowser would
    fall back to a text browser in this very terminal, so the URL is only printed.
    """
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        return webbrowser.open(url, new=2)
    except webbrowser.Error:
        return False
