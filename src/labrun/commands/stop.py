"""`labrun stop [SESSION]`: tear a session down and prove that nothing of it remains."""

from __future__ import annotations

import click

from labrun.commands import json_option, session_argument
from labrun.output import console, print_json


@click.command()
@session_argument
@click.option(
    "--forget-state",
    is_flag=True,
    help="When Terraform's destroy keeps failing but the sweep proves that nothing marked "
    "remains, end the session anyway: what its state still lists is forgotten (listed in "
    "the receipt and the journal).",
)
@json_option
def stop(session: str | None, forget_state: bool, as_json: bool) -> int:
    """Tear the session down: Terraform destroy, then a check that nothing remains.

    labrun lists the session's cloud and Docker engine again, by the session's tag and
    label, in the account, regions and engine the session recorded at its start (not
    your shell's), and prints a receipt. Exits 0 only when nothing of the session
    remains; otherwise 1, and the session stays listed so that `labrun stop` can try
    again. Exits 3, touching nothing, when your credentials reach another AWS account.
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
        result = teardown.stop(store, chosen, progress, forget_state=forget_state)
    if as_json:
        print_json(result.to_json())
    else:
        receipt(result)
    return 0 if result.ok else 1
