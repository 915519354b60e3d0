"""`labrun terraform ARGS...`: Terraform in the current folder, in a session's environment.

The learner's own Terraform (iac-basics) needs no `terraform` install: this runs the
embedded one (or LABRUN_TERRAFORM), on this terminal, with the variables `labrun env` sets
for the session (its cloud's endpoint and credentials), the shared provider cache, and the
provider mirror for `init` when LABRUN_PROVIDER_MIRROR is set. Its exit code is Terraform's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from labrun.errors import BadInput

if TYPE_CHECKING:  # not imported for `labrun --help`
    from labrun.session import Session


@click.command(
    "terraform",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "--session", "session_id", metavar="SESSION", default=None,
    help="The session whose environment Terraform runs in (else inferred, as for `labrun env`).",
)  # fmt: skip
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def terraform(session_id: str | None, args: tuple[str, ...]) -> int:
    """Run Terraform ARGS in the current folder, in the session's environment.

    \b
    The embedded Terraform (no separate install), or LABRUN_TERRAFORM when set:
      labrun terraform init
      labrun terraform plan
      labrun terraform apply            # asks for "yes", like terraform does
      labrun terraform destroy -auto-approve
    Options after the Terraform command are Terraform's (`labrun terraform plan -help`).
    With LABRUN_PROVIDER_MIRROR set, `init` installs providers from that folder only.
    Terraform sees what `labrun env` exports (LAB_<OUTPUT>, LABRUN_TAGS...), and a module
    that declares `variable "labrun_tags"` gets the session's tags in it.
    The exit code is Terraform's.
    """
    from labrun import selection
    from labrun.store import SessionStore

    if not args:
        raise BadInput("name a Terraform command, e.g. `labrun terraform init`")
    session = selection.resolve(SessionStore.open(), session_id)
    return run(session, list(args), Path.cwd())


def run(session: Session, args: list[str], folder: Path) -> int:
    """Terraform ARGS in ``folder`` with ``session``'s environment; its exit code."""
    import subprocess

    from labrun.tfengine import terraform_command
    from labrun.tfworker import DIRECT

    command = terraform_command()
    if not os.environ.get("LABRUN_TERRAFORM"):
        command.append(DIRECT)  # the embedded one, on this terminal
    proc = subprocess.run(
        [*command, *with_mirror(args)], cwd=folder, env=terraform_env(session), check=False
    )
    return proc.returncode


def terraform_env(session: Session) -> dict[str, str]:
    """This process's environment plus the session's; refused for a session that ended
    (its cloud is gone: the learner's provider would fall back to other credentials)."""
    from labrun import environment
    from labrun.home import labrun_home, plugin_cache_dir
    from labrun.session import session_manifest

    if not session.is_live:
        raise BadInput(
            f"session {session.id} is {session.status}: Terraform runs only in a live "
            "session's environment (start one with `labrun start LAB`)"
        )
    env = {**os.environ, **environment.learner_env(session, session_manifest(session))}
    # A module that declares variable "labrun_tags" gets the session's tags (others ignore it).
    env.setdefault("TF_VAR_labrun_tags", env["LABRUN_TAGS"])
    env.setdefault("TF_PLUGIN_CACHE_DIR", str(plugin_cache_dir()))
    env.setdefault("CHECKPOINT_DISABLE", "1")
    config = env.get("TF_CLI_CONFIG_FILE") or str(Path.home() / ".terraformrc")
    if not Path(config).expanduser().is_file():
        # Terraform would warn at every run that its configuration file is missing.
        empty = labrun_home() / "terraformrc"
        empty.touch()
        env["TF_CLI_CONFIG_FILE"] = str(empty)
    return env


def with_mirror(args: list[str]) -> list[str]:
    """`init` installs from LABRUN_PROVIDER_MIRROR (only) when it is set."""
    mirror = os.environ.get("LABRUN_PROVIDER_MIRROR")
    command = next((a for a in args if not a.startswith("-")), "")
    if not mirror or command != "init" or any(a.startswith("-plugin-dir") for a in args):
        return args
    return [*args, f"-plugin-dir={Path(mirror).expanduser().resolve()}"]
