"""Checks of the cloud-logs lab: the answers the learner wrote into failed-run.txt.

The lab's Terraform seeded the log group with terraform/seed.py, whose runs are drawn from a
generator seeded with the session id: the checker rebuilds the same runs with the same code,
so it knows the right answers even if the log group was changed or deleted since.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

from labrun.checks import CheckFailed, task

LAB_DIR = Path(__file__).resolve().parent
ANSWER_FILE = "failed-run.txt"
FIELDS = ("runs", "run_id", "error")


def _seed() -> types.ModuleType:
    """terraform/seed.py as a module (executed from its source: no __pycache__ in the lab)."""
    name = "cloud_logs_seed"
    if name not in sys.modules:
        path = LAB_DIR / "terraform" / "seed.py"
        module = types.ModuleType(name)
        module.__file__ = str(path)
        sys.modules[name] = module  # before exec: dataclasses look their module up
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return sys.modules[name]


def answers(ctx) -> dict[str, str]:
    """The `name: value` lines of the answer file (names as in FIELDS; empty values left out)."""
    path = Path(ctx.workspace) / ANSWER_FILE
    if not path.is_file():
        raise CheckFailed(
            f"there is no {ANSWER_FILE} in your workspace",
            hint=f"It was there when the lab started: write your answers into {ANSWER_FILE} "
            f"in your workspace ({ctx.workspace}), one `name: value` line each.",
        )
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"([A-Za-z][A-Za-z _-]*?)\s*[:=]\s*(.*)$", line)
        if match:
            key = re.sub(r"[ -]+", "_", match[1].strip().lower())
            value = match[2].strip().strip("`'\"").strip()
            if key in FIELDS and value:
                found[key] = value
    return found


def answer(ctx, field: str, what: str, example: str) -> str:
    value = answers(ctx).get(field)
    if value is None:
        raise CheckFailed(
            f"{ANSWER_FILE} has no {field} yet",
            hint=f"Write {what} after `{field}:` on its line, e.g. `{field}: {example}`.",
        )
    return value


@task("runs")
def count_runs(ctx):
    runs = _seed().runs(ctx.session)
    value = answer(ctx, "runs", "the number of runs (log streams)", "12")
    try:
        written = int(value)
    except ValueError:
        raise CheckFailed(
            f"runs: {value!r} is not a number",
            hint="Write just the number of runs, e.g. `runs: 12`.",
        ) from None
    if written != len(runs):
        raise CheckFailed(
            f"runs: {written} is not the number of runs in the log group",
            hint="Each run writes to its own log stream: count the streams of "
            f"{ctx.outputs['log_group']} (aws logs describe-log-streams --log-group-name "
            f"{ctx.outputs['log_group']} --query 'length(logStreams)').",
        )


@task("run-id")
def run_id(ctx):
    runs = _seed().runs(ctx.session)
    failed = next(run for run in runs if run.status == "failed")
    value = answer(ctx, "run_id", "the id of the failed run", "run-0a1b2c")
    written = value.split("/")[-1].strip()  # "group/stream" pasted whole: take the stream
    if written == failed.id:
        return
    group = ctx.outputs["log_group"]
    by_id = {run.id: run for run in runs}
    if written not in by_id:
        raise CheckFailed(
            f"run_id: no run of the job has the id {written!r}",
            hint="A run's id is the name of its log stream, e.g. run-0a1b2c: "
            f"aws logs describe-log-streams --log-group-name {group}",
        )
    if any(line.startswith("ERROR") for _, line in by_id[written].lines):
        raise CheckFailed(
            f"run {written} logged an ERROR, but it did not fail: it retried and finished "
            "with status=succeeded",
            hint="An ERROR line alone does not make a failed run. Look for the run whose last "
            "line says `run finished status=failed`: aws logs filter-log-events "
            f"--log-group-name {group} --filter-pattern '\"status=failed\"'",
        )
    raise CheckFailed(
        f"run {written} did not fail: its last line says status=succeeded",
        hint="Every run ends with `run finished status=succeeded` or `status=failed`. Search "
        f"the whole log group for the failed one: aws logs filter-log-events --log-group-name "
        f"{group} --filter-pattern '\"status=failed\"'",
    )


@task("error")
def error(ctx):
    runs = _seed().runs(ctx.session)
    failed = next(run for run in runs if run.status == "failed")
    value = answer(ctx, "error", "the failed run's error message", "ValueError: ...")
    normal = " ".join(value.replace('"', "'").split()).lower()
    if " ".join(failed.error.lower().split()) in normal:
        return
    named = [fact for fact in failed.facts if fact.lower() in normal]
    group = ctx.outputs["log_group"]
    read_it = (
        f"Read the failed run's stream and copy its ERROR line's message: aws logs "
        f"get-log-events --log-group-name {group} --log-stream-name RUN_ID"
    )
    if len(named) == len(failed.facts):
        return  # worded differently, but every part of the error is there
    if "read timeout" in normal or "retrying" in normal:
        raise CheckFailed(
            "error: that is the error of another run, which retried and succeeded",
            hint="Report the error of the run that failed (task run-id). " + read_it,
        )
    if "status=failed" in normal or normal.startswith("run finished"):
        raise CheckFailed(
            "error: that line says that the run failed, not why",
            hint="The reason is the ERROR line just before it. " + read_it,
        )
    if named:
        raise CheckFailed(
            f"error: part of the message is there, but not all of it ({len(named)} of "
            f"{len(failed.facts)}: the exception, the feature, the number of missing values)",
            hint="Copy the whole message of the ERROR line, from the exception's name to the "
            "end. " + read_it,
            score=round(len(named) / len(failed.facts), 2),
        )
    raise CheckFailed("error: that is not the error of the failed run", hint=read_it)
