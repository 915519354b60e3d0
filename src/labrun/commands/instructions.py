"""`labrun instructions [SESSION]`: the lab's instructions (its README), again."""

from __future__ import annotations

import os
import shutil
import sys

import click

from labrun.commands import json_option, session_argument
from labrun.output import print_json


@click.command(short_help="Show the session's lab instructions again.")
@session_argument
@json_option
def instructions(session: str | None, as_json: bool) -> int:
    """Show the instructions (README.md) of the session's lab.

    On a terminal they open formatted in your pager ($PAGER, else less); piped or
    redirected, the README is printed as it is, Markdown and all. SESSION may be left out:
    labrun takes LABRUN_SESSION, else the session whose workspace you are in, else the
    only active session.

    \b
    Examples:
      labrun instructions
      labrun instructions > notes.md
      labrun instructions k3v9q2mz --json
    """
    from labrun import selection
    from labrun.errors import LabrunError
    from labrun.store import SessionStore

    chosen = selection.resolve(SessionStore.open(), session)
    readme = chosen.lab_dir / "README.md"
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabrunError(f"cannot read the instructions of {chosen.lab}: {exc}") from None
    if as_json:
        print_json({"session": chosen.id, "lab": chosen.lab, "path": str(readme), "text": text})
    elif sys.stdout.isatty():
        _page(text)
    else:
        click.echo(text, nl=not text.endswith("\n"))
    return 0


def _page(markdown: str) -> None:
    """Rendered Markdown, in the pager, with its colours (less -R)."""
    from rich.console import Console
    from rich.markdown import Markdown

    width = min(shutil.get_terminal_size().columns, 100)
    console = Console(width=width, force_terminal=True, highlight=False)
    with console.capture() as captured:
        console.print(Markdown(markdown))
    os.environ.setdefault("LESS", "-FRX")  # quit on one screen, keep colours, no clear
    click.echo_via_pager(captured.get(), color=True)
