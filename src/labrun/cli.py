"""The `labrun` command line: parse options, dispatch, and turn errors into exit codes.

Exit codes: 0 success; 1 checks failed or teardown incomplete; 2 usage error; 3 labrun
error (one line; the traceback goes to a log under LABRUN_HOME); 130 on Ctrl-C.
"""

from __future__ import annotations

import sys
import traceback

import click

from labrun import __version__
from labrun.commands import (
    check,
    classroom,
    cloud,
    env,
    extend,
    grade,
    hint,
    instructions,
    lab,
    lab_info,
    plan,
    prices,
    providers,
    reap,
    shell,
    start,
    status,
    stop,
    terraform,
    ui,
)

EPILOG = """\b
A typical session:
  labrun list                      # the labs you can take
  labrun start python-engineering  # provision a lab (again: shows the running one)
  labrun instructions              # read what to do
  labrun shell                     # work in the workspace, in the lab's cloud
  labrun check                     # grade your work (as often as you like)
  labrun hint                      # stuck? one more hint at a time
  labrun stop                      # tear everything down and prove nothing is left

No session id to type: a command that takes SESSION uses the one named, else
LABRUN_SESSION, else the session whose workspace you are in, else the only active one.
"""


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="labrun")
def cli() -> None:
    """Hands-on MLOps labs that provision, grade and always clean up after themselves.

    Each lab is provisioned with Terraform on an embedded local cloud (or real AWS),
    graded by its checker, and torn down with a receipt that nothing of it remains.
    """
    from labrun import watchdog

    watchdog.on_command()  # a watchdog found dead is restarted; an expiry under 10m is told


for command in (
    lab_info.list_labs, lab_info.show, start.start, instructions.instructions, shell.shell,
    env.env, status.status, check.check, hint.hint, stop.stop,
    reap.reap, reap.reaper, cloud.cloud,
    grade.grade,
    classroom.class_group,
    ui.ui,
    lab.lab,
    plan.plan,
    extend.extend,
    providers.providers,
    prices.prices,
    terraform.terraform,
):  # fmt: skip
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script's entry point).

    An error is one line on stderr. With --json, stdout still carries exactly one JSON
    document: the command's own, or `{"error": ..., "exit_code": ...}`.
    """
    from labrun import output

    args = sys.argv[1:] if argv is None else list(argv)
    code, message = _invoke(args)
    if message is not None:
        sys.stdout.flush()
        click.echo(f"labrun: {message}", err=True)
        if "--json" in args and not output.json_printed():
            output.print_json({"error": message, "exit_code": code})
    return code


def _invoke(args: list[str]) -> tuple[int, str | None]:
    """The exit code, and the one-line message of an error."""
    from labrun.errors import LabrunError

    try:
        result = cli.main(args=args, prog_name="labrun", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code, None
    except click.exceptions.ClickException as exc:
        return 2, _click_message(exc)
    except LabrunError as exc:
        return exc.exit_code, str(exc)
    except (KeyboardInterrupt, click.exceptions.Abort):
        return 130, "interrupted"
    except Exception as exc:
        log = _write_traceback()
        return 3, f"unexpected error: {type(exc).__name__}: {exc} (traceback in {log})"
    return (result if isinstance(result, int) else 0), None


def _click_message(exc: click.exceptions.ClickException) -> str:
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" (see `{ctx.command_path} --help`)"
    return message


def _write_traceback() -> str:
    """Unexpected errors: the whole traceback goes to a log, the user gets one line."""
    try:
        from labrun.home import logs_dir

        path = logs_dir() / "errors.log"
        with path.open("a") as log:
            log.write(traceback.format_exc() + "\n")
        return str(path)
    except Exception:
        return "stderr: " + traceback.format_exc()
