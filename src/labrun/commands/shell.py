"""`labrun shell [SESSION]`: your shell, in the session's workspace, with its environment."""

from __future__ import annotations

import os
import sys

import click

from labrun.commands import session_argument


@click.command(short_help="Open your shell in the session's workspace, in the lab's cloud.")
@session_argument
def shell(session: str | None) -> int:
    """Open your shell ($SHELL, else /bin/sh) in the session's workspace.

    The shell has the session's environment (what `eval "$(labrun env)"` sets: the lab's
    cloud, LAB_<OUTPUT> for each output, LABRUN_TAGS, LABRUN_SESSION) and its prompt
    starts with "(labrun SESSION)". `exit` (or Ctrl-D) brings you back; labrun exits
    with the shell's exit status. SESSION may be left out: labrun takes LABRUN_SESSION,
    else the session whose workspace you are in, else the only active session.

    \b
    Examples:
      labrun shell
      echo 'aws s3 ls' | labrun shell     # commands from a pipe work too
    """
    from labrun import environment, selection, subshell
    from labrun.errors import BadInput
    from labrun.session import session_manifest
    from labrun.store import SessionStore

    chosen = selection.resolve(SessionStore.open(), session)
    if chosen.status != "active":
        raise BadInput(f"session {chosen.id} is {chosen.status}: only an active one has a shell")
    env = environment.learner_env(chosen, session_manifest(chosen))
    if sys.stdin.isatty():  # a person at the keyboard: say where they are and how back
        inside = os.environ.get("LABRUN_SHELL")
        nested = f" (inside the shell of session {inside})" if inside else ""
        click.echo(
            f"labrun: a shell in session {chosen.id}'s workspace{nested}; `exit` comes back",
            err=True,
        )
    return subshell.run(chosen.id, chosen.workspace, env)
