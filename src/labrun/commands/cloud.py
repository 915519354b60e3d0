"""`labrun cloud`: start, stop and inspect the embedded local cloud."""

from __future__ import annotations

import shlex

import click

from labrun.errors import LabrunError
from labrun.output import console, print_json

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@click.group()
def cloud() -> None:
    """The local cloud: an AWS emulator (moto) running on this machine.

    Labs run with `--target local` (the default) create their resources there
    instead of in a real AWS account: nothing to sign up for, nothing to pay.
    It listens on 127.0.0.1 only and keeps everything in memory.

    labrun starts it when a local session needs it, shares it between all
    local sessions, and stops it when the last one ends, so you rarely need
    these commands. To point the AWS CLI or boto3 at it yourself:

    \b
        eval "$(labrun cloud env)"
        aws s3 ls
    """


@cloud.command()
@json_option
def up(as_json: bool) -> None:
    """Start the local cloud, or reuse the one already running."""
    from labrun import localcloud

    status = localcloud.ensure_running()
    if as_json:
        print_json(status.to_json())
        return
    console().print(f"Local cloud running at {status.endpoint} (pid {status.pid})", markup=False)


@cloud.command()
@click.option("--force", is_flag=True, help="Stop it even while local sessions still use it.")
@json_option
def down(force: bool, as_json: bool) -> None:
    """Stop the local cloud; everything in it is lost.

    Refuses while local sessions still use it: end them with `labrun stop SESSION`.
    """
    from labrun import localcloud

    stopped = localcloud.stop(force=force)
    if as_json:
        print_json({"stopped": stopped})
        return
    console().print("Stopped the local cloud." if stopped else "The local cloud was not running.")


@cloud.command()
@json_option
def status(as_json: bool) -> None:
    """Show whether the local cloud runs, and where."""
    from labrun import localcloud

    current = localcloud.status()
    if as_json:
        print_json(current.to_json())
        return
    if not current.running:
        console().print("Local cloud: not running (labrun starts it when a lab needs it)")
        return
    console().print(
        f"Local cloud: running\n"
        f"  endpoint:   {current.endpoint}\n"
        f"  pid:        {current.pid}\n"
        f"  started at: {current.started_at}",
        markup=False,
    )


@cloud.command()
@json_option
def env(as_json: bool) -> None:
    """Print the AWS settings that point tools at the local cloud.

    As `export` lines, for `eval "$(labrun cloud env)"`; --json prints the mapping.
    """
    from labrun import localcloud

    current = localcloud.status()
    if not current.running or current.endpoint is None:
        raise LabrunError("the local cloud is not running: run `labrun cloud up`")
    variables = localcloud.aws_env(current.endpoint)
    if as_json:
        print_json(variables)
        return
    for name, value in variables.items():
        # soft_wrap: a line wrapped at the terminal width would break eval.
        console().print(f"export {name}={shlex.quote(value)}", markup=False, soft_wrap=True)
