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
    It sets the AWS variables of the session's cloud (endpoint, credentials, region),
    DOCKER_HOST when it is set, and LABRUN_SESSION. SESSION may be left out when
    exactly one session is active.
    """
    from labrun import environment, selection
    from labrun.render import env_lines
    from labrun.session import session_manifest
    from labrun.store import SessionStore

    store = SessionStore.open()
    chosen = selection.resolve(store, session)
    endpoint = None
    if chosen.is_live:
        endpoint = environment.cloud_endpoint_for(session_manifest(chosen), chosen)
    mapping = environment.session_env(chosen, endpoint)
    if as_json:
        print_json(mapping)
    else:
        click.echo(env_lines(mapping))
    return 0
