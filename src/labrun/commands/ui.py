"""`labrun ui [SESSION]`: the lab in a browser tab, beside the terminal."""

from __future__ import annotations

import sys

import click

from labrun.commands import session_argument
from labrun.output import console


@click.command(short_help="Open the lab page in your browser: instructions, tasks, time left.")
@session_argument
@click.option("--no-browser", is_flag=True, help="Only print the page's URL.")
def ui(session: str | None, no_browser: bool) -> int:
    """Serve a live page of the session and open it in your browser.

    The page shows the lab's README, the tasks with their latest status (a `labrun check`
    in the terminal updates it too), a Check button with the hints one level at a time,
    the time left counting down, the cost meter, and Extend and Stop buttons.

    It is served on 127.0.0.1 at a free port, behind a random token in the URL: only
    someone with the URL can open it. It stops when the session ends, or on Ctrl-C (which
    leaves the session running).

    \b
    Examples:
      labrun ui                   # the current session, in your browser
      labrun ui k3v9q2mz --no-browser   # print the URL (ssh: forward the port first)
    """
    from labrun import selection
    from labrun.errors import BadInput
    from labrun.store import SessionStore
    from labrun.webui.server import ENDED, Page, serve

    store = SessionStore.open()
    chosen = selection.resolve(store, session)
    if chosen.status != "active":
        raise BadInput(f"session {chosen.id} is {chosen.status}: only an active session has a page")

    def announce(page: Page, opened: bool) -> None:
        out = console()
        out.print(f"Lab page of session {chosen.id} ({chosen.lab}):", markup=False)
        out.print(page.url, markup=False, soft_wrap=True)
        how = "Opened in your browser. " if opened else "Open it in your browser. "
        out.print(how + "Ctrl-C stops the page (the session keeps running).", markup=False)
        sys.stdout.flush()

    why = serve(store, chosen.id, open_browser=not no_browser, announce=announce)
    if why == ENDED:
        console().print(f"The lab page has stopped: {why}.", markup=False)
        return 0
    console().print(
        f"The lab page has stopped (Ctrl-C); session {chosen.id} keeps running.", markup=False
    )
    return 130  # as any labrun command interrupted with Ctrl-C
