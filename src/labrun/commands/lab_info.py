"""`labrun list` and `labrun show LAB`: the catalogue and a lab's instructions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from labrun.commands import json_option, labs_dir_option
from labrun.durations import format_duration
from labrun.manifest import Manifest
from labrun.output import console, err_console, print_json
from labrun.render import plain

if TYPE_CHECKING:
    from labrun.mirror import Need


@click.command("list")
@labs_dir_option
@json_option
def list_labs(labs_dir: Path | None, as_json: bool) -> int:
    """List the labs you can start.

    Labs come from --labs-dir, then every folder of LABRUN_LABS_PATH, then the labs
    bundled with labrun; the first lab of each id wins.
    """
    from rich.table import Table

    from labrun.catalog import all_labs, shadowed_bundled
    from labrun.mirror import provider_needs

    labs, broken = all_labs(labs_dir)
    needs = {lab.id: provider_needs(lab) for lab in labs}
    hidden = shadowed_bundled(labs)
    lab_by_id = {lab.id: lab for lab in labs}
    if as_json:
        print_json(
            {
                "labs": [
                    {
                        "id": lab.id, "title": lab.manifest.title, "summary": lab.manifest.summary,
                        "difficulty": lab.manifest.difficulty, "duration": lab.manifest.duration,
                        "ttl": format_duration(lab.manifest.ttl), "targets": lab.manifest.targets,
                        "requires": lab.manifest.requires, "points": lab.manifest.total_points,
                        "path": str(lab.path), **_providers_json(needs[lab.id]),
                        "shadows": str(hidden[lab.id]) if lab.id in hidden else None,
                    }
                    for lab in labs
                ],
                "broken": [str(exc) for exc in broken],
            }
        )  # fmt: skip
        return 0
    table = Table(title="Labs", title_justify="left")
    for column in ("id", "title", "level", "time", "needs", "offline"):
        table.add_column(column)
    for lab in labs:
        m = lab.manifest
        missing = [n.provider for n in needs[lab.id] if not n.offline]
        offline = "no: " + ", ".join(dict.fromkeys(missing)) if missing else "yes"
        requires = ", ".join(m.requires) or "-"
        cells = (m.id, m.title, m.difficulty, m.duration, requires, offline)
        table.add_row(*(plain(c) for c in cells))
    console().print(table)
    if any(not n.offline for lab_needs in needs.values() for n in lab_needs):
        console().print(OFFLINE_NOTE, highlight=False)
    for lab_id, original in hidden.items():
        err_console().print(
            f"[yellow]note:[/] {lab_id} comes from {lab_by_id[lab_id].path}, not the bundled "
            f"one ({original}): its check.py and Terraform run with your credentials",
            highlight=False,
        )
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
    from labrun.mirror import provider_needs

    found = find_lab(lab, labs_dir)
    readme = found.readme.read_text(encoding="utf-8")
    if as_json:
        m = found.manifest
        print_json(
            {
                "id": m.id, "title": m.title, "summary": m.summary, "readme": readme,
                **_providers_json(provider_needs(found)),
                "tasks": [
                    {"id": t.id, "title": t.title, "points": t.points, "hint": t.hint}
                    for t in m.tasks
                ],
            }
        )  # fmt: skip
        return 0
    render_instructions(readme)
    _tasks_table(found.manifest)
    for line in _provider_lines(provider_needs(found)):
        console().print(line, highlight=False)
    return 0


OFFLINE_FIX = (
    "Without the registry: `labrun providers mirror DIR` on a machine with internet access, "
    "then LABRUN_PROVIDER_MIRROR=DIR here."
)
OFFLINE_NOTE = (
    "offline no: a Terraform provider the lab needs is in no provider mirror "
    f"(LABRUN_PROVIDER_MIRROR), so it must come from the provider registry. {OFFLINE_FIX}"
)
PARTS = {"terraform": "the lab's Terraform", "files": "your own Terraform (labrun terraform)"}


def _providers_json(needs: list[Need]) -> dict[str, Any]:
    """`providers` (each with `part` and `offline`) and `offline`: every one in the mirror."""
    return {"providers": [n.to_json() for n in needs], "offline": all(n.offline for n in needs)}


def _provider_lines(needs: list[Need]) -> list[str]:
    """What `show` says about the lab's registry providers."""
    if not needs:
        return ["Terraform providers: Terraform's builtin one only (works offline)."]
    lines = []
    for need in needs:
        where = "in the provider mirror" if need.offline else "from the registry (not offline)"
        lines.append(f"Terraform provider {need.provider}, for {PARTS[need.part]}: {where}")
    if not all(n.offline for n in needs):
        lines.append(OFFLINE_FIX)
    return lines


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
