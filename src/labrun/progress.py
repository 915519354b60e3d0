"""A live progress line while Terraform works (on stderr, so stdout stays clean)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from labrun.output import err_console
from labrun.tfengine import Progress, ProgressCallback


@contextmanager
def terraform_progress(title: str) -> Iterator[ProgressCallback]:
    """Yield a callback that shows "resources done / total" and Terraform's last message."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    console = err_console()
    bar = Bar(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[message]}", style="dim"),
        console=console,
        transient=console.is_terminal,
    )
    task_id = bar.add_task(title, total=None, message="")

    def update(progress: Progress) -> None:
        bar.update(
            task_id,
            completed=progress.done,
            total=progress.total or None,
            message=progress.message[:60],
        )
        if not console.is_terminal and progress.message:
            console.print(f"  {progress.operation}: {progress.message}", highlight=False)

    with bar:
        yield update
