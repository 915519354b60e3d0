"""Progress while Terraform works, on stderr so that stdout stays clean for pipes and --json.

On a terminal: a live bar with "resources done / total" and Terraform's last message.
Elsewhere (CI logs, pipes): one plain line per step.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from labrun.output import err_console
from labrun.tfengine import Progress, ProgressCallback


@contextmanager
def terraform_progress(title: str) -> Iterator[ProgressCallback]:
    """Yield a callback that shows how far Terraform has got."""
    if not sys.stderr.isatty():  # plain lines, and no need to load rich at all

        def line(progress: Progress) -> None:
            counter = f"[{progress.done}/{progress.total}]" if progress.total else ""
            sys.stderr.write(f"{title} {counter} {progress.message}".rstrip() + "\n")
            sys.stderr.flush()

        yield line
        return
    console = err_console()

    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[message]}", style="dim", markup=False),
        console=console,
        transient=True,
    )
    task_id = bar.add_task(title, total=None, message="")

    def update(progress: Progress) -> None:
        total = progress.total or None
        message = progress.message[:60]
        bar.update(task_id, completed=progress.done, total=total, message=message)

    with bar:
        yield update
