"""Terminal output: one JSON document on stdout for --json, rich text otherwise."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@cache
def console() -> Console:
    """Human output goes to stdout."""
    from rich.console import Console

    return Console(highlight=False)


@cache
def err_console() -> Console:
    """Progress and warnings go to stderr, so stdout stays clean for pipes and --json."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


_printed: list[bool] = []


def print_json(document: Any) -> None:
    """Print exactly one JSON document on stdout and nothing else."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()
    _printed.append(True)


def json_printed() -> bool:
    """Whether this process has already printed its JSON document."""
    return bool(_printed)
