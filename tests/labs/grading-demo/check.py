"""Checks of grading-demo: one of each kind of result, on files of the workspace."""

import json
from pathlib import Path

from labrun.checks import CheckFailed, task

CONFIG_KEYS = ("name", "port", "replicas", "image")


@task("greeting")
def greeting(ctx):
    path = Path("hello.txt")
    if not path.is_file() or "hello" not in path.read_text().lower():
        raise CheckFailed("hello.txt does not say hello")


@task("config")
def config(ctx):
    try:
        data = json.loads(Path("config.json").read_text())
    except (OSError, ValueError):
        raise CheckFailed("config.json is missing or is not JSON") from None
    found = [k for k in CONFIG_KEYS if k in data]
    if len(found) < len(CONFIG_KEYS):
        missing = ", ".join(k for k in CONFIG_KEYS if k not in found)
        raise CheckFailed(
            f"{len(found)} of {len(CONFIG_KEYS)} keys present",
            score=len(found) / len(CONFIG_KEYS),
            hint=f"Add {missing}." if found else None,  # None: lab.toml's hint
        )


@task("deploy", needs=["config"], timeout=20)
def deploy(ctx):
    if not Path(ctx.outputs["deploy_marker"]).is_file():
        raise CheckFailed(f"{ctx.outputs['deploy_marker']} is missing")


@task("report")
def report(ctx):
    path = Path("report.json")
    if not path.is_file():
        raise CheckFailed("report.json is missing")
    # Deliberately careless: a report.json without "accuracy" crashes this check (KeyError),
    # which the runner reports as an "error", not a "fail".
    accuracy = json.loads(path.read_text())["accuracy"]
    if accuracy < 0.8:
        raise CheckFailed(f"accuracy {accuracy} is below 0.8")
