"""Checks of ui-demo: two files of the workspace."""

from pathlib import Path

from labrun.checks import CheckFailed, task


@task("notes")
def notes(ctx):
    path = Path("notes.md")
    if not path.is_file() or not path.read_text().strip():
        raise CheckFailed("notes.md is missing or empty")


@task("answer")
def answer(ctx):
    path = Path("answer.txt")
    if not path.is_file():
        raise CheckFailed("answer.txt is missing")
    if path.read_text().strip() != "42":
        raise CheckFailed(f"answer.txt says {path.read_text().strip()!r}")
