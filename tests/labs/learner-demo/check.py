"""Checks of learner-demo: messages that look like rich markup must print as they are."""

from pathlib import Path

from labrun.checks import CheckFailed, task


@task("greeting")
def greeting(ctx):
    text = Path("hello.txt").read_text() if Path("hello.txt").is_file() else ""
    if "hello" not in text:
        raise CheckFailed(f"hello.txt says {text.strip()!r}, expected [bold]hello[/bold] [/]")


@task("marker")
def marker(ctx):
    if not Path(ctx.outputs["markerFile"]).is_file():
        raise CheckFailed(f"{ctx.outputs['markerFile']} is missing")
