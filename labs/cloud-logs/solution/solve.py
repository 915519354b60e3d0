"""Reference solution of cloud-logs: run in the session's workspace with the session's env.

    eval "$(labrun env)"; python3 solve.py [LOG_GROUP]

LOG_GROUP defaults to the lab's log group of the session in $LABRUN_SESSION.

Finds the run whose last line says status=failed, then that run's ERROR line, and writes
the three answers into failed-run.txt.
"""

import os
import sys
from pathlib import Path

import boto3

logs = boto3.client("logs")
session = os.environ.get("LABRUN_SESSION", "")
group = sys.argv[1] if len(sys.argv) > 1 else f"/mlops/nightly-churn-scoring-{session}"


def events(**kwargs):
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, **kwargs):
        yield from page["events"]


streams = [
    stream["logStreamName"]
    for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group)
    for stream in page["logStreams"]
]
failed = [e["logStreamName"] for e in events(filterPattern='"status=failed"')]
if len(failed) != 1:
    raise SystemExit(f"expected one failed run, found {failed}")
run_id = failed[0]
errors = [
    e["message"]
    for e in events(logStreamNames=[run_id], filterPattern="ERROR")
    if e["message"].startswith("ERROR ")
]
error = errors[-1].removeprefix("ERROR ")

Path("failed-run.txt").write_text(f"runs: {len(streams)}\nrun_id: {run_id}\nerror: {error}\n")
print(Path("failed-run.txt").read_text(), end="")
