"""`labrun env [SESSION]`: the variables that put a shell in a session's cloud."""

from __future__ import annotations

import click

from labrun.commands import json_option, session_argument
from labrun.output import print_json


@click.command()
@session_argument
@json_option
def env(session: str | None, as_json: bool) -> int:
    """Print `export K=V` lines that put your shell in the session's cloud.

    \b
    Use it as:  eval "$(labrun env)"
    It sets:
      AWS_*           the session's cloud (endpoint, credentials, region)
      DOCKER_HOST     when it is set
      LABRUN_SESSION  the session, so later commands need not name it
      LAB_<OUTPUT>    each of the lab's outputs, e.g. LAB_LOG_GROUP for log_group
      LABRUN_TAGS     the tags to put on what you create, as a JSON object:
                      aws logs create-log-group --log-group-name x --tags "$LABRUN_TAGS"

    SESSION may be left out: labrun takes LABRUN_SESSION, else the session whose
    workspace you are in, else the only active session.
    """
    from labrun import environment, selection
    from labrun.render import env_lines
    from labrun.session import session_manifest
    from labrun.store import SessionStore

    chosen = selection.resolve(SessionStore.open(), session)
    mapping = environment.learner_env(chosen, session_manifest(chosen))
    if as_json:
        print_json(mapping)
    else:
        click.echo(env_lines(mapping))
    return 0
