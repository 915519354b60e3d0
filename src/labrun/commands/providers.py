"""`labrun providers`: Terraform providers for classrooms with a poor network."""

from __future__ import annotations

from pathlib import Path

import click

from labrun.commands import json_option, labs_dir_option
from labrun.output import console, print_json

STATUS_MARK = {
    "mirrored": "[green]mirrored[/]",
    "builtin": "[dim]nothing[/]",
    "failed": "[red bold]FAILED[/]",
}


@click.group(short_help="Terraform providers for offline classrooms: `providers mirror`.")
def providers() -> None:
    """Terraform providers for classrooms with a poor network.

    \b
    On a machine with internet access:
      labrun providers mirror ./mirror
    Copy ./mirror to the classroom machines, then on each:
      export LABRUN_PROVIDER_MIRROR=/abs/path/to/mirror
      labrun start docker-basics      # terraform init installs from the mirror only
    """


@providers.command("mirror")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--lab",
    "lab_ids",
    multiple=True,
    metavar="LAB",
    help="Mirror only this lab's providers (repeat for several). Default: every lab.",
)
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="OS_ARCH",
    help="Mirror for this platform, e.g. linux_amd64 or darwin_arm64 (repeatable). Default: "
    "this machine's only; with --platform, list this machine's too if it uses the mirror.",
)
@labs_dir_option
@json_option
def mirror(
    directory: Path,
    lab_ids: tuple[str, ...],
    platforms: tuple[str, ...],
    labs_dir: Path | None,
    as_json: bool,
) -> int:
    """Download the Terraform providers of the labs into DIRECTORY, a provider mirror.

    Runs `terraform providers mirror` on each lab's Terraform module, and on the
    learner's starter Terraform of labs that have one, and reports each lab in one line:
    mirrored (the providers and versions), nothing (the lab uses only Terraform's builtin
    provider) or FAILED (why). Running it again adds to the same folder.

    With LABRUN_PROVIDER_MIRROR=DIRECTORY (an absolute path), every later `terraform init`
    of labrun installs providers from DIRECTORY only, with no network; learners pass
    `-plugin-dir "$LABRUN_PROVIDER_MIRROR"` to their own `terraform init`. Mirror with the
    same Terraform the classroom runs (the embedded one, or LABRUN_TERRAFORM): OpenTofu
    names providers under another registry.

    Exits 0 when every lab is mirrored or needs nothing, 1 when one failed (the others
    are still mirrored). Terraform's whole output is in LABRUN_HOME/logs/mirror.log.

    \b
    Examples:
      labrun providers mirror ./mirror
      labrun providers mirror ./mirror --platform linux_amd64 --platform darwin_arm64
    """
    from labrun.catalog import all_labs, find_lab
    from labrun.errors import ManifestError
    from labrun.home import logs_dir
    from labrun.mirror import LabMirror, mirror_labs

    if lab_ids:
        labs, broken = [find_lab(lab_id, labs_dir) for lab_id in lab_ids], list[ManifestError]()
    else:
        labs, broken = all_labs(labs_dir)
    log_path = logs_dir() / "mirror.log"

    def show(item: LabMirror) -> None:
        if not as_json:
            line = f"  {item.lab:<22} {STATUS_MARK[item.status]}  {item.message}"
            console().print(line, soft_wrap=True, highlight=False, markup=False)

    if not as_json:
        where = directory.expanduser().resolve()
        console().print(f"Mirroring the providers of {len(labs)} lab(s) into {where}", markup=False)
    report = mirror_labs(labs, directory, platforms=platforms, log_path=log_path, on_lab=show)
    for problem in broken:  # labs whose lab.toml is invalid: their Terraform is not read
        name = Path(problem.path).parent.name  # the lab folder of its lab.toml or missing part
        report.labs.append(LabMirror(name, "failed", f"not a valid lab: {problem}"))
        show(report.labs[-1])
    if as_json:
        print_json({**report.to_json(), "log": str(log_path)})
    elif report.ok:
        console().print(
            f"Done. Use it with: export LABRUN_PROVIDER_MIRROR={report.directory}",
            markup=False,
            soft_wrap=True,
        )
    else:
        failed = [item.lab for item in report.labs if item.status == "failed"]
        console().print(
            f"{len(failed)} lab(s) failed: {', '.join(failed)} (Terraform's output: {log_path})",
            style="red bold",
            soft_wrap=True,
            markup=False,
        )
    return 0 if report.ok else 1
