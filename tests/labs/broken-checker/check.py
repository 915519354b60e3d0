"""Checks of broken-checker: "notes" and "sections" reward the starter files (the bug)."""

from pathlib import Path

from labrun.checks import CheckFailed, task


@task("notes")
def notes(ctx):
    if not Path("notes.md").is_file():  # the starter files already have it: always passes
        raise CheckFailed("notes.md is missing")


@task("answer")
def answer(ctx):
    path = Path("answer.txt")
    if not path.is_file() or path.read_text().strip() != "42":
        raise CheckFailed("answer.txt does not hold 42")


@task("sections")
def sections(ctx):
    text = Path("notes.md").read_text()
    found = [s for s in ("## Goal", "## Result") if s in text]
    if len(found) < 2:  # the starter has one of the two: half the points for nothing
        raise CheckFailed(f"{len(found)} of 2 sections", score=len(found) / 2)


@task("read-me")
def read_me(ctx):
    pass  # no points: may pass on untouched work
