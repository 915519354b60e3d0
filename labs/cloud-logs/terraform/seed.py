"""The cloud-logs lab's CloudWatch Logs: a batch job's nightly runs, one of them failed.

Run by main.tf's provisioners with labrun's Python (boto3 reaches the session's cloud through
the AWS_* variables labrun sets, so the same script seeds the local cloud and real AWS):

    seed.py create    make the log group (tagged with the session's tags), one stream per run
    seed.py destroy   delete the log group; already gone is success (labrun may run it twice)

Settings come from the environment main.tf passes: LAB_SESSION, LAB_LOG_GROUP and LAB_TAGS
(the session's tags as JSON).

The runs are drawn from a random generator seeded with the session id: each session gets its
own run ids, failed run and error, and check.py rebuilds the same answer with `runs()`.
"""

from __future__ import annotations

import json
import os
import random
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

JOB = "nightly-churn-scoring"
MODEL = "churn-classifier:v3"
FEATURES = (
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "days_since_login",
    "avg_session_minutes",
)
ROWS_PER_BATCH = 4096


@dataclass
class Run:
    """One run of the batch job: its own log stream, named after its id."""

    id: str
    night: int  # 1 = last night, 2 = the night before, ...
    status: str  # "succeeded" or "failed"
    error: str = ""  # the failed run's error message (what the learner must report)
    facts: tuple[str, ...] = ()  # the error's parts a correct answer must name
    lines: list[tuple[float, str]] = field(default_factory=list)  # (seconds after 02:00, text)


def runs(session: str) -> list[Run]:
    """The session's runs, oldest first: the same list every time for the same session."""
    rng = random.Random(f"cloud-logs/{session}")
    count = rng.randint(7, 9)
    ids: list[str] = []
    while len(ids) < count:
        run_id = f"run-{rng.getrandbits(24):06x}"
        if run_id not in ids:
            ids.append(run_id)
    failed = rng.randint(2, count - 2)  # neither the oldest nor last night's run
    recovered = rng.randint(0, failed - 1)  # an ERROR that was retried: the trap, seen first
    result = []
    for index, run_id in enumerate(ids):
        run = Run(id=run_id, night=count - index, status="succeeded")
        _log_run(run, rng, fail=index == failed, retry=index == recovered)
        result.append(run)
    return result


def failed_run(session: str) -> Run:
    return next(run for run in runs(session) if run.status == "failed")


def _log_run(run: Run, rng: random.Random, fail: bool, retry: bool) -> None:
    rows = rng.randint(38_000, 56_000)
    batches = -(-rows // ROWS_PER_BATCH)
    bad_batch = rng.randint(3, batches - 2)
    t = rng.uniform(0.5, 3.0)

    def log(level: str, text: str, pause: float = 0.3) -> None:
        nonlocal t
        t += pause
        run.lines.append((round(t, 3), f"{level} {text}"))

    log("INFO", f"run started run_id={run.id} job={JOB} model={MODEL}", 0)
    log("INFO", f"loading features from s3://acme-features/churn/date={{date}}/ ({rows} rows)")
    log("INFO", f"model {MODEL} loaded in {rng.uniform(0.8, 2.5):.1f}s", 1.2)
    for batch in range(1, batches + 1):
        size = min(ROWS_PER_BATCH, rows - (batch - 1) * ROWS_PER_BATCH)
        where = f"batch {batch}/{batches}"
        if retry and batch == bad_batch:
            log(
                "ERROR",
                f"{where}: read timeout on s3://acme-features/churn/date={{date}}/"
                f"part-{batch:04d}.parquet (attempt 1 of 3), retrying in 5s",
            )
            log("INFO", f"{where}: attempt 2 of 3 succeeded", 5.2)
        if fail and batch == bad_batch:
            feature = rng.choice(FEATURES)
            missing = rng.randint(120, 2400)
            run.status = "failed"
            run.error = f"ValueError: feature '{feature}' has {missing} missing values in {where}"
            run.facts = ("ValueError", feature, str(missing))
            log("ERROR", run.error)
            scored = (batch - 1) * ROWS_PER_BATCH
            log("INFO", f"run finished status=failed run_id={run.id} rows_scored={scored}")
            return
        if rng.random() < 0.12:
            unknown = rng.randint(3, 40)
            log("WARNING", f"{where}: {unknown} rows with an unknown plan_type, scored as 'other'")
        log("INFO", f"{where} scored {size} rows in {rng.uniform(1.6, 3.4):.1f}s", 2.5)
    log("INFO", "writing predictions to s3://acme-predictions/churn/date={date}/")
    log("INFO", f"run finished status=succeeded run_id={run.id} rows_scored={rows}", 1.5)


# --- create and destroy ----------------------------------------------------------------------


def create(session: str, group: str, tags: dict[str, str]) -> None:
    import boto3

    logs = boto3.client("logs")
    # Tagged as it is created: labrun can prove it is the session's from the first moment.
    with suppress(logs.exceptions.ResourceAlreadyExistsException):  # made by an earlier try
        logs.create_log_group(logGroupName=group, tags=tags)
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for run in runs(session):
        start = midnight - timedelta(days=run.night) + timedelta(hours=2)
        try:
            logs.create_log_stream(logGroupName=group, logStreamName=run.id)
        except logs.exceptions.ResourceAlreadyExistsException:
            continue  # seeded by an earlier attempt
        events = [
            {"timestamp": int((start + timedelta(seconds=s)).timestamp() * 1000), "message": m}
            for s, m in run.lines
        ]
        for event in events:  # the night's date, in the S3 paths the job logs
            event["message"] = event["message"].replace("{date}", start.date().isoformat())
        answer = logs.put_log_events(logGroupName=group, logStreamName=run.id, logEvents=events)
        if answer.get("rejectedLogEventsInfo"):
            raise SystemExit(f"CloudWatch Logs rejected events of {run.id}: {answer}")


def destroy(group: str) -> None:
    import boto3

    logs = boto3.client("logs")
    with suppress(logs.exceptions.ResourceNotFoundException):  # already gone: success
        logs.delete_log_group(logGroupName=group)


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) == 2 else ""
    session, group = os.environ["LAB_SESSION"], os.environ["LAB_LOG_GROUP"]
    if action == "create":
        try:
            create(session, group, json.loads(os.environ["LAB_TAGS"]))
        except BaseException:
            destroy(group)  # leave nothing half-made behind (Terraform will not destroy it)
            raise
    elif action == "destroy":
        destroy(group)
    else:
        print("usage: seed.py create|destroy", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
