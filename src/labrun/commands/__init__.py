"""One module per `labrun` subcommand; shared options live here."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Any)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else."
)
labs_dir_option = click.option(
    "--labs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Look for labs in DIR first (before LABRUN_LABS_PATH and the bundled labs).",
)
session_argument = click.argument("session", required=False)
