"""`labrun list` and `labrun show LAB`: the catalogue and a lab's instructions."""

from __future__ import annotations

from pathlib import Path

import click

from labrun.commands import json_option, labs_dir_option
from labrun.durations import format_duration
from labrun.manifest import Manifest
from labrun.output import console, err_console, print_json
from labrun.render import plain


@click.command("list")
@labs_dir_option
@json_option
def list_labs(labs_dir: Path | None, as_json: bool) -> int:
    """List the labs you can start.

    Labs come from --labs-dir, then every folder of LABRUN_LABS_PATH, then the labs
    bundled with labrun; the first lab of each id wins.
    """
    from rich.table import Table

    from labrun.catalog import all_labs

    labs, broken = all_labs(labs_dir)
    if as_json:
        print_json(
            {
                "labs": [
                    {
                        "id": lab.id, "title": lab.manifest.title, "summary": lab.manifest.summary,
                        "difficulty": lab.manifest.difficulty, "duration": lab.manifest.duration,
                        "ttl": format_duration(lab.manifest.ttl), "targets": lab.manifest.targets,
                        "requires": lab.manifest.requires, "points": lab.manifest.total_points,
                        "path": str(lab.path),
                    }
                    for lab in labs
                ],
                "broken": [str(exc) for exc in broken],
            }
        )  # fmt: skip
        return 0
    table = Table(title="Labs", title_justify="left")
    for column in ("id", "title", "level", "time", "needs"):
        table.add_column(column)
    for lab in labs:
        m = lab.manifest
        needs = ", ".join(m.requires) or "-"
        table.add_row(*(plain(c) for c in (m.id, m.title, m.difficulty, m.duration, needs)))
    console().print(table)
    for exc in broken:
        err_console().print(f"skipped a broken lab: {exc}", style="yellow", markup=False)
    console().print("Start one with [bold]labrun start LAB[/]; read it first with labrun show LAB.")
    return 0


@click.command()
@click.argument("lab")
@labs_dir_option
@json_option
def show(lab: str, labs_dir: Path | None, as_json: bool) -> int:
    """Show a lab's instructions (its README) and what it grades."""
    from labrun.catalog import find_lab

    found = find_lab(lab, labs_dir)
    readme = found.readme.read_text(encoding="utf-8")
    if as_json:
        m = found.manifest
        print_json(
            {
                "id": m.id, "title": m.title, "summary": m.summary, "readme": readme,
                "tasks": [
                    {"id": t.id, "title": t.title, "points": t.points, "hint": t.hint}
                    for t in m.tasks
                ],
            }
        )  # fmt: skip
        return 0
    render_instructions(readme)
    _tasks_table(found.manifest)
    return 0


def _tasks_table(manifest: Manifest) -> None:
    from rich.table import Table

    table = Table(title=f"What `labrun check` grades ({manifest.total_points} points)",
                  title_justify="left")  # fmt: skip
    for column in ("task", "title", "points"):
        table.add_column(column)
    for task in manifest.tasks:
        table.add_row(plain(task.id), plain(task.title), str(task.points))
    console().print(table)


def render_instructions(markdown: str) -> None:
    from rich.markdown import Markdown

    console().print(Markdown(markdown))
