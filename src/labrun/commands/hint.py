"""`labrun hint [TASK]`: reveal a task's hints one level at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from labrun.commands import json_option
from labrun.output import print_json

if TYPE_CHECKING:
    from labrun import hints


@click.command(short_help="Reveal the next hint for a task, one level at a time.")
@click.argument("task", required=False)
@click.option(
    "--session", "session_id", metavar="SESSION",
    help="The session (default: LABRUN_SESSION, the workspace you are in, the only active one).",
)  # fmt: skip
@json_option
def hint(task: str | None, session_id: str | None, as_json: bool) -> int:
    """Reveal the next hint for TASK, and the ones revealed before it.

    A lab's hints go from a nudge to the answer. `labrun check` shows the first one for a
    task that does not pass; each `labrun hint TASK` reveals one more, and the session
    remembers how far you went. Without TASK: the first task that did not pass at your
    last check.

    \b
    Examples:
      labrun hint                # the first task you have not passed yet
      labrun hint upload         # the next hint for the task "upload"
      labrun hint upload --json
    """
    from labrun import hints, selection
    from labrun.session import session_manifest
    from labrun.store import SessionStore

    store = SessionStore.open()
    chosen = selection.resolve(store, session_id)
    manifest = session_manifest(chosen)
    if task is not None:
        wanted = hints.find_task(manifest, task)
    else:
        attempts = store.attempts(chosen.id)
        wanted = hints.next_task(manifest, attempts[-1]["report"] if attempts else None)
    shown = hints.reveal_next(store, chosen.id, wanted)
    if as_json:
        print_json(shown.to_json())
    else:
        _render(shown, manifest.id)
    return 0


def _render(shown: hints.Hints, lab: str) -> None:
    from labrun.render import say

    if not shown.levels:
        say(f"Lab {lab} gives no hint for task {shown.task} ({shown.title}).")
        return
    say(f"Task {shown.task} ({shown.title}): hint {len(shown.revealed)} of {shown.levels}", "bold")
    for number, text in enumerate(shown.revealed, start=1):
        say(f"  {number}. {text}", "bold" if number == len(shown.revealed) else "")
    if shown.more:
        say(f"`labrun hint {shown.task}` reveals the next one ({shown.more} left).")
    else:
        say("That was the last hint for this task.")
