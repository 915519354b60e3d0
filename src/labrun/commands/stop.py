"""`labrun stop [SESSION]`: tear a session down and prove that nothing of it remains."""

from __future__ import annotations

import click

from labrun.commands import json_option, session_argument
from labrun.output import console, print_json


@click.command()
@session_argument
@json_option
def stop(session: str | None, as_json: bool) -> int:
    """Tear the session down: Terraform destroy, then a check that nothing remains.

    labrun lists the session's cloud and Docker engine again, by the session's tag and
    label, and prints a receipt. Exits 0 only when nothing of the session remains;
    otherwise 1, and the session stays listed so that `labrun stop` can try again.
    SESSION may be left out: labrun takes LABRUN_SESSION, else the session whose workspace
    you are in, else the only active one.
    """
    from labrun import selection, teardown
    from labrun.progress import terraform_progress
    from labrun.render import receipt
    from labrun.store import SessionStore

    store = SessionStore.open()
    chosen = selection.resolve(store, session)
    if chosen.status == "ended":
        if as_json:
            print_json({"session": chosen.id, "ok": True, "already_ended": True})
        else:
            console().print(f"Session {chosen.id} has already ended; nothing to do.")
        return 0
    with terraform_progress(f"Tearing down {chosen.id}") as progress:
        result = teardown.stop(store, chosen, progress)
    if as_json:
        print_json(result.to_json())
    else:
        receipt(result)
    return 0 if result.ok else 1
